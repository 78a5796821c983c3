"""What every benchmark shares: result lines, progress, the real Temporal servers, private records databases.

Results are printed as ONE line each on stdout; progress goes to stderr. Servers and databases are the
real ones the tests use: the Temporal dev server and time-skipping test server from the venv, SQLite in a
temporary directory, and a private PostgreSQL database on 127.0.0.1:5432 (created here, dropped after).
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO

from temporalio.api.testservice.v1 import SleepRequest
from temporalio.runtime import LogForwardingConfig, LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.testing import WorkflowEnvironment

from activities.keys import KEYRING_ENV, Keyring
from activities.records.migrate import upgrade
from activities.records.scratch import private_postgres
from activities.records.store import RecordStore
from domain.people import Contact, Institution, MentorProfile, Sector
from workers import embedded

INSTITUTION = Institution(institution_id="uni-helsinki", name="University of Helsinki", partner=True)
COORDINATOR_ID = "coord-bench"
MENTOR_ID = "mr-bench"
"""The mentor of every benchmark partnership's match (a match must name a mentor of the cohort's pool)."""


@dataclass
class Result:
    """One benchmark's result: its line (printed) and its numbers (kept in latest.json)."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    """Shown in the line, in this order."""
    data: dict[str, Any] = field(default_factory=dict)
    """Raw numbers for latest.json (not shown)."""
    notes: list[str] = field(default_factory=list)
    skipped: str | None = None

    def line(self) -> str:
        if self.skipped is not None:
            return f"{self.name} skipped: {self.skipped}"
        parts = [self.name, *(f"{k}={_fmt(v)}" for k, v in self.params.items())]
        parts.extend(f"{k}={_fmt(v)}" for k, v in self.metrics.items())
        text = " ".join(parts)
        if self.notes:
            text += " (" + "; ".join(self.notes) + ")"
        return text

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "params": self.params,
            "metrics": self.metrics,
            "data": self.data,
            "notes": self.notes,
            "skipped": self.skipped,
            "line": self.line(),
        }


RESULTS: list[Result] = []
OUT: TextIO = sys.stdout
"""Where result lines go. The CLI points it at the real stdout and sends everything else (servers' banners,
stray prints) to stderr, so stdout holds nothing but the result lines."""


def emit(result: Result) -> Result:
    """Print the result's line on stdout (the one line a benchmark configuration prints) and keep it, with
    the machine's load average when it was done (the machine is shared: the numbers move with it)."""
    if result.skipped is None:
        result.metrics["load"] = "{:.1f}/{:.1f}/{:.1f}".format(*os.getloadavg())
        result.data["load_average"] = os.getloadavg()
    RESULTS.append(result)
    print(result.line(), file=OUT, flush=True)
    return result


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if value >= 100:
            return f"{value:.0f}"
        if value >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    return str(value)


# Benchmarks measure with the production converter (encryption on, each partnership under its data key), under a
# throwaway keyring and data-key database unless given; workers the benchmarks start inherit both.
os.environ.setdefault(KEYRING_ENV, Keyring.generate(source=KEYRING_ENV).to_json())
os.environ.setdefault(
    "ENTRYPOINT_DATA_KEYS_URL", f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='bench-data-keys-')}/data-keys.db"
)


async def _data_keys_ready() -> None:
    await upgrade(os.environ["ENTRYPOINT_DATA_KEYS_URL"])


def progress(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class _Counting(logging.Handler):
    """Counts the SDK core's "Workflow task duration exceeded" warnings (a workflow task over 5 s)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.slow_tasks = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "task duration exceeded" in record.getMessage().lower():
            self.slow_tasks += 1


CORE_WARNINGS = _Counting()
"""The worker's core log (forwarded to the ``temporalio.core`` logger, and so to the engine's log file too)."""


def _runtime() -> Runtime:
    logger = logging.getLogger("temporalio.core")
    logger.addHandler(CORE_WARNINGS)
    logging_config = LoggingConfig(
        filter=TelemetryFilter(core_level="WARN", other_level="WARN"), forwarding=LogForwardingConfig(logger=logger)
    )
    return Runtime(telemetry=TelemetryConfig(logging=logging_config))


@asynccontextmanager
async def dev_server() -> AsyncIterator[WorkflowEnvironment]:
    """The real Temporal dev server (its state in memory), with EntryPoint's search attributes registered;
    the workers of its client forward the SDK core's warnings to :data:`CORE_WARNINGS`."""
    await _data_keys_ready()
    async with embedded.dev_server(runtime=_runtime()) as env:
        yield env


