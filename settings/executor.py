"""Where collection and evaluation run: in the daemon's process, or in Ray workers.

Not part of an experiment's stored configuration: the same experiment may be resumed on a
laptop and then on a cluster, and its data does not depend on where the arenas stepped.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ExecutorSettings(BaseModel):
    executor: Literal["inprocess", "ray"] = Field(
        default="inprocess",
        description="Where arenas step: in this process, or in Ray actors (the optional "
        "'ray' extra).",
    )
    ray_address: str | None = Field(
        default=None,
        description="Ray cluster to join: 'auto' (the one `ray start` made on this machine) "
        "or HOST:PORT; none starts a local one with this machine's cores.",
    )
    workers: int = Field(
        default=2, ge=1, le=1024,
        description="Ray workers, each an actor with one CPU, a batched arena and a copy of "
        "the policy.",
    )  # fmt: skip
