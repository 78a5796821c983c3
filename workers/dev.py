"""``entrypoint dev`` (what ``make run`` runs): a whole local installation in one command.

Starts ``temporal server start-dev`` (UI on http://localhost:8233, state in ./var/temporal.db), runs setup,
starts the worker and the integration gateway (http://127.0.0.1:8000, with demo tokens and webhook secrets),
and starts a demo cohort on a fast policy. Ctrl-C stops everything it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from temporalio.client import Client

from activities.keys import Keyring, ensure_keyring
from activities.records.migrate import upgrade
from activities.records.store import RecordStore
from contract.cohort import cohort_workflow_id
from gateway.store import GatewayStore
from workers.binaries import temporal_binary
from workers.codec import EncryptionCodec
from workers.codec_server import TOKEN_ENV, any_of, create_app, ensure_token, gateway_tokens, static_token
from workers.codec_server import server as codec_http_server
from workers.demo import run_demo, seed
from workers.errors import CommandError
from workers.logging import configure
from workers.partnerships import Partnerships
from workers.rendering import local, localize
from workers.settings import Settings
from workers.setup import register_search_attributes
from workers.temporal import connect, default_data_keys
from workers.worker import build_worker, operations
from workflows.cohort import CohortWorkflow

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


async def start_dev_server(
    var: Path, port: int, ui_port: int, codec_endpoint: str | None = None
) -> asyncio.subprocess.Process | None:
    """Start the dev server unless one already listens on ``port``; None when reusing one."""
    if _listening("127.0.0.1", port):
        print(f"A Temporal server already listens on localhost:{port}; using it (its UI's codec endpoint as it was).")
        return None
    codec = ["--ui-codec-endpoint", codec_endpoint] if codec_endpoint else []
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
        *codec,
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


async def connect_when_ready(settings: Settings, attempts: int = 60) -> Client:
    """Connect once the frontend says it is healthy (a fresh dev server listens a moment before it is)."""
    for _ in range(attempts - 1):
        try:
            return await connect(settings)
        except RuntimeError as error:
            if "not healthy" not in str(error) and "Unavailable" not in str(error):
                raise
            await asyncio.sleep(0.5)
    return await connect(settings)
DEV_METRICS = "127.0.0.1:9464"
DEV_HEALTH = "127.0.0.1:9465"


def with_local_operations(settings: Settings) -> Settings:
    """``make run`` serves metrics and health on loopback unless configured otherwise (or the port is taken)."""
    update: dict[str, str | None] = {}
    for field, default in (("metrics_address", DEV_METRICS), ("health_address", DEV_HEALTH)):
        if getattr(settings, field) is None:
            host, _, port = default.rpartition(":")
            update[field] = None if _listening(host, int(port)) else default
    return settings.model_copy(update=update)


async def watch(partnerships: Partnerships, cohort_id: str, every: float = 2.0) -> None:
    """Print each demo partnership's progress as it changes: stage, attention, meetings."""
    seen: dict[str, tuple[object, ...]] = {}
    cohort = partnerships.client.get_workflow_handle_for(CohortWorkflow.run, cohort_workflow_id(cohort_id))
    while True:
        with contextlib.suppress(Exception):  # the cohort may not have started yet
            cohort_status = await cohort.query(CohortWorkflow.status)
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


def demo_ended(task: asyncio.Task[None]) -> None:
    """The demo driver is done: say so on the console if it failed (the traceback goes to the log), so a broken demo
    never looks like pairs that merely stopped meeting."""
    if task.cancelled() or task.exception() is None:
        return
    error = task.exception()
    log.error("demo driver failed", exc_info=error)
    print(f"The demo driver stopped: {type(error).__name__}: {error} (traceback in the log)", flush=True)


