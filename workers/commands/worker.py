"""``entrypoint worker`` and ``entrypoint setup``."""

from __future__ import annotations

import argparse

from workers.settings import settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    worker = subparsers.add_parser(
        "worker",
        help="run the worker (Partnership workflow, record-keeping and notification activities)",
        description="Run the worker on ENTRYPOINT_TASK_QUEUE (default entrypoint) against TEMPORAL_ADDRESS "
        "(default localhost:7233) and TEMPORAL_NAMESPACE (default default). Ctrl-C stops it.",
    )
    worker.set_defaults(handler=_worker)
    setup = subparsers.add_parser(
        "setup",
        help="create the keyring, register the search attributes and migrate the records database (safe twice)",
        description="Create the payload-encryption keyring when there is none (var/keyring.json), register "
        "EntryPoint's custom search attributes in the Temporal namespace and apply the records database migrations.",
    )
    setup.set_defaults(handler=_setup)
    register_dev(subparsers)


async def _worker(args: argparse.Namespace) -> int:
    from workers.worker import run_worker

    await run_worker(settings())
    return 0


async def _setup(args: argparse.Namespace) -> int:
    from activities.keys import ensure_keyring
    from activities.records.migrate import upgrade
    from workers.setup import register_search_attributes
    from workers.temporal import connect

    config = settings()
    keyring, created = ensure_keyring()
    print(f"keyring: {'created ' + keyring.source if created else keyring.source}")
    client = await connect(config)
    added = await register_search_attributes(client, config.temporal_namespace)
    print(f"search attributes: {'added ' + ', '.join(added) if added else 'all registered already'}")
    await upgrade(config.database_url)
    print("records database: migrated to the latest revision")
    if config.data_keys_url and config.data_keys_url != config.database_url:
        await upgrade(config.data_keys_url)
        print("data-key database (ENTRYPOINT_DATA_KEYS_URL): schema up to date")
    return 0


def register_dev(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    dev = subparsers.add_parser(
        "dev",
        help="local installation in one command: dev server, setup, worker and a demo cohort (make run)",
        description="Start `temporal server start-dev` (UI on http://localhost:8233, state in ./var/), migrate, "
        "run the worker and start a demo cohort on a fast policy. Ctrl-C stops everything it started.",
    )
    dev.add_argument(
        "--cohort", help="the demo cohort's id (default: demo-HHMM, new on every run, so reruns start afresh)"
    )
    dev.add_argument("--no-demo", action="store_true", help="do not start the demo cohort")
    dev.add_argument("--ui-port", type=int, default=8233, help="the Temporal UI's port (default: 8233)")
    dev.add_argument("--api-port", type=int, default=8000, help="the integration gateway's port (default: 8000)")
    dev.add_argument("--codec-port", type=int, default=8081, help="the codec server's port (default: 8081)")
    dev.set_defaults(handler=_dev)


async def _dev(args: argparse.Namespace) -> int:
    from datetime import datetime

    from workers.dev import run_dev

    cohort = args.cohort or f"demo-{datetime.now():%H%M}"
    return await run_dev(settings(), cohort, not args.no_demo, args.ui_port, args.api_port, args.codec_port)
