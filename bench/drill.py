"""``make drill``: real faults against a real installation, and what they cost.

Each drill builds a whole installation of its own in a temporary directory: the Temporal dev server on its
own port and database file, the records database (SQLite, or for the PostgreSQL drill a private cluster
made with the installed server's ``initdb``/``pg_ctl`` on a port of its own: never the shared server), an
SMTP sink (aiosmtpd on loopback) and the worker as a separate process (``python -m workers worker``). It
then runs a cohort of ``--pairs`` partnerships on a fast policy, driven only through the public contract:
applications started as ``Partnership`` workflows, a ``Cohort`` workflow that matches them, and the parties'
updates (``sign_agreement``, ``log_meeting``, ``submit_closing_review``; each with an update id, so that a
call retried after a fault is the same call). Every pair signs at once and meets well within its cadence,
so every attention raised is a false escalation. Meanwhile, the drill's fault:

- ``worker``: the worker is SIGKILLed at random moments (``--kills``, at least 5) and restarted;
- ``temporal``: the dev server is SIGKILLed (at least 2 times) and restarted on its database file;
- ``postgres``: the records database's private PostgreSQL cluster is stopped for ``--outage`` seconds (60);
- ``smtp``: the SMTP sink is stopped for ``--outage`` seconds.

When every partnership has ended (or the deadline passed), the drill compares what the parties did with
the records, the outbox, the mail the sink received (by Message-ID) and the workflows' histories, and
prints one table per drill. The exit status is 1 on any loss, double, failed workflow task, stuck or
unfinished workflow or false escalation. An e-mail that the sink accepted just before the worker was killed
or the records database went away (before it could be marked sent) may be sent again with the same
Message-ID: that is the documented at-least-once edge of SMTP, counted in its own row, not as a double, when
the records prove it (see ``Drill._unconfirmed``).

The worker's outbox sweep runs every ``--sweep`` seconds (10; the production default is 60).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import typing
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import func, select
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError

from activities.notifications.claims import Claims
from activities.records import schema
from activities.records.migrate import upgrade
from activities.records.models import OutboxStatus
from activities.records.store import RecordStore
from bench.common import _data_keys_ready  # a throwaway keyring and data-key database unless given (as benchmarks)
from contract.partnership import Application, PartnershipStatus
from domain.cohort import CohortPlan
from domain.people import Contact, DegreeLevel, Institution, MentorProfile, Sector
from workers.binaries import temporal_binary
from workers.codec import decode_in_place
from workers.cohorts import Cohorts
from workers.doctor import task_failures
from workers.partnerships import Partnerships
from workers.setup import register_search_attributes
from workers.temporal import data_converter, interceptors
from workflows.partnership import PartnershipWorkflow

DRILLS = ("worker", "smtp", "postgres", "temporal")
ESCALATIONS = ("signature_overdue", "meeting_lapsed", "review_overdue")
"""Events that raise a coordinator's attention: each is false here, since every pair acts in time."""
TERMINAL = {"COMPLETED", "WITHDRAWN", "REJECTED", "ENDED_EARLY"}
POLL = 3.0
UPDATE_WAIT = 90.0
"""Seconds one attempt at an update may take before it is sent again (same id)."""
"""Seconds between two status queries of one pair while it waits for a stage."""
PROBES = 10
"""Partnerships asked for their status to tell that the workflows run again after a fault."""
COORDINATOR_ID = "coord-drill"
INSTITUTION = Institution(institution_id="uni-drill", name="Drill University", partner=True)


@dataclass(frozen=True)
class Timing:
    """The fast policy and the pace of the parties (seconds)."""

    policy: dict[str, str]
    meeting_every: float
    programme: float
    """About how long a pair runs, from the match to the end of the programme."""

    @classmethod
    def full(cls) -> Timing:
        return cls(
            policy={
                "signing_reminder": "PT60S",
                "signing_deadline": "PT120S",
                "meeting_cadence": "PT40S",
                "lapse_grace": "PT20S",
                "escalation_after": "PT60S",
                "programme_length": "PT150S",
                "review_reminder": "PT60S",
                "review_window": "PT120S",
            },
            meeting_every=10.0,
            programme=150.0,
        )

    @classmethod
    def short(cls) -> Timing:
        return cls(
            policy={
                "signing_reminder": "PT60S",
                "signing_deadline": "PT120S",
                "meeting_cadence": "PT30S",
                "lapse_grace": "PT15S",
                "escalation_after": "PT45S",
                "programme_length": "PT30S",
                "review_reminder": "PT60S",
                "review_window": "PT120S",
            },
            meeting_every=5.0,
            programme=30.0,
        )