async def start_gateway(
    client: Client, settings: Settings, cohort_id: str, port: int
) -> tuple[asyncio.Task[None], Any] | None:
    """Serve the gateway on 127.0.0.1:``port`` with demo tokens and webhook secrets, and print them."""
    from gateway.app import check_settings
    from gateway.server import engine_for, server
    from gateway.webhooks import new_secret

    if _listening("127.0.0.1", port):
        print(f"Port {port} is taken: the gateway is not started (entrypoint dev --api-port N).")
        return None
    try:
        config = check_settings()
    except ValueError as error:
        raise CommandError(str(error)) from None
    secrets = {
        "esign": config.webhook_secrets("esign") or [new_secret()],
        "calendar": config.webhook_secrets("calendar") or [new_secret()],
    }
    config = config.model_copy(
        update={
            "esign_webhook_secrets": " ".join(secrets["esign"]),
            "calendar_webhook_secrets": " ".join(secrets["calendar"]),
        }
    )
    engines = engine_for(client, settings.task_queue, settings.database_url)
    engine = await engines.__aenter__()
    suffix = uuid.uuid4().hex[:4]
    demo_scopes = {
        "coordinator": ["coordinator"],
        "ops": ["ops:read"],
        "institution": ["institution:uni-helsinki"],
        "esign": ["esign"],
        "calendar": ["calendar"],
        "participant": [f"participant:partnership-{cohort_id}-demo-02"],
    }
    tokens = {
        role: await engine.store.create_token(f"{cohort_id}-{role}-{suffix}", scopes)
        for role, scopes in demo_scopes.items()
    }
    gateway = server(engine, "127.0.0.1", port, config)

    async def serve() -> None:
        try:
            await gateway.serve()
        finally:
            await engines.__aexit__(None, None, None)

    task = asyncio.create_task(serve())
    print(f"Gateway:            http://127.0.0.1:{port}/v1   (docs http://127.0.0.1:{port}/docs)")
    print("Demo tokens (Authorization: Bearer ...), made for this run:")
    for role, token in tokens.items():
        print(f"  {role:<12} {' '.join(demo_scopes[role]):<40} {token}")
    print(f"Webhook secrets:    esign {secrets['esign'][0]}  calendar {secrets['calendar'][0]}")
    print(f"  e.g. export EP_TOKEN={tokens['coordinator']}")
    print(
        f'       curl -H "Authorization: Bearer $EP_TOKEN" "http://127.0.0.1:{port}/v1/partnerships?cohort={cohort_id}"'
    )
    print(
        f"Calendar feed URL of the demo participant's partnership (once the demo has started it): curl -X POST "
        f'-H "Authorization: Bearer {tokens["participant"]}" -H "Idempotency-Key: $(date +%s%N)" '
        f"http://127.0.0.1:{port}/v1/partnerships/partnership-{cohort_id}-demo-02/calendar-feed"
    )
    return task, gateway


async def start_codec_server(
    keyring: Keyring, port: int, ui_port: int, database_url: str
) -> tuple[asyncio.Task[None], str]:
    """The codec server in this process, for the UI and `temporal --codec-endpoint`; (its task, its static token).
    It accepts the gateway's tokens with ops:read (from the records database) and the static dev token."""
    token = os.environ.get(TOKEN_ENV) or ensure_token(Path("var") / "codec-token")
    origins = [f"http://localhost:{ui_port}", f"http://127.0.0.1:{ui_port}"]
    tokens = GatewayStore.from_url(database_url)
    authorize = any_of(gateway_tokens(tokens), static_token(token))
    app = create_app(EncryptionCodec(keyring, default_data_keys(keyring)), authorize, origins)
    http = codec_http_server(app, "127.0.0.1", port, embedded=True)

    async def serve() -> None:
        try:
            await http.serve()
        finally:
            await tokens.close()

    task = asyncio.create_task(serve())
    for _ in range(100):
        if http.started or task.done():
            break
        await asyncio.sleep(0.05)
    if not http.started:
        raise CommandError(f"the codec server could not listen on 127.0.0.1:{port} (in use? try --codec-port)")
    return task, token


