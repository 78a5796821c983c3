"""``entrypoint dev`` (what ``make run`` runs): a whole local installation in one command.

Starts ``temporal server start-dev`` (UI on http://localhost:8233, state in ./var/temporal.db), runs setup,
starts the worker, and starts a demo cohort on a fast policy. Ctrl-C stops everything it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from datetime import UTC, datetime
from pathlib import Path

import structlog

from activities.records.migrate import upgrade
from activities.records.store import RecordStore
from workers.binaries import temporal_binary
from workers.cli import CommandError
from workers.demo import run_demo, seed
from workers.logging import configure
from workers.partnerships import Partnerships
from workers.rendering import local, localize
from workers.settings import Settings
from workers.setup import register_search_attributes
from workers.temporal import connect
from workers.worker import build_worker
from workflows.cohort import CohortStatus, cohort_workflow_id

log = structlog.get_logger(__name__)


def temporal_cli() -> str:
    try:
        return temporal_binary("temporal")
    except FileNotFoundError as missing:
        raise CommandError(str(missing)) from None


def _listening(host: str, port: int) -> bool:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


async def start_dev_server(var: Path, port: int, ui_port: int) -> asyncio.subprocess.Process | None:
    """Start the dev server unless one already listens on ``port``; None when reusing one."""
    if _listening("127.0.0.1", port):
        print(f"A Temporal server already listens on localhost:{port}; using it.")
        return None
    var.mkdir(parents=True, exist_ok=True)
    logfile = (var / "temporal-server.log").open("ab")
    process = await asyncio.create_subprocess_exec(
        temporal_cli(),
        "server",
        "start-dev",
        "--db-filename",
        str(var / "temporal.db"),
        "--port",
        str(port),
        "--ui-port",
        str(ui_port),
        "--ip",
        "127.0.0.1",
        "--log-level",
        "warn",
        stdout=logfile,
        stderr=logfile,
        start_new_session=True,
    )
    for _ in range(600):
        if _listening("127.0.0.1", port):
            return process
        if process.returncode is not None:
            break
        await asyncio.sleep(0.1)
    raise CommandError(f"the Temporal dev server did not start; see {var / 'temporal-server.log'}")


async def watch(partnerships: Partnerships, cohort_id: str, every: float = 2.0) -> None:
    """Print each demo partnership's progress as it changes: stage, attention, meetings."""
    seen: dict[str, tuple[object, ...]] = {}
    cohort = partnerships.client.get_workflow_handle(cohort_workflow_id(cohort_id))
    while True:
        with contextlib.suppress(Exception):  # the cohort may not have started yet
            cohort_status = await cohort.query("status", result_type=CohortStatus)
            line = f"{cohort_status.stage:<20} {localize(cohort_status.waiting_for)}"
            if seen.get(cohort.id) != (line,):
                seen[cohort.id] = (line,)
                print(f"{local(datetime.now(UTC)):%H:%M:%S}  {cohort.id:<32} {line}", flush=True)
        async for row in partnerships.list(cohort=cohort_id):
            now = (row.stage, row.attention, row.meetings_held, row.status)
            if seen.get(row.workflow_id) != now:
                seen[row.workflow_id] = now
                attention = f"  ATTENTION {row.attention}" if row.attention else ""
                print(
                    f"{local(datetime.now(UTC)):%H:%M:%S}  {row.workflow_id:<32} {row.stage or '-':<20} "
                    f"meetings {row.meetings_held or 0}{attention}",
                    flush=True,
                )
        await asyncio.sleep(every)


async def run_dev(settings: Settings, cohort_id: str, demo: bool, ui_port: int) -> int:
    var = Path("var")
    _, _, port_text = settings.temporal_address.rpartition(":")
    port = int(port_text or 7233)
    configure(settings.log_level, file=var / "entrypoint.log")
    print("Starting the Temporal dev server ...", flush=True)
    server = await start_dev_server(var, port, ui_port)
    store: RecordStore | None = None
    try:
        client = await connect(settings)
        added = await register_search_attributes(client, settings.temporal_namespace)
        print(f"Search attributes: {'registered ' + ', '.join(added) if added else 'already registered'}.")
        await upgrade(settings.database_url)
        print(f"Records database: {settings.database_url} (migrated).")
        store = RecordStore.from_url(settings.database_url)
        worker = build_worker(client, settings.task_queue, store, mailer=None)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with worker:
            print(f"Worker running on task queue {settings.task_queue!r}.")
            demo_task = None
            if demo:
                await seed(store, cohort_id)
                demo_task = asyncio.create_task(run_demo(client, Partnerships(client, settings.task_queue), cohort_id))
                print(
                    f"\nDemo cohort {cohort_id!r} on a fast policy (a programme month is about 30 seconds): the "
                    "Cohort workflow matches six\napplicants in 10 s and kicks off with an orientation and subject "
                    "groups; one pair completes in about\nfour minutes, one lapses and is escalated, one mentor "
                    "never signs, one applicant waits for a match.\n"
                )
            print(f"Temporal UI:        http://localhost:{ui_port}/namespaces/{settings.temporal_namespace}/workflows")
            print(f"Worklist:           .venv/bin/entrypoint partnerships list --cohort {cohort_id} --attention")
            print(f"One partnership:    .venv/bin/entrypoint partnerships show partnership-{cohort_id}-demo-04")
            print(f"Cohort report:      .venv/bin/entrypoint cohort report {cohort_id}")
            print("Notifications:      .venv/bin/entrypoint outbox   (ENTRYPOINT_SMTP_URL unset: kept in the outbox)")
            print(f"Logs:               {var / 'entrypoint.log'} (JSON lines), {var / 'temporal-server.log'}")
            print("Press Ctrl-C to stop everything.\n", flush=True)
            watcher = asyncio.create_task(watch(Partnerships(client, settings.task_queue), cohort_id)) if demo else None
            await stop.wait()
            if watcher is not None:
                watcher.cancel()
            print("\nStopping ...", flush=True)
            if demo_task is not None:
                demo_task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await demo_task
    finally:
        if store is not None:
            await store.close()
        if server is not None and server.returncode is None:
            server.terminate()
            try:
                await asyncio.wait_for(server.wait(), 15)
            except TimeoutError:
                server.kill()
            print("Temporal dev server stopped.")
    return 0
