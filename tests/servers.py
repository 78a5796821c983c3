"""The real Temporal servers for the tests (``workers.embedded``: the dev server and the time-skipping server,
started with EntryPoint's data converter and search attributes), and where their binaries are."""

from __future__ import annotations

from workers.binaries import temporal_binary as binary
from workers.embedded import dev_server, time_skipping_server

__all__ = ["binary", "dev_server", "time_skipping_server"]