# ---------------------------------------------------------------------------------------------- processes


def _seconds(duration: str) -> float:
    """``PT40S`` -> 40.0 (the drill's policies use seconds only)."""
    return float(duration.removeprefix("PT").removesuffix("S"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listening(port: int) -> bool:
    with contextlib.closing(socket.socket()) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


async def until(check: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not within {timeout:g} s")
        await asyncio.sleep(0.1)


class TemporalServer:
    def __init__(self, directory: Path) -> None:
        self.db = directory / "temporal.db"
        self.log = directory / "temporal.log"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.process = subprocess.Popen(
            [temporal_binary("temporal"), "server", "start-dev", "--db-filename", str(self.db), "--port",
             str(self.port), "--headless", "--ip", "127.0.0.1", "--log-level", "error"],
            stdout=self.log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        await until(lambda: listening(self.port), "the Temporal dev server listening")
        await self._namespace_ready()

    async def _namespace_ready(self, timeout: float = 120.0) -> None:
        """Listening is not ready: wait until the default namespace answers (slow on a loaded machine)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                client = await Client.connect(self.address)
                await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace="default"))
                return
            except (RPCError, RuntimeError, OSError):
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(1.0)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


class WorkerProcess:
    def __init__(self, directory: Path, env: dict[str, str]) -> None:
        self.env = env
        self.log = directory / "worker.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.crashes = 0
        """Exits nobody asked for (the supervisor restarts the worker)."""
        self.down = False
        """Killed on purpose, to be restarted by the drill: the supervisor leaves it be."""

    def start(self) -> None:
        self.down = False
        self.process = subprocess.Popen(
            [sys.executable, "-m", "workers", "worker"],
            env=self.env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def kill(self) -> None:
        self.down = True
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        self.down = True
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    async def supervise(self) -> None:
        """Restart the worker should it exit by itself (counted: a worker must survive its dependencies)."""
        while True:
            await asyncio.sleep(0.5)
            if not self.down and self.process is not None and self.process.poll() is not None:
                self.crashes += 1
                self.start()


class PrivatePostgres:
    """A cluster of its own (initdb + pg_ctl of the installed server), on a free port, in ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.data = directory / "pgdata"
        self.socket_dir = directory / "pgsock"
        self.log = directory / "postgres.log"
        self.port = free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # initdb refuses root: run the cluster as the postgres user
            self.as_user = ["runuser", "-u", "postgres", "--"]

    def _run(self, *argv: str) -> None:
        subprocess.run([*self.as_user, *argv], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def _binary(self, name: str) -> str:
        found = shutil.which(name)
        if found is None:
            raise RuntimeError(f"{name} not found: the PostgreSQL drill needs an installed PostgreSQL server")
        return found

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/drill"

    async def create(self) -> None:
        for path in (self.data, self.socket_dir):
            path.mkdir(parents=True)
        self.log.touch()
        if self.as_user:
            for path in (self.data, self.socket_dir, self.log):
                shutil.chown(path, "postgres", "postgres")
            os.chmod(self.data.parent, 0o755)
        self._run(self._binary("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self.start()
        import asyncpg

        admin = await asyncpg.connect(host="127.0.0.1", port=self.port, user="postgres", database="postgres")
        try:
            await admin.execute("CREATE DATABASE drill")
        finally:
            await admin.close()

    def start(self) -> None:
        options = f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 -c max_connections=200"
        self._run(self._binary("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def stop(self, mode: str = "immediate") -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run(self._binary("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")


class Sink:
    """aiosmtpd on loopback that keeps every message it accepted (with when), across stops and restarts."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[tuple[float, datetime, str]] = []
        """(monotonic time, wall-clock time, Message-ID) of every message accepted."""
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?from=entrypoint@example.org"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        message = typing.cast(EmailMessage, message_from_bytes(raw, policy=policy.default))
        self.received.append((time.monotonic(), datetime.now(UTC), str(message["Message-ID"])))
        return "250 OK"

    def start(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


# ---------------------------------------------------------------------------------------------- the parties


@dataclass
class Pair:
    pid: str
    accepted: dict[str, int] = field(default_factory=dict)
    """How many of each update the workflow accepted (each update id counted once)."""
    rejected: list[str] = field(default_factory=list)
    final: PartnershipStatus | None = None
    first_sent: dict[str, datetime] = field(default_factory=dict)
    """When each call (by update id) was first sent: what counts for "in time"."""


@dataclass
class Calls:
    """The parties' calls in flight (for the time to recover) and how often a call had to be retried."""

    in_flight: dict[int, float] = field(default_factory=dict)
    retries: int = 0
    next_id: int = 0

    def begin(self) -> int:
        self.next_id += 1
        self.in_flight[self.next_id] = time.monotonic()
        return self.next_id

    def end(self, token: int) -> None:
        self.in_flight.pop(token, None)

    def oldest(self) -> float | None:
        return min(self.in_flight.values(), default=None)


class Parties:
    def __init__(
        self, client: Client, facade: Partnerships, timing: Timing, calls: Calls, alive: Callable[[], bool]
    ) -> None:
        self.client = client
        self.facade = facade
        self.timing = timing
        self.calls = calls
        self.alive = alive
        """False once the drill gives up (nothing progressed for ``--stall`` seconds)."""

    async def update(self, pair: Pair, name: str, payload: dict[str, Any], update_id: str) -> PartnershipStatus | None:
        """Send one update, retried (same id) through faults; the new status when accepted, else None."""
        token = self.calls.begin()
        pair.first_sent.setdefault(update_id, datetime.now(UTC))
        try:
            while True:
                try:
                    # Bounded: the SDK waits for an accepted update's outcome for ever, even when the
                    # workflow is stuck; the same id again attaches to the same update.
                    status = await asyncio.wait_for(
                        self.client.get_workflow_handle(pair.pid).execute_update(
                            name,
                            payload,
                            id=update_id,
                            result_type=PartnershipStatus,
                            rpc_timeout=timedelta(seconds=30),
                        ),
                        timeout=UPDATE_WAIT,
                    )
                except WorkflowUpdateFailedError as failure:
                    pair.rejected.append(f"{name}: {failure.cause}")
                    return None
                except (RPCError, WorkflowUpdateRPCTimeoutOrCancelledError, OSError, RuntimeError, TimeoutError):
                    if not self.alive():
                        return None
                    self.calls.retries += 1
                    await asyncio.sleep(1.0)
                    continue
                pair.accepted[name] = pair.accepted.get(name, 0) + 1
                return status
        finally:
            self.calls.end(token)

    async def status(self, pair: Pair) -> PartnershipStatus | None:
        """The pair's status; None once the drill has given up and the workflow still does not answer."""
        while True:
            try:
                return await self.client.get_workflow_handle_for(PartnershipWorkflow.run, pair.pid).query(
                    PartnershipWorkflow.status, rpc_timeout=timedelta(seconds=10)
                )
            except (RPCError, OSError, RuntimeError):
                if not self.alive():
                    return None
                await asyncio.sleep(2.0)

    async def until_stage(self, pair: Pair, stages: set[str]) -> PartnershipStatus | None:
        while self.alive():
            status = await self.status(pair)
            if status is not None and status.stage in stages:
                return status
            await asyncio.sleep(POLL + random.random())  # few queries: a busy workflow refuses them
        return None

    async def drive(self, pair: Pair) -> None:
        """Sign at once, meet every ``meeting_every`` seconds, review at once: always in time."""
        if await self.until_stage(pair, {"AWAITING_SIGNATURES"} | TERMINAL) is None:
            return
        await asyncio.gather(  # two people: neither waits for the other
            *(
                self.update(pair, "sign_agreement", {"party": p, "signature_ref": f"esign-{p}"}, f"{pair.pid}-sign-{p}")
                for p in ("mentee", "mentor")
            )
        )
        meeting = 0
        while self.alive():
            await asyncio.sleep(self.timing.meeting_every)
            meeting += 1
            payload = {"kind": "pair", "minutes": 60, "topics": [f"drill meeting {meeting}"]}
            status = await self.update(pair, "log_meeting", payload, f"{pair.pid}-meeting-{meeting}")
            if status is None:
                status = await self.status(pair)  # refused: the programme has ended, most likely
            if status is None or status.stage != "ACTIVE":
                break
        if await self.until_stage(pair, {"CLOSING_REVIEW"} | TERMINAL) is None:
            return
        reviews: dict[str, dict[str, Any]] = {
            "mentee": {"party": "mentee", "rating": 5, "outcome": "employed_in_field"},
            "mentor": {"party": "mentor", "rating": 4},
        }
        await asyncio.gather(
            *(self.update(pair, "submit_closing_review", r, f"{pair.pid}-review-{p}") for p, r in reviews.items())
        )


# ---------------------------------------------------------------------------------------------- one drill


@dataclass
class Result:
    drill: str
    pairs: int
    finished: int = 0
    records_lost: int = 0
    records_doubled: int = 0
    emails_expected: int = 0
    emails_lost: int = 0
    emails_doubled: int = 0
    emails_resent_unconfirmed: int = 0
    """Copies of a message the sink had accepted when the worker or the records database was lost before the
    message could be marked sent (the documented at-least-once edge): proven by the records (see ``_unconfirmed``)."""
    failed_workflow_tasks: int = 0
    superseded_tasks: int = 0
    stuck: int = 0
    false_escalations: int = 0
    late_escalations: int = 0
    """Escalations for a call the parties sent only after the deadline (the drill's own parties were late)."""
    recover_seconds: float = 0.0
    faults: int = 0
    worker_crashes: int = 0
    retried_calls: int = 0
    rejected_updates: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            self.finished == self.pairs
            and not (self.records_lost or self.records_doubled or self.emails_lost or self.emails_doubled)
            and not (self.failed_workflow_tasks or self.stuck or self.false_escalations)
        )

    def table(self) -> str:
        rows = [
            ("partnerships finished / expected (COMPLETED)", f"{self.finished} / {self.pairs}"),
            ("records lost", self.records_lost),
            ("records doubled", self.records_doubled),
            ("e-mails expected (sent rows)", self.emails_expected),
            ("e-mails lost", self.emails_lost),
            ("e-mails doubled (by Message-ID)", self.emails_doubled),
            ("e-mails re-sent: SMTP accepted, then worker/DB lost before mark-sent", self.emails_resent_unconfirmed),
            ("failed workflow tasks", self.failed_workflow_tasks),
            ("workflow tasks run again with newer events (server; not failures)", self.superseded_tasks),
            ("stuck or unfinished workflows", self.stuck),
            ("false escalations (the parties had acted in time)", self.false_escalations),
            ("escalations after a late call (the drill's parties were late)", self.late_escalations),
            ("seconds to recover (worst fault)", f"{self.recover_seconds:.1f}"),
            ("faults injected", self.faults),
            ("worker exits not asked for", self.worker_crashes),
            ("calls retried by the parties", self.retried_calls),
            ("updates rejected", self.rejected_updates),
            ("drill duration (s)", f"{self.seconds:.0f}"),
            ("result", "PASS" if self.ok else "FAIL"),
        ]
        width = max(len(name) for name, _ in rows)
        lines = [f"drill: {self.drill}", "-" * (width + 12)]
        lines += [f"{name:<{width}}  {value}" for name, value in rows]
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)


@dataclass
class Fault:
    ended: float
    """Monotonic time the fault ended (the process restarted)."""
    ended_wall: datetime


class Drill:
    def __init__(self, name: str, directory: Path, pairs: int, timing: Timing, rng: random.Random, args: Any) -> None:
        self.name = name
        self.directory = directory
        self.pairs = pairs
        self.timing = timing
        self.rng = rng
        self.args = args
        self.temporal = TemporalServer(directory)
        self.sink = Sink()
        self.postgres = PrivatePostgres(directory) if name == "postgres" else None
        self.database_url = self.postgres.url if self.postgres else f"sqlite+aiosqlite:///{directory / 'records.db'}"
        self.task_queue = "drill"
        self.cohort_id = f"drill-{name}"
        self.worker: WorkerProcess | None = None
        self.faults: list[Fault] = []
        self.kills: list[float] = []
        self.outages: list[tuple[float, float]] = []
        """(monotonic start, end) of each records-database outage."""
        self.calls = Calls()
        self.recovery: list[float] = []
        self.pids: list[str] = []
        self.client: Client | None = None
        self.given_up = False

    @contextlib.asynccontextmanager
    async def installation(self) -> AsyncIterator[tuple[Client, RecordStore]]:
        store: RecordStore | None = None
        try:
            await self.temporal.start()
            if self.postgres is not None:
                await self.postgres.create()
            await upgrade(self.database_url)
            self.sink.start()
            client = await Client.connect(
                self.temporal.address, data_converter=data_converter(), interceptors=interceptors()
            )
            await register_search_attributes(client, "default")
            store = RecordStore.from_url(self.database_url)
            env = {
                **os.environ,
                "TEMPORAL_ADDRESS": self.temporal.address,
                "ENTRYPOINT_TASK_QUEUE": self.task_queue,
                "ENTRYPOINT_DATABASE_URL": self.database_url,
                "ENTRYPOINT_SMTP_URL": self.sink.url,
                "ENTRYPOINT_OUTBOX_SWEEP_INTERVAL": str(self.args.sweep),
                "ENTRYPOINT_LOG_LEVEL": "WARNING",
            }
            self.worker = WorkerProcess(self.directory, env)
            self.worker.start()
            yield client, store
        finally:
            if self.worker is not None:
                self.worker.stop()
            if store is not None:
                await store.close()
            self.sink.stop()
            self.temporal.stop()
            if self.postgres is not None:
                self.postgres.stop("fast")

    async def seed(self, store: RecordStore) -> None:
        await store.upsert_institution(INSTITUTION)
        await store.upsert_person(COORDINATOR_ID, "coordinator", Contact(name="Drill Coordinator", email="c@drill.org"))
        await store.upsert_cohort(self.cohort_id, COORDINATOR_ID)
        for n in range(1, self.pairs + 1):
            mentor = MentorProfile(
                mentor_id=f"mentor-{n:03d}",
                organisation_id=f"org-{n:03d}",
                sector=Sector.PRIVATE,
                expertise=("data science",),
                interests=("machine learning",),
                languages=("en", "fi"),
                capacity=1,
            )
            contact = Contact(name=f"Mentor {n}", email=f"mentor{n}@drill.org")
            await store.upsert_mentor(mentor, contact, cohorts=[self.cohort_id])

    def application(self, n: int) -> Application:
        return Application.model_validate(
            {
                "cohort_id": self.cohort_id,
                "mentee_id": f"mentee-{n:03d}",
                "institution_id": INSTITUTION.institution_id,
                "degree_level": DegreeLevel.MASTER,
                "field": "data science",
                "interests": ["machine learning"],
                "languages": ["en", "fi"],
                "goals": ["a job in my field"],
                "contact": {"name": f"Mentee {n}", "email": f"mentee{n}@drill.org"},
                "policy": self.timing.policy,
            }
        )

    def plan(self, start: datetime, span: float) -> CohortPlan:
        return CohortPlan(
            cohort_id=self.cohort_id,
            coordinator_id=COORDINATOR_ID,
            applications_close=start + timedelta(seconds=1),
            matching_at=start + timedelta(seconds=2),
            kickoff_at=start + timedelta(seconds=5),
            programme_end=start + timedelta(seconds=span),
            review_window=timedelta(seconds=30),
            auto_approve=True,
        )

    # ------------------------------------------------------------------------------------------ faults

    async def _answers(self, client: Client) -> bool:
        """Whether every partnership answers ``status`` now (the worker is back and its workflows run)."""
        try:
            for pid in self.pids[:: max(1, len(self.pids) // PROBES)]:
                await client.get_workflow_handle_for(PartnershipWorkflow.run, pid).query(
                    PartnershipWorkflow.status, rpc_timeout=timedelta(seconds=5)
                )
        except Exception:
            return False
        return True

    async def _recovered(self, client: Client, store: RecordStore, fault: Fault) -> None:
        """Wait until every partnership answers again, every call made before the fault's end is answered, and
        the outbox holds nothing written before it: the time to recover."""
        answered = False
        while True:
            answered = answered or await self._answers(client)
            oldest = self.calls.oldest()
            calls_done = answered and (oldest is None or oldest > fault.ended)
            outbox_done = False
            if calls_done:
                with contextlib.suppress(Exception):
                    pending = await store.list_outbox(status=OutboxStatus.PENDING)
                    outbox_done = not [m for m in pending if m.created_at <= fault.ended_wall]
            if calls_done and outbox_done:
                self.recovery.append(time.monotonic() - fault.ended)
                return
            await asyncio.sleep(1.0)

    def _ended(self, store: RecordStore, monitors: list[asyncio.Task[None]]) -> None:
        fault = Fault(ended=time.monotonic(), ended_wall=datetime.now(UTC))
        self.faults.append(fault)
        assert self.client is not None
        monitors.append(asyncio.create_task(self._recovered(self.client, store, fault)))

    def _moments(self, count: int, span: float) -> list[float]:
        return sorted(self.rng.uniform(0.1 * span, 0.9 * span) for _ in range(count))

    async def inject(self, store: RecordStore, span: float, monitors: list[asyncio.Task[None]]) -> None:
        began = time.monotonic()

        async def at(moment: float) -> None:
            await asyncio.sleep(max(0.0, began + moment - time.monotonic()))

        assert self.worker is not None
        if self.name == "worker":
            for moment in self._moments(self.args.kills, span):
                await at(moment)
                self.kills.append(time.monotonic())
                self.worker.kill()
                await asyncio.sleep(self.rng.uniform(0.2, 2.0))
                self.worker.start()
                self._ended(store, monitors)
        elif self.name == "temporal":
            for moment in self._moments(self.args.temporal_kills, span):
                await at(moment)
                self.temporal.kill()
                await asyncio.sleep(self.rng.uniform(1.0, 3.0))
                await self.temporal.start()
                self._ended(store, monitors)
        elif self.name == "postgres":
            assert self.postgres is not None
            await at(0.2 * span)
            stopped = time.monotonic()
            self.postgres.stop("immediate")
            await asyncio.sleep(self.args.outage)
            self.postgres.start()
            self.outages.append((stopped, time.monotonic()))
            self._ended(store, monitors)
        elif self.name == "smtp":
            await at(0.15 * span)
            self.sink.stop()
            await asyncio.sleep(self.args.outage)
            self.sink.start()
            self._ended(store, monitors)

    # ------------------------------------------------------------------------------------------ run

    async def run(self) -> Result:
        began = time.monotonic()
        result = Result(drill=self.name, pairs=self.pairs)
        async with self.installation() as (client, store):
            assert self.worker is not None
            supervisor = asyncio.create_task(self.worker.supervise())
            await self.seed(store)
            facade = Partnerships(client, self.task_queue)
            pairs = [Pair(f"partnership-{self.cohort_id}-mentee-{n:03d}") for n in range(1, self.pairs + 1)]
            self.pids, self.client = [pair.pid for pair in pairs], client
            for n in range(1, self.pairs + 1):
                await facade.start(self.application(n))
            parties = Parties(client, facade, self.timing, self.calls, lambda: not self.given_up)
            watcher = asyncio.create_task(self._watch_progress(store))
            for pair in pairs:  # every application screened before the cohort's matching round
                await parties.until_stage(pair, {"AWAITING_MATCH"} | TERMINAL)
            outage = self.args.outage if self.name in ("postgres", "smtp") else 0.0
            span = self.timing.programme + outage + 30.0
            await Cohorts(client, self.task_queue).start(self.plan(datetime.now(UTC), span + 60.0))
            monitors: list[asyncio.Task[None]] = []
            drivers = [asyncio.create_task(parties.drive(pair)) for pair in pairs]
            faults = asyncio.create_task(self.inject(store, self.timing.programme, monitors))
            await faults
            await asyncio.gather(*drivers)
            for pair in pairs:
                pair.final = await parties.until_stage(pair, TERMINAL) or await parties.status(pair)
            await self._drain(store, pairs)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*monitors), timeout=120.0)
            watcher.cancel()
            for monitor in monitors:
                monitor.cancel()
            supervisor.cancel()
            await self.measure(client, store, pairs, result)
            result.worker_crashes = self.worker.crashes
        result.seconds = time.monotonic() - began
        return result

    async def _event_count(self, store: RecordStore) -> int:
        async def work(connection: Any) -> int:
            return int(await connection.scalar(select(func.count()).select_from(schema.events)) or 0)

        return await store.database.read(work)

    async def _watch_progress(self, store: RecordStore) -> None:
        """Give up once no event has been recorded for ``--stall`` seconds (or after ``--cap``): what has not
        ended by then is stuck. A slow machine only makes the drill longer."""
        began = last_change = time.monotonic()
        last = -1
        while True:
            await asyncio.sleep(5.0)
            with contextlib.suppress(Exception):
                count = await self._event_count(store)
                if count != last:
                    last, last_change = count, time.monotonic()
            now = time.monotonic()
            if now - last_change > self.args.stall or now - began > self.args.cap:
                self.given_up = True
                return

    async def _drain(self, store: RecordStore, pairs: list[Pair]) -> None:
        """Give the outbox (and its sweep) a few sweeps to send what is pending."""
        ours = {pair.pid for pair in pairs}
        limit = time.monotonic() + 3 * self.args.sweep + 60.0
        while time.monotonic() < limit:
            with contextlib.suppress(Exception):
                pending = [m for m in await store.list_outbox(status=OutboxStatus.PENDING) if m.partnership_id in ours]
                if not pending:
                    return
            await asyncio.sleep(1.0)

    def _in_time(self, pair: Pair, event: Any, at: datetime) -> bool:
        """Whether the parties had sent what the escalation says is missing before it was raised."""
        sent = pair.first_sent
        if event.type == "signature_overdue":
            return all(sent.get(f"{pair.pid}-sign-{p.value}", at) < at for p in event.parties)
        if event.type == "review_overdue":
            return all(sent.get(f"{pair.pid}-review-{p.value}", at) < at for p in event.parties)
        cadence = timedelta(seconds=_seconds(self.timing.policy["meeting_cadence"]))
        window = (event.meeting_was_due - cadence, at)
        meetings = [t for key, t in sent.items() if key.startswith(f"{pair.pid}-meeting-")]
        return any(window[0] < t < window[1] for t in meetings)

    async def measure(self, client: Client, store: RecordStore, pairs: list[Pair], result: Result) -> None:
        result.faults = len(self.faults)
        result.retried_calls = self.calls.retries
        result.recover_seconds = max(self.recovery, default=0.0)
        if len(self.recovery) < len(self.faults):
            result.notes.append(f"{len(self.faults) - len(self.recovery)} fault(s) never recovered")
            result.recover_seconds = float("inf")
        sent: dict[str, tuple[str, datetime | None]] = {}
        false_kinds: Counter[str] = Counter()
        for pair in pairs:
            final = pair.final
            result.rejected_updates += len(pair.rejected)
            if final is not None and final.stage == "COMPLETED":
                result.finished += 1
            log = await store.read_log(pair.pid)
            versions = [item.version for item in log]
            types = [item.type for item in log]
            if versions != list(range(1, len(versions) + 1)):
                result.records_doubled += len(versions) - len(set(versions))
                result.notes.append(f"{pair.pid}: the event log has gaps or repeats")
            if final is not None:
                result.records_lost += max(0, final.version - len(log))
            expected = {
                "agreement_signed": pair.accepted.get("sign_agreement", 0),
                "meeting_logged": pair.accepted.get("log_meeting", 0),
                "closing_review_submitted": pair.accepted.get("submit_closing_review", 0),
                "partnership_completed": 1 if final is not None and final.stage == "COMPLETED" else 0,
            }
            for kind, count in expected.items():
                got = types.count(kind)
                result.records_lost += max(0, count - got)
                result.records_doubled += max(0, got - count)
            for item in log:
                if item.type in ESCALATIONS:
                    if self._in_time(pair, item.event, item.occurred_at):
                        result.false_escalations += 1
                        false_kinds[item.type] += 1
                        result.notes.append(f"false {item.type}: {pair.pid} at {item.occurred_at:%H:%M:%S.%f}")
                    else:
                        result.late_escalations += 1
            for message in await store.list_outbox(partnership_id=pair.pid):
                if message.status == OutboxStatus.SENT and message.message_id:
                    sent[message.message_id] = (message.key, message.sent_at)
                else:
                    result.emails_lost += 1
        result.emails_expected = len(sent)
        received = {message_id for _, _, message_id in self.sink.received}
        result.emails_lost += sum(1 for message_id in sent if message_id not in received)
        # The faults that explain the documented edge: this drill's worker SIGKILLs and records database outages.
        # The cohort's own mail (not a partnership's outbox), or another cohort's, is not in ``sent``: not judged.
        losses = [(kill, kill) for kill in self.kills] + list(self.outages)
        resent, doubled = await Claims(store.database).second_copies(self.sink.received, sent, losses)
        result.emails_resent_unconfirmed += len(resent)
        result.emails_doubled += len(doubled)
        ids = [pair.pid for pair in pairs] + [f"cohort-{self.cohort_id}"]
        async for wf in client.list_workflows(f"EpCohort='{self.cohort_id}' OR WorkflowId='cohort-{self.cohort_id}'"):
            if wf.id not in ids:
                ids.append(wf.id)
        failures: Counter[str] = Counter()
        for workflow_id in ids:
            handle = client.get_workflow_handle(workflow_id)
            failed_here = False
            async for event in handle.fetch_history_events():
                failure = task_failures(event)
                if failure is None:
                    continue
                if failure[0]:
                    result.failed_workflow_tasks += 1
                    failures[failure[1][:120]] += 1
                    failed_here = True
                else:
                    result.superseded_tasks += 1
            if failed_here and self.args.keep_logs:  # the history, to replay the failure (tests/histories)
                keep = Path(self.args.keep_logs) / self.name
                keep.mkdir(parents=True, exist_ok=True)
                history = await handle.fetch_history()
                codec = client.data_converter.payload_codec
                if codec is not None:  # decoded: this run's throwaway keys are gone when the drill ends
                    await decode_in_place(history.events, codec)
                (keep / f"history-{workflow_id}.json").write_text(history.to_json())
                result.notes.append(f"history of {workflow_id} kept in {keep} (decoded: replays without keys)")
        for why, count in failures.most_common(3):
            result.notes.append(f"workflow task failed {count}x: {why}")
        for kind, count in false_kinds.most_common():
            result.notes.append(f"false escalation {count}x: {kind}")
        reasons = Counter(reason[:90] for pair in pairs for reason in pair.rejected)
        for reason, count in reasons.most_common(3):
            result.notes.append(f"update rejected {count}x: {reason}")
        result.stuck = sum(1 for pair in pairs if pair.final is None or pair.final.stage not in TERMINAL)
        unfinished = [pair.pid for pair in pairs if pair.final is None or pair.final.stage != "COMPLETED"]
        if unfinished:
            stages = sorted({str(pair.final.stage if pair.final else "?") for pair in pairs if pair.pid in unfinished})
            result.notes.append(f"not COMPLETED: {len(unfinished)} (stages: {', '.join(map(str, stages))})")


async def run_drills(names: list[str], args: Any) -> list[Result]:
    await _data_keys_ready()  # shared by this process's client and the worker processes it starts (inherited env)
    timing = Timing.short() if args.short else Timing.full()
    results = []
    for index, name in enumerate(names):
        rng = random.Random(args.seed + index)
        with tempfile.TemporaryDirectory(prefix=f"drill-{name}-") as tmp:
            directory = Path(tmp)
            if name == "postgres":
                os.chmod(directory, 0o755)
            drill = Drill(name, directory, args.pairs, timing, rng, args)
            print(f"drill {name}: {args.pairs} pairs, starting ...", flush=True)
            try:
                result = await drill.run()
            except Exception as error:  # the drill itself broke: report it as a failed drill
                result = Result(drill=name, pairs=args.pairs)
                result.notes.append(f"the drill could not run: {type(error).__name__}: {error}")
                result.stuck = args.pairs
            if args.keep_logs:
                keep = Path(args.keep_logs) / name
                keep.mkdir(parents=True, exist_ok=True)
                for log in directory.glob("*.log"):
                    shutil.copy(log, keep / log.name)
        print(result.table() + "\n", flush=True)
        results.append(result)
    return results


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.drill", description=__doc__.split("\n\n")[0])
    p.add_argument("drills", nargs="*", metavar="DRILL", help=f"any of {', '.join(DRILLS)} (default: all four)")
    p.add_argument("--pairs", type=int, default=100, help="partnerships in the cohort (default 100)")
    p.add_argument("--kills", type=int, default=5, help="worker SIGKILLs in the worker drill (default 5)")
    p.add_argument("--temporal-kills", type=int, default=2, help="dev server SIGKILLs (default 2)")
    p.add_argument("--outage", type=float, default=60.0, help="seconds PostgreSQL or SMTP stay down (default 60)")
    p.add_argument("--sweep", type=float, default=10.0, help="the worker's outbox sweep interval (default 10 s)")
    p.add_argument(
        "--stall", type=float, default=180.0, help="give up when nothing was recorded for this long (default 180 s)"
    )
    p.add_argument("--cap", type=float, default=2400.0, help="give up on a drill after this long (default 2400 s)")
    p.add_argument("--seed", type=int, default=8, help="random seed of the fault moments")
    p.add_argument("--short", action="store_true", help="a short programme (for the test suite)")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    p.add_argument("--keep-logs", metavar="DIR", help="copy each drill's server and worker logs here")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    names = list(args.drills) or list(DRILLS)
    unknown = [name for name in names if name not in DRILLS]
    if unknown:
        print(f"drill: no drill {', '.join(unknown)} (choose from {', '.join(DRILLS)})", file=sys.stderr)
        return 2
    if args.pairs < 1 or args.kills < 1 or args.temporal_kills < 1 or args.outage <= 0 or args.sweep <= 0:
        print("drill: --pairs, --kills, --temporal-kills, --outage and --sweep must be positive", file=sys.stderr)
        return 2
    results = asyncio.run(run_drills(names, args))
    if args.json:
        Path(args.json).write_text(
            json.dumps([{**r.__dict__, "ok": r.ok} for r in results], indent=2, default=str) + "\n"
        )
    failed = [r.drill for r in results if not r.ok]
    print("all drills passed" if not failed else f"FAILED: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
