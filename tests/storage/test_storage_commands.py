"""Commands from the dashboard to the daemon are consumed exactly once."""

from __future__ import annotations

import threading

from storage import Database
from storage.commands import claim_command, enqueue_command, finish_command
from storage.models import Command


def test_commands_are_claimed_in_order_and_finished(db: Database) -> None:
    with db.session() as s:
        first = enqueue_command(s, kind="pause", created_by="dashboard").id
        enqueue_command(s, kind="resume", payload={"why": "test"})
    with db.session() as s:
        cmd = claim_command(s, claimed_by="daemon-1")
        assert cmd is not None and cmd.id == first and cmd.kind == "pause"
    with db.session() as s:
        finish_command(s, command_id=first, result={"ok": True})
    with db.session() as s:
        second = claim_command(s, claimed_by="daemon-1")
        assert second is not None and second.payload == {"why": "test"}
        assert claim_command(s, claimed_by="daemon-1") is None
    with db.reader() as s:
        done = s.get(Command, first)
        assert done is not None and done.status == "done" and done.claimed_by == "daemon-1"


def test_racing_daemons_never_claim_the_same_command(db: Database) -> None:
    with db.session() as s:
        for i in range(40):
            enqueue_command(s, kind="approve", payload={"n": i})
    claimed: list[list[int]] = [[] for _ in range(4)]

    def worker(k: int) -> None:
        while True:
            with db.session() as s:
                cmd = claim_command(s, claimed_by=f"daemon-{k}")
                if cmd is None:
                    return
                claimed[k].append(cmd.id)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    ids = [i for c in claimed for i in c]
    assert sorted(ids) == list(range(1, 41)), "every command claimed exactly once"
