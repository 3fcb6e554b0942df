"""Latency of the dashboard under load, and how fast it starts.

Fills a fresh SQLite data directory with ``--skills`` skills (in every status, ten
evaluations each), ``--metrics`` metric rows (ten series of the first experiment hold half of
them), ``--decisions`` planner decisions (with images), proposals with decompositions,
iterations and commands; starts the real ``experimenter serve`` on a loopback port (the time
until its first answer is the start-up time), then has ``--clients`` concurrent clients
(threads with keep-alive connections) request each main page and API list ``--requests``
times in all and reports the latency percentiles (goal: p95 <= 100 ms).

The dashboard keeps anonymous GET answers for ``EXPERIMENTER_CACHE_SECONDS`` (the
micro-cache, 1 s by default), which this load mostly hits; so the server is started once per
``--cache-seconds`` value (by default 0, the cache off, and 1) and both sets of figures are
reported side by side. The rows served from the micro-cache (next to no server work) show
what the clients and the HTTP server themselves cost; the first row is a small static file.

Usage: ``python benchmarks/dashboard.py [--skills 10000] [--metrics 1000000]
[--decisions 10000] [--clients 20] [--requests 400] [--workers 1] [--cache-seconds 0 1]
[--json]``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from library import SCENE, valid_specs  # the library benchmark's random valid specs
from sqlalchemy import insert

import skills
from settings import LoopSettings
from skills.plots import Curve, learning_curves_png
from storage import artifacts, decisions, open_database, proposals, runs
from storage.commands import enqueue_command
from storage.models import Metric

GOAL_MS = 100
SERIES = [
    "critic_loss", "actor_loss", "alpha", "entropy", "q_mean",
    "return", "success", "grad_norm", "lr", "episode_length",
]  # fmt: skip
STATUSES = [
    ("learned", 0.4),
    ("training", 0.2),
    ("proposed", 0.2),
    ("failed", 0.1),
    ("retired", 0.1),
]


def fill(home: Path, args: argparse.Namespace, rng: random.Random) -> dict[str, Any]:
    """Build the database through the storage and skills functions (metrics in bulk)."""
    db = open_database(home=home)
    assert db.artifacts is not None
    t0 = time.perf_counter()
    # Stored as the daemon stores an experiment's settings (the dashboard reads its budgets).
    settings = LoopSettings(
        goal="stack the red block on the blue block", max_env_steps=5_000_000, max_hours=48,
        max_usd=10.0,
    )  # fmt: skip
    with db.session() as s:
        exps = [
            runs.create_experiment(
                s, name=f"experiment-{i}", planner_backend="gemini" if i % 2 else "offline",
                goal="stack the red block on the blue block", budgets=settings.budgets(),
                config=settings.model_dump(mode="json"),
            ).id
            for i in range(args.experiments)
        ]  # fmt: skip
        for e in exps:
            runs.set_experiment_status(s, experiment_id=e, status="running")
            runs.heartbeat(s, experiment_id=e, env_steps=1_200_000, dollars=1.5)
        for n in range(500):
            it = runs.start_iteration(s, experiment_id=exps[0])
            runs.finish_iteration(
                s, iteration_id=it.id, env_steps=n * 2_000,
                summary={"node": "evaluate", "line": f"iteration {n + 1}"},
            )  # fmt: skip
    specs = list(valid_specs(args.skills, rng))
    ids: list[int] = []
    start = 0
    with db.session() as s:
        for k, (status, share) in enumerate(STATUSES):
            n = len(specs) - start if k == len(STATUSES) - 1 else int(share * len(specs))
            ids += skills.add_skills(
                s, specs=specs[start : start + n], scene=SCENE, status=status,
                experiment_id=exps[k % len(exps)],
            )  # fmt: skip
            start += n
    with db.session() as s:
        evaluations = [
            skills.EvaluationCreate(
                skill_id=sid,
                episodes=20,
                successes=min(20, rng.randint(0, 4) + 2 * j),
                env_steps=(j + 1) * 20_000,
                experiment_id=exps[0],
            )
            for j in range(args.evaluations_per_skill)
            for sid in ids
        ]
        skills.record_evaluations(s, evaluations=evaluations)
    t_skills = time.perf_counter() - t0

    t0 = time.perf_counter()
    half = args.metrics // 2
    per_series = half // len(SERIES)
    rows_left = args.metrics
    with db.session() as s:
        batch: list[dict[str, Any]] = []

        def flush() -> None:
            s.execute(insert(Metric), batch)
            batch.clear()

        for name in SERIES:  # the first experiment: long series
            for step in range(per_series):
                batch.append(
                    {"experiment_id": exps[0], "name": name, "step": step * 100,
                     "value": 1.0 / (1 + step / 500) + rng.random() * 0.05}
                )  # fmt: skip
                rows_left -= 1
                if len(batch) == 20_000:
                    flush()
        step = 0
        while rows_left > 0:  # the others share the rest
            for e in exps[1:]:
                for name in SERIES:
                    batch.append({"experiment_id": e, "name": name, "step": step, "value": 0.5})
                    rows_left -= 1
            step += 100
            if len(batch) >= 20_000:
                flush()
        if batch:
            flush()
    t_metrics = time.perf_counter() - t0

    t0 = time.perf_counter()
    with db.session() as s:
        curves = [Curve("1: lift the red block", [1, 2, 3], [0.1, 0.4, 0.7])]
        images = [
            artifacts.save_artifact(
                s, store=db.artifacts, data=learning_curves_png(curves), media_type="image/png",
                name="learning_curves.png",
            ).sha256
        ]  # fmt: skip
        kinds = ["analyze", "propose", "decompose"]
        decision_ids = []
        for i in range(args.decisions):
            error = "429 RESOURCE_EXHAUSTED" if i % 50 == 0 else None
            d = decisions.record_decision(
                s, kind=kinds[i % 3], backend="gemini", model="gemini-2.5-flash",
                prompt=f"Decision {i}: judge each skill in training ... " + "context " * 200,
                response='{"answer": "..."}', parsed={"answer": i}, valid=error is None,
                error=error, tokens_in=1500, tokens_out=200, dollars=0.001, latency_s=2.5,
                images=images if i % 3 == 0 else [], experiment_id=exps[i % len(exps)],
            )  # fmt: skip
            decision_ids.append(d.id)
        for i in range(args.tasks):
            status = "proposed" if i >= args.tasks - 20 else rng.choice(["accepted", "rejected"])
            task = proposals.record_task(
                s, spec=specs[i], spec_hash=None, instruction=f"task {i}", wording=f"task {i}",
                reason="next rung", status=status, decision_id=decision_ids[i],
                experiment_id=exps[0],
            )  # fmt: skip
            proposals.record_decomposition(
                s, task_id=task.id,
                steps=[{"spec": specs[i], "instruction": f"step {j}", "skill_id": ids[i + j],
                        "matched_existing": j > 0} for j in range(3)],
            )  # fmt: skip
        for i in range(args.commands):
            enqueue_command(s, kind="pause", experiment_id=exps[i % len(exps)], created_by="cli")
    t_records = time.perf_counter() - t0
    db.dispose()
    return {
        "skill_ids": ids,
        "decision_ids": decision_ids,
        "experiment": exps[0],
        "fill_seconds": {
            "skills": round(t_skills, 1),
            "metrics": round(t_metrics, 1),
            "records": round(t_records, 1),
        },
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(
    home: Path, port: int, workers: int, cache_seconds: float
) -> tuple[subprocess.Popen[bytes], float]:
    """Start ``experimenter serve``; the seconds until it answered its first page."""
    env = {
        **os.environ,
        "EXPERIMENTER_TOKEN": "benchmark-token",
        "EXPERIMENTER_LOG_LEVEL": "WARNING",
        "EXPERIMENTER_CACHE_SECONDS": str(cache_seconds),
    }
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "experimenter", "serve", "--data-dir", str(home),
         "--port", str(port), "--workers", str(workers)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/experiments")
            if conn.getresponse().status == 200:
                return proc, time.perf_counter() - t0
        except OSError:
            if proc.poll() is not None or time.perf_counter() - t0 > 60:
                raise RuntimeError("the dashboard did not start") from None
            time.sleep(0.02)


def load(port: int, urls: list[str], clients: int, requests: int) -> np.ndarray:
    """Latencies (ms) of ``requests`` GETs spread over ``clients`` concurrent connections."""
    per_client = max(1, requests // clients)
    latencies: list[float] = []
    lock = threading.Lock()
    failures: list[str] = []
    barrier = threading.Barrier(clients)

    def client(k: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        barrier.wait()
        for i in range(per_client):
            url = urls[(k * per_client + i) % len(urls)]
            t0 = time.perf_counter()
            conn.request("GET", url)
            r = conn.getresponse()
            r.read()
            mine.append((time.perf_counter() - t0) * 1000)
            if r.status != 200:
                failures.append(f"{url}: {r.status}")
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise RuntimeError(f"{len(failures)} failed requests, e.g. {failures[0]}")
    return np.array(latencies)


def endpoints(ids: dict[str, Any], rng: random.Random) -> dict[str, list[str]]:
    """Each measured page or list -> the URLs its clients request (random ids where any)."""
    e = ids["experiment"]
    sk = [f"/skills/{rng.choice(ids['skill_ids'])}" for _ in range(50)]
    dec = [f"/decisions/{rng.choice(ids['decision_ids'])}" for _ in range(50)]
    words = ["stack red", "lift blue", "grasp green", "near", "left red", "behind"]
    return {
        "static file (FileResponse, never cached)": ["/static/style.css"],
        "page /experiments": ["/experiments"],
        "page /experiments/{id}": [f"/experiments/{e}"],
        "page /skills": ["/skills"],
        "page /skills?q=": [f"/skills?q={w.replace(' ', '+')}" for w in words],
        "page /skills sorted by success": ["/skills?sort=success&desc=1"],
        "page /skills/{id}": sk,
        "page /curriculum": ["/curriculum"],
        "page /decisions": ["/decisions"],
        "page /decisions filtered": ["/decisions?kind=analyze&outcome=error"],
        "page /decisions/{id}": dec,
        "page /review": ["/review"],
        "api /api/experiments": ["/api/experiments"],
        "api /api/skills": ["/api/skills?limit=50"],
        "api /api/skills?q=": [f"/api/skills?q={w.replace(' ', '+')}" for w in words],
        "api /api/tasks": ["/api/tasks"],
        "api /api/decisions": ["/api/decisions"],
        "api /api/commands": ["/api/commands"],
        "api /api/experiments/{id}/iterations": [f"/api/experiments/{e}/iterations"],
        "api metric points (1000)": [f"/api/experiments/{e}/metrics/alpha?limit=1000"],
        "chart metric SVG (50k points)": [f"/experiments/{e}/metrics/alpha.svg"],
        "chart learning curves PNG": [f"/experiments/{e}/curves.png"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skills", type=int, default=10_000)
    parser.add_argument("--evaluations-per-skill", type=int, default=10)
    parser.add_argument("--metrics", type=int, default=1_000_000)
    parser.add_argument("--decisions", type=int, default=10_000)
    parser.add_argument("--tasks", type=int, default=2_000)
    parser.add_argument("--commands", type=int, default=200)
    parser.add_argument("--experiments", type=int, default=20)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=400, help="Requests per endpoint.")
    parser.add_argument("--workers", type=int, default=1, help="Server processes.")
    parser.add_argument(
        "--cache-seconds", type=float, nargs="+", default=[0.0, 1.0],
        help="Micro-cache settings to measure (EXPERIMENTER_CACHE_SECONDS; 0: off).",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="Print a JSON line at the end.")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="dashboard-bench-") as tmp:
        home = Path(tmp)
        print(
            f"filling: {args.skills:,} skills, {args.metrics:,} metric rows, "
            f"{args.decisions:,} decisions ...",
            flush=True,
        )
        ids = fill(home, args, rng)
        print(f"filled in {ids['fill_seconds']} s", flush=True)
        runs_by_ttl: dict[float, list[dict[str, Any]]] = {}
        startups: dict[float, float] = {}
        urls_by_name = endpoints(ids, rng)
        for ttl in args.cache_seconds:
            print(f"\nmicro-cache {ttl:g} s:", flush=True)
            runs_by_ttl[ttl], startups[ttl] = measure(home, args, ttl, urls_by_name)
    load_after = os.getloadavg()
    ttls = args.cache_seconds
    print(
        "\nstart-up (experimenter serve to first page): "
        + ", ".join(f"{startups[t]:.2f} s" for t in ttls)
        + f"\nload average before {load_before[0]:.1f}, after {load_after[0]:.1f} "
        f"({os.cpu_count()} cores)"
    )
    head = " | ".join(f"p50 / p95 (ms), cache {t:g} s" for t in ttls)
    print(f"\n| endpoint | {head} | p95 <= {GOAL_MS} ms |")
    print("| --- | " + " | ".join("---:" for _ in ttls) + " | :---: |")
    names = [r["endpoint"] for r in runs_by_ttl[ttls[0]]]
    for i, name in enumerate(names):
        cells = [f"{runs_by_ttl[t][i]['p50_ms']} / **{runs_by_ttl[t][i]['p95_ms']}**" for t in ttls]
        marks = "/".join("yes" if runs_by_ttl[t][i]["ok"] else "no" for t in ttls)
        print(f"| {name} | " + " | ".join(cells) + f" | {marks} |")
    if args.json:
        print(
            json.dumps(
                {
                    "skills": args.skills,
                    "metrics": args.metrics,
                    "decisions": args.decisions,
                    "clients": args.clients,
                    "workers": args.workers,
                    "cpu_count": os.cpu_count(),
                    "load_average_before": [round(x, 2) for x in load_before],
                    "load_average_after": [round(x, 2) for x in load_after],
                    "fill_seconds": ids["fill_seconds"],
                    "runs": [
                        {"cache_seconds": t, "startup_s": round(startups[t], 2),
                         "endpoints": runs_by_ttl[t]}
                        for t in ttls
                    ],
                }
            )
        )  # fmt: skip


def measure(
    home: Path, args: argparse.Namespace, cache_seconds: float, urls_by_name: dict[str, list[str]]
) -> tuple[list[dict[str, Any]], float]:
    """Start the server with the micro-cache set to ``cache_seconds`` and load each row."""
    port = free_port()
    proc, startup = start(home, port, args.workers, cache_seconds)
    rows = []
    try:
        for name, urls in urls_by_name.items():
            load(port, urls[:2], 2, 4)  # warm up (caches, connections)
            lat = load(port, urls, args.clients, args.requests)
            p50, p95, p99 = np.percentile(lat, [50, 95, 99])
            rows.append(
                {"endpoint": name, "requests": len(lat), "p50_ms": round(float(p50), 1),
                 "p95_ms": round(float(p95), 1), "p99_ms": round(float(p99), 1),
                 "ok": bool(p95 <= GOAL_MS)}
            )  # fmt: skip
            print(
                f"{name:38s} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  p99 {p99:7.1f} ms",
                flush=True,
            )
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return rows, startup


if __name__ == "__main__":
    main()
