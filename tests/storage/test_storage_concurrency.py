"""One writer and several readers on one SQLite file: no "database is locked", ever."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import skills as lib
from storage import Database
from storage.database import DB_FILE

WRITES = 400  # transactions of the writer: add, status change, evaluation (4 statements)
READERS = 3


@pytest.mark.slow
def test_readers_and_a_writer_share_sqlite_without_locking_errors(sqlite_db: Database) -> None:
    # Separate engines, as the daemon and the dashboard are separate processes.
    path = Path(sqlite_db.url.removeprefix("sqlite:///"))
    assert path.name == DB_FILE
    writer, readers = Database(sqlite_db.url), [Database(sqlite_db.url) for _ in range(READERS)]
    errors: list[BaseException] = []
    done = threading.Event()
    reads = [0] * READERS

    def read(k: int) -> None:
        try:
            while not done.is_set():
                with readers[k].reader() as s:
                    rows = lib.list_skills(s, status="training", limit=20)
                    if rows:
                        lib.skill_detail(s, skill_id=rows[-1].id)
                        lib.search_skills(s, query="red")
                    lib.count_skills(s)
                reads[k] += 1
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=read, args=(k,)) for k in range(READERS)]
    for t in threads:
        t.start()
    try:
        for i in range(WRITES):
            height = round(0.05 + i * 0.0001, 4)
            obj = ("red", "green", "blue")[i % 3]
            spec = {"stages": [{"all": [{"pred": "lifted", "args": [obj], "height": height}]}]}
            with writer.session() as s:
                skill = lib.add_skill(s, spec=spec)
                lib.set_status(s, skill_id=skill.id, status="training", decided_by="planner",
                               reason="")  # fmt: skip
                lib.record_evaluation(s, skill_id=skill.id, episodes=10, successes=i % 11)
    finally:
        done.set()
        for t in threads:
            t.join(60)
    assert not errors, errors[0]
    assert min(reads) > 0
    with sqlite_db.reader() as s:
        assert lib.count_skills(s, status="training") == WRITES
    total = WRITES * 4 + 4 * sum(reads)  # statements: 4 per write, up to 4 per read
    print(f"\n{WRITES} write transactions, {sum(reads)} read transactions, ~{total} statements")
    assert total > 3000, f"only {total} operations"
    for db in (writer, *readers):
        db.dispose()
