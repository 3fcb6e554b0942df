"""Latency of the skill library at scale, on SQLite and on PostgreSQL.

Fills a fresh database with ``--skills`` distinct valid skills (random staged specs over six
blocks) and ``--evaluations`` evaluation rows, then times ``--queries`` calls of each query a
person or the planner makes, each in its own read transaction as a dashboard request would:

| query | call | goal (p95) |
| --- | --- | --- |
| list by status | ``list_skills(status=..., limit=50, after_id=random)`` | 10 ms |
| full-text search | ``search_skills(query="<two words>", limit=20)`` | 20 ms |
| nearest skills | ``nearest_skills(spec=<random subtask>, k=5)`` | 50 ms |
| skill detail | ``skill_detail(skill_id=random, evaluations=100)`` | 20 ms |

Bulk insert rates are for ``add_skills`` (validation included) and ``record_evaluations``.
PostgreSQL runs on a throw-away server started from the machine's binaries (as the tests do),
with its default durability settings.

Usage: ``python benchmarks/library.py [--skills 100000] [--evaluations 1000000]
[--queries 300] [--backends sqlite,postgresql] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

import skills as lib
from controllers.layout import SceneConfig
from storage import Database
from storage.pgserver import TemporaryPostgres
from tasks import TaskSpecError, validate

SCENE = SceneConfig.blocks(6).object_names
UNARY = ["reach", "grasped", "released", "lifted", "on_table", "in_region"]
BINARY = ["above", "on", "near", "left_of", "right_of", "in_front_of", "behind"]
PARAMS = {
    "lifted": ("height", 0.02, 0.3),
    "above": ("margin", 0.005, 0.1),
    "near": ("distance", 0.02, 0.5),
    **{p: ("margin", 0.005, 0.3) for p in ("left_of", "right_of", "in_front_of", "behind")},
}
REGIONS = ["left", "right", "front", "back", "center"]
SEARCH_WORDS = ["stack", "lift", "grasp", "reach", "near", "left", "behind", "table", "release"]
GOALS_MS = {"list": 10, "search": 20, "nearest": 50, "detail": 20}
BATCH = 5_000


def random_atom(rng: random.Random) -> dict[str, Any]:
    pred = rng.choice(UNARY + BINARY)
    args = rng.sample(SCENE, 2 if pred in BINARY else 1)
    atom: dict[str, Any] = {"pred": pred, "args": args}
    if pred in PARAMS and rng.random() < 0.5:
        name, low, high = PARAMS[pred]
        atom[name] = round(rng.uniform(low, high), 3)
    if pred == "in_region":
        atom["region"] = rng.choice(REGIONS)
    return atom


def random_spec(rng: random.Random) -> dict[str, Any]:
    stages = [
        {"all": [random_atom(rng) for _ in range(rng.choice([1, 1, 2]))]}
        for _ in range(rng.choice([1, 1, 2, 3]))
    ]
    constraints = [random_atom(rng)] if rng.random() < 0.2 else []
    return {"stages": stages, "constraints": constraints}


def valid_specs(n: int, rng: random.Random) -> Iterator[dict[str, Any]]:
    """``n`` distinct valid specs (invalid and repeated draws are skipped)."""
    seen: set[str] = set()
    while len(seen) < n:
        raw = random_spec(rng)
        try:
            h = validate(raw, SCENE).spec_hash()
        except TaskSpecError:
            continue
        if h not in seen:
            seen.add(h)
            yield raw


def timed(fn: Callable[[], object], n: int) -> np.ndarray:
    out = np.empty(n)
    for i in range(n):
        t = time.perf_counter()
        fn()
        out[i] = (time.perf_counter() - t) * 1000
    return out


def fill(db: Database, args: argparse.Namespace, rng: random.Random) -> dict[str, float]:
    specs = list(valid_specs(args.skills, rng))
    t = time.perf_counter()
    ids: list[int] = []
    for start in range(0, len(specs), BATCH):
        with db.session() as s:
            status = rng.choice(["proposed", "training", "learned", "failed", "retired"])
            ids += lib.add_skills(s, specs=specs[start : start + BATCH], scene=SCENE, status=status)
    skills_s = time.perf_counter() - t
    per_skill = max(1, args.evaluations // len(ids))
    t = time.perf_counter()
    done = 0
    chunk = max(1, 20_000 // per_skill)
    for start in range(0, len(ids), chunk):
        rows = []
        for sid in ids[start : start + chunk]:
            for k in range(per_skill):
                if done + len(rows) >= args.evaluations:
                    break
                successes = rng.randint(0, 20)
                rows.append(
                    lib.EvaluationCreate(
                        skill_id=sid, episodes=20, successes=successes,
                        mean_return=successes / 20, env_steps=(k + 1) * 10_000,
                    )
                )  # fmt: skip
        with db.session() as s:
            done += lib.record_evaluations(s, evaluations=rows)
    evals_s = time.perf_counter() - t
    return {
        "skills": len(ids),
        "evaluations": done,
        "insert_skills_per_s": len(ids) / skills_s,
        "insert_evaluations_per_s": done / evals_s,
    }


def measure(db: Database, args: argparse.Namespace, rng: random.Random) -> dict[str, Any]:
    fig = fill(db, args, rng)
    if db.dialect == "postgresql":
        with db.engine.connect() as conn:  # fresh statistics, as autovacuum would gather
            conn.exec_driver_sql("COMMIT")
            conn.exec_driver_sql("ANALYZE")
    else:
        with db.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
    n_skills = int(fig["skills"])
    subtasks = list(valid_specs(args.queries, random.Random(rng.random())))

    def reader(fn: Callable[[Any], object]) -> Callable[[], object]:
        def call() -> object:
            with db.reader() as s:
                return fn(s)

        return call

    queries = {
        "list": lambda s: lib.list_skills(
            s,
            status=rng.choice(["training", "learned"]),
            limit=50,
            after_id=rng.randint(0, n_skills),
        ),
        "search": lambda s: lib.search_skills(
            s, query=f"{rng.choice(SEARCH_WORDS)} {rng.choice(SCENE)}", limit=20
        ),
        "nearest": lambda s: lib.nearest_skills(s, spec=subtasks.pop(), k=5, scene=SCENE),
        "detail": lambda s: lib.skill_detail(s, skill_id=rng.randint(1, n_skills), evaluations=100),
    }
    for name, q in queries.items():
        if name != "nearest":
            timed(reader(q), 10)  # warm caches
        ms = timed(reader(q), args.queries if name != "nearest" else len(subtasks))
        fig[f"{name}_p50_ms"] = float(np.percentile(ms, 50))
        fig[f"{name}_p95_ms"] = float(np.percentile(ms, 95))
    return fig


@contextmanager
def database(backend: str, folder: Path) -> Iterator[Database]:
    if backend == "sqlite":
        db = Database(f"sqlite:///{folder / 'bench.db'}")
        db.upgrade()
        try:
            yield db
        finally:
            db.dispose()
        return
    with TemporaryPostgres(durable=True) as pg:
        db = Database(pg.create_database("bench"))
        db.upgrade()
        try:
            yield db
        finally:
            db.dispose()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--skills", type=int, default=100_000)
    p.add_argument("--evaluations", type=int, default=1_000_000)
    p.add_argument("--queries", type=int, default=300, help="timed calls per query")
    p.add_argument("--backends", default="sqlite,postgresql")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print a final JSON line of the figures")
    args = p.parse_args()
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="library-bench-") as tmp:
        for backend in args.backends.split(","):
            with database(backend, Path(tmp)) as db:
                results[backend] = measure(db, args, random.Random(args.seed))

    names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
    first = next(iter(results.values()))
    print(f"{int(first['skills']):,} skills, {int(first['evaluations']):,} evaluations, "
          f"{args.queries} timed calls per query")  # fmt: skip
    header = "| query | goal p95 | " + " | ".join(
        f"{names.get(b, b)} p50 | {names.get(b, b)} p95" for b in results
    )
    print(header + " |")
    print("| --- | ---: |" + " ---: | ---: |" * len(results))
    labels = {
        "list": "list by status",
        "search": "full-text search",
        "nearest": "nearest skills (k=5)",
        "detail": "skill detail + evaluations",
    }
    for key, label in labels.items():
        cells = " | ".join(
            f"{r[f'{key}_p50_ms']:.1f} ms | {r[f'{key}_p95_ms']:.1f} ms" for r in results.values()
        )
        print(f"| {label} | ≤ {GOALS_MS[key]} ms | {cells} |")
    for key, label in (("insert_skills_per_s", "bulk insert, skills/s"),
                       ("insert_evaluations_per_s", "bulk insert, evaluations/s")):  # fmt: skip
        cells = " | ".join(f"{r[key]:,.0f} | " for r in results.values())
        print(f"| {label} | | {cells.rstrip()} |".replace("|  |", "| |"))
    if args.json:
        keys = [f"{k}_p95_ms" for k in labels] + ["insert_skills_per_s", "insert_evaluations_per_s"]
        print(json.dumps({b: {k: round(r[k], 3) for k in keys} for b, r in results.items()}))


if __name__ == "__main__":
    main()