async def run_dev(
    settings: Settings, cohort_id: str, demo: bool, ui_port: int, api_port: int = 8000, codec_port: int = 8081
) -> int:
    var = Path("var")
    _, _, port_text = settings.temporal_address.rpartition(":")
    port = int(port_text or 7233)
    configure(settings.log_level, file=var / "entrypoint.log")
    keyring, created = ensure_keyring()
    print(f"Keyring: {keyring.source} ({'created' if created else 'current key ' + keyring.current}).")
    codec_task, codec_token = await start_codec_server(keyring, codec_port, ui_port, settings.database_url)
    codec_url = f"http://127.0.0.1:{codec_port}"
    print(
        f"Codec server:       {codec_url} (POST /decode, /encode; a gateway token with ops:read, "
        "or the dev token in ENTRYPOINT_CODEC_TOKEN or var/codec-token)"
    )
    settings = with_local_operations(settings)
    print("Starting the Temporal dev server ...", flush=True)
    server = await start_dev_server(var, port, ui_port, codec_url)
    store: RecordStore | None = None
    try:
        client = await connect_when_ready(settings)
        added = await register_search_attributes(client, settings.temporal_namespace)
        print(f"Search attributes: {'registered ' + ', '.join(added) if added else 'already registered'}.")
        await upgrade(settings.database_url)
        print(f"Records database: {settings.database_url} (migrated).")
        store = RecordStore.from_url(settings.database_url)
        worker = build_worker(client, settings.task_queue, store, mailer=None)
        services = operations(settings, client, store)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with services, worker:
            print(f"Worker running on task queue {settings.task_queue!r}.")
            gateway = await start_gateway(client, settings, cohort_id, api_port)
            demo_task = None
            if demo:
                await seed(store, cohort_id)
                demo_task = asyncio.create_task(run_demo(client, Partnerships(client, settings.task_queue), cohort_id))
                demo_task.add_done_callback(demo_ended)
                print(
                    f"\nDemo cohort {cohort_id!r} on a fast policy (a programme month is about 30 seconds): the "
                    "Cohort workflow matches six\napplicants in 10 s and kicks off with an orientation and subject "
                    "groups; one pair completes in about\nfour minutes, one lapses and is escalated, one mentor "
                    "never signs, one applicant waits for a match.\n"
                )
            print(f"Temporal UI:        http://localhost:{ui_port}/namespaces/{settings.temporal_namespace}/workflows")
            print(
                "                    payloads are encrypted; to read them (staff only), open the UI's Data Encoder "
                f"settings (top right)\n                    and set the endpoint to {codec_url}/t/<token> "
                "(kept in your browser only), with <token> a\n                    gateway token with ops:read "
                "(the demo's `ops` token above, or `.venv/bin/entrypoint tokens create NAME --scope ops:read`)"
                f"\n                    or the dev token: {codec_url}/t/{codec_token}"
            )
            print(
                f"Decoded history:    temporal workflow show -w partnership-{cohort_id}-demo-04 "
                f'--codec-endpoint {codec_url} --codec-auth "Bearer $(cat var/codec-token)"'
            )
            print(f"Worklist:           .venv/bin/entrypoint partnerships list --cohort {cohort_id} --attention")
            print(f"One partnership:    .venv/bin/entrypoint partnerships show partnership-{cohort_id}-demo-04")
            print(f"Cohort report:      .venv/bin/entrypoint cohort report {cohort_id}")
            print("Notifications:      .venv/bin/entrypoint outbox   (ENTRYPOINT_SMTP_URL unset: kept in the outbox)")
            print(f"Logs:               {var / 'entrypoint.log'} (JSON lines), {var / 'temporal-server.log'}")
            if settings.metrics_address:
                print(f"Metrics:            http://{settings.metrics_address}/metrics   (Prometheus text)")
            if settings.health_address:
                print(f"Health:             http://{settings.health_address}/readyz")
            print("Press Ctrl-C to stop everything.\n", flush=True)
            watcher = asyncio.create_task(watch(Partnerships(client, settings.task_queue), cohort_id)) if demo else None
            await stop.wait()
            if watcher is not None:
                watcher.cancel()
            print("\nStopping ...", flush=True)
            if gateway is not None:
                gateway[1].should_exit = True
                with contextlib.suppress(Exception):
                    await gateway[0]
            if demo_task is not None:
                demo_task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await demo_task
    finally:
        codec_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await codec_task
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
