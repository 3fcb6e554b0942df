"""Response cache: the same question (prompt, images, schema, backend, model) is asked once.

In memory by default; with a folder, each entry is a small JSON file written atomically
(``durable.atomic_write_bytes``), so a daemon resumed after a crash gets the answers it had
paid for instead of paying again.
Only valid answers are cached.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from durable import atomic_write_bytes
from experimenter.planner.inputs import Image


def cache_key(
    *, backend: str, model: str, prompt: str, images: Sequence[Image], schema: dict[str, Any]
) -> str:
    """sha256 over everything that shapes the answer."""
    blob = json.dumps(
        {
            "backend": backend,
            "model": model,
            "prompt": prompt,
            "images": [im.sha256 for im in images],
            "schema": schema,
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class ResponseCache:
    """Valid answers by key; on disk under ``folder`` when one is given."""

    def __init__(self, folder: Path | None = None):
        self.folder = Path(folder) if folder is not None else None
        self._memory: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        if key in self._memory:
            return self._memory[key]
        if self.folder is None:
            return None
        path = self.folder / f"{key}.json"
        try:
            text = json.loads(path.read_text("utf-8"))["response"]
        except (FileNotFoundError, KeyError, json.JSONDecodeError):
            return None  # absent, or a damaged entry: ask again
        self._memory[key] = text
        return str(text)

    def put(self, key: str, response: str) -> None:
        self._memory[key] = response
        if self.folder is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        entry = json.dumps({"response": response}).encode("utf-8")
        atomic_write_bytes(self.folder / f"{key}.json", entry)
