"""``entrypoint records``: read and check the event logs and the read models built from them."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from workers.errors import CommandError
from workers.settings import settings

if TYPE_CHECKING:  # imported where used: every command's start-up (entrypoint matching run too) would pay
    from activities.records import RecordStore, StoredEvent

DESCRIPTION = (
    "Each partnership's event log is the truth; the read models (partnerships, meetings, diary entries, "
    "agreements, reviews, gatherings) are built from it. Reads ENTRYPOINT_DATABASE_URL."
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("records", help="inspect, verify and rebuild the records", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="records_command", metavar="SUBCOMMAND", required=True)

    show = commands.add_parser(
        "show",
        help="print a partnership's event log as JSON lines",
        description="Print the event log of one partnership, oldest first, one JSON object per line with "
        "version, type, occurred_at, recorded_at and data (the event, its free text opened: diary, notes, "
        "comments, topics and reasons are stored sealed under the partnership's data key, and read \"erased\" "
        "after erasure). Exit status 2 when the partnership has no events.",
    )
    show.add_argument("partnership_id", metavar="PARTNERSHIP_ID", help="the partnership (workflow) id")
    show.add_argument(
        "--sealed",
        action="store_true",
        help="print the data exactly as stored (free text as enc1: ciphertext), as the digests cover it",
    )
    show.set_defaults(handler=run_show)

    verify = commands.add_parser(
        "verify",
        help="check every read model against its event log",
        description="Fold every partnership's event log from the start and compare the result with the read "
        "models, the stored state and the event digests. Prints a summary and every disagreement. Exit status "
        "0 when all agree, 1 when something disagrees (repair it with `entrypoint records rebuild`).",
    )
    verify.set_defaults(handler=run_verify)

    rebuild = commands.add_parser(
        "rebuild",
        help="rebuild all read models from the event logs",
        description="Throw away and rebuild the read models of every partnership from its event log, in "
        "batches (one transaction each), with progress on stderr. The logs, people registry, institutions, "
        "cohorts and outbox are not touched. Safe while workers run.",
    )
    rebuild.add_argument("--batch-size", type=int, default=100, help="partnerships per transaction (default: 100)")
    rebuild.set_defaults(handler=run_rebuild)


@asynccontextmanager
async def open_store() -> AsyncIterator[RecordStore]:
    """The store at ENTRYPOINT_DATABASE_URL, after checking its schema is current."""
    from activities.records import RecordStore, migrate
    from activities.records.engine import display_url

    url = settings().database_url
    revision, newest = await migrate.current(url), migrate.head()
    if revision != newest:
        raise CommandError(
            f"the records database {display_url(url)} is at schema revision {revision or '(none)'}, "
            f"not {newest}: run `entrypoint db upgrade` first"
        )
    store = RecordStore.from_url(url)
    try:
        yield store
    finally:
        await store.close()


def _line(stored: StoredEvent) -> str:
    record = {
        "version": stored.version,
        "type": stored.type,
        "occurred_at": stored.occurred_at.isoformat(),
        "recorded_at": stored.recorded_at.isoformat(),
        "data": stored.data,
    }
    return json.dumps(record, ensure_ascii=False)


async def run_show(args: argparse.Namespace) -> int:
    async with open_store() as store:
        log = await store.read_log(args.partnership_id, sealed=args.sealed)
    if not log:
        raise CommandError(f"no events recorded for partnership {args.partnership_id}")
    for stored in log:
        print(_line(stored))
    return 0


async def run_verify(args: argparse.Namespace) -> int:
    async with open_store() as store:
        report = await store.verify()
    checked = f"checked {report.partnerships_checked} partnerships, {report.events_checked} events"
    if report.ok:
        print(f"{checked}: every read model agrees with its event log")
        return 0
    grouped = report.by_partnership()
    print(f"{checked}: {len(report.disagreements)} disagreements in {len(grouped)} partnerships")
    for partnership_id, problems in grouped.items():
        print(f"{partnership_id}:")
        for problem in problems:
            print(f"  - {problem}")
    print("repair the read models with `entrypoint records rebuild`")
    return 1


async def run_rebuild(args: argparse.Namespace) -> int:
    if args.batch_size < 1:
        raise CommandError("--batch-size must be at least 1")

    def progress(done: int, total: int) -> None:
        print(f"rebuilt {done}/{total} partnerships", file=sys.stderr, flush=True)

    async with open_store() as store:
        rebuilt = await store.rebuild(progress, batch_size=args.batch_size)
    print(f"rebuilt the read models of {rebuilt} partnerships from their event logs")
    return 0