@asynccontextmanager
async def time_skipping_server() -> AsyncIterator[WorkflowEnvironment]:
    await _data_keys_ready()
    async with embedded.time_skipping_server() as env:
        yield env


SKIP_PATIENCE = timedelta(minutes=20)
"""How long one time skip may wait in real time: the server moves its clock only when no task is in flight."""


async def skip_time(env: WorkflowEnvironment, duration: timedelta) -> None:
    """``env.sleep(duration)`` on the time-skipping server, without the client's default 30 s deadline.

    The server advances its clock only while no workflow task or activity is in flight, so with hundreds of
    partnerships at work (a matching round delivering 1,000 matches) one skip waits minutes of real time;
    ``env.sleep`` gives its RPC the client's default deadline and fails with "Timeout expired" after 30 s.
    """
    request = SleepRequest()
    request.duration.FromTimedelta(duration)
    await env.client.test_service.unlock_time_skipping_with_sleep(request, timeout=SKIP_PATIENCE)


@contextmanager
def scratch_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="entrypoint-bench-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@asynccontextmanager
async def records_database(kind: str) -> AsyncIterator[str]:
    """A migrated, empty records database of its own: ``sqlite`` (a temp file) or ``postgres`` (dropped after)."""
    if kind == "sqlite":
        with scratch_dir() as directory:
            url = f"sqlite+aiosqlite:///{directory / 'records.db'}"
            await upgrade(url)
            yield url
        return
    if kind != "postgres":
        raise ValueError(f"unknown database kind {kind!r}")
    async with private_postgres("entrypoint_bench") as url:
        yield url


async def seed(store: RecordStore, cohort_id: str) -> None:
    """What a partnership's activities look up: the institution, the cohort, its coordinator and its mentor."""
    await store.upsert_institution(INSTITUTION)
    await store.upsert_person(COORDINATOR_ID, "coordinator", Contact(name="Coordinator", email="coord@example.org"))
    await store.upsert_cohort(cohort_id, COORDINATOR_ID)
    mentor = MentorProfile(mentor_id=MENTOR_ID, organisation_id="org-bench", sector=Sector.PRIVATE, capacity=3)
    await store.upsert_mentor(mentor, None, cohorts=[cohort_id])


def cpu_seconds() -> dict[str, float]:
    """CPU seconds used so far by this process and by its Temporal server children (user + system)."""
    tick = os.sysconf("SC_CLK_TCK")
    own = os.times()
    servers = 0.0
    me = str(os.getpid())
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)
            name = fields[0].split("(", 1)[1]
            rest = fields[1].split()
        except (OSError, IndexError):
            continue
        if rest[1] == me and name.startswith("temporal"):
            servers += (int(rest[11]) + int(rest[12])) / tick
    return {"worker": own.user + own.system, "server": servers}


def rss_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process, in KiB, from /proc."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


async def record_gathering(
    records: RecordStore, cohort_id: str, gathering_id: str, kind: str, present: list[str], hours: float
) -> None:
    """A gathering's record as the Gathering workflow leaves it: scheduled, and attendance recorded.
    ``gathering_attended`` counts only what such a record says (issue 15, finding 6)."""
    from datetime import UTC, datetime

    from contract.gathering import gathering_workflow_id
    from domain.gathering import events as ge
    from domain.gathering.plan import GatheringPlan

    at = datetime(2026, 3, 1, tzinfo=UTC)
    plan = GatheringPlan(
        cohort_id=cohort_id,
        gathering_id=gathering_id,
        kind=kind,
        subject="a gathering",
        starts_at=at,
        duration_hours=hours,
        place="Helsinki",
        capacity=100 if kind == "collective" else 20,
    )
    events: list[ge.Event] = [
        ge.GatheringScheduled(at=at, plan=plan),
        ge.AttendanceRecorded(at=at, present=tuple(present), hours=hours),
    ]
    await records.append_gathering_events(gathering_workflow_id(cohort_id, gathering_id), cohort_id, 0, events)
