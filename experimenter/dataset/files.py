"""The dataset's folder: checked before anything is read, written whole or not at all.

The files are written into a hidden temporary folder beside the output
(``.<name>.<random>.tmp``, each file fsynced), which is then renamed into place: a crash
leaves no half dataset under the output's name, only that temporary folder. ``--force``
replaces a dataset written before, never a folder holding anything else.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from durable import TEMPORARY_SUFFIX, atomic_write, fsync_folder
from experimenter.dataset.placement import DatasetError

FORMAT = "experimenter-dataset"
"""``metadata.json``'s ``format``: what marks a folder as a dataset ``--force`` may replace."""
FORMAT_VERSION = 1
"""Version of the layout (README.md, "Datasets"); raised when an array changes meaning."""
DATA_FILE = "dataset.npz"
METADATA_FILE = "metadata.json"


def check_out(out: Path, *, force: bool) -> None:
    """Refuse an output folder the export may not write, saying why and what to do."""
    if out.exists() and not out.is_dir():
        raise DatasetError(f"--out {out} is a file; give a folder (it is created)")
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise DatasetError(
                f"--out {out} is not empty; give a new folder, or --force to replace the "
                "dataset written there before"
            )
        if not _is_dataset(out):
            raise DatasetError(
                f"--out {out} holds files that are not a dataset; --force replaces only a "
                "dataset written before: give another folder"
            )
    parent = out.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise DatasetError(f"--out {out}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise DatasetError(f"--out {out}: cannot write in {parent} (permission denied)")


def _is_dataset(folder: Path) -> bool:
    names = {p.name for p in folder.iterdir()}
    if not names <= {DATA_FILE, METADATA_FILE} or METADATA_FILE not in names:
        return False
    try:
        meta = json.loads((folder / METADATA_FILE).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and meta.get("format") == FORMAT


def write_dataset(
    out: Path, arrays: dict[str, np.ndarray], metadata: dict[str, Any], *, force: bool
) -> None:
    """``arrays`` as ``dataset.npz`` and ``metadata`` as ``metadata.json`` in the folder
    ``out``, which appears whole (replacing a dataset there with ``force``)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{secrets.token_hex(4)}{TEMPORARY_SUFFIX}")
    old = out.with_name(f".{out.name}.{secrets.token_hex(4)}.old{TEMPORARY_SUFFIX}")
    tmp.mkdir()
    try:
        # Uncompressed: written and read at disk speed, and any reader of .npz opens it.
        atomic_write(tmp / DATA_FILE, lambda f: np.savez(f, **arrays))  # type: ignore[arg-type]
        text = json.dumps(metadata, indent=2, ensure_ascii=False) + "\n"
        atomic_write(tmp / METADATA_FILE, lambda f: f.write(text.encode()))
        if out.is_dir() and any(out.iterdir()):
            if not force:  # written meanwhile by someone else: theirs stays
                raise DatasetError(f"--out {out} is no longer empty; nothing was written")
            out.rename(old)
        # Over an empty folder or none: one rename, so the dataset appears whole.
        tmp.replace(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old.exists() and not out.exists():
            old.rename(out)
        raise
    shutil.rmtree(old, ignore_errors=True)
    fsync_folder(out.parent)
