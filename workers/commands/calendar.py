"""``entrypoint calendar-feed create|show|revoke PARTNERSHIP_ID``: a partnership's ICS feed URL on the gateway."""

from __future__ import annotations

import argparse
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from workers.commands.common import records_database
from workers.errors import CommandError, Refused

DEFAULT_BASE = "http://127.0.0.1:8000"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    feed = subparsers.add_parser(
        "calendar-feed",
        help="a partnership's calendar (ICS) feed URL on the gateway: create, show, revoke",
        description="The pair subscribes to the feed URL in Google Calendar, Outlook or Apple Calendar: the next "
        "pair meeting due, their gatherings and the closing-review window, no names or e-mail addresses. The URL "
        "is the secret (shown once; only its SHA-256 is kept); the gateway serves it at /v1/calendar/<secret>.ics.",
    )
    sub = feed.add_subparsers(dest="feed_command", metavar="COMMAND", required=True)
    create = sub.add_parser(
        "create",
        help="make the partnership's feed URL and print it (revokes the one before)",
        description="Print a new feed URL for the partnership (shown this once); any earlier URL stops working.",
    )
    create.add_argument("partnership_id", metavar="PARTNERSHIP_ID")
    create.add_argument(
        "--base-url",
        help=f"the gateway's public URL; default ENTRYPOINT_API_PUBLIC_URL, else {DEFAULT_BASE}",
    )
    create.set_defaults(handler=_create)
    show = sub.add_parser("show", help="whether the partnership has an active feed URL, and since when (never it)")
    show.add_argument("partnership_id", metavar="PARTNERSHIP_ID")
    show.set_defaults(handler=_show)
    revoke = sub.add_parser("revoke", help="revoke the partnership's feed URL: it is 404 from now on")
    revoke.add_argument("partnership_id", metavar="PARTNERSHIP_ID")
    revoke.set_defaults(handler=_revoke)


@asynccontextmanager
async def _store() -> AsyncIterator[Any]:
    """The calendar store on a migrated records database, or a one-line error when it cannot be reached."""
    from gateway.calendar_store import CalendarStore

    async with records_database() as database:
        yield CalendarStore(database)


def _check_id(partnership_id: str) -> None:
    if not partnership_id or len(partnership_id) > 128 or not all(c.isalnum() or c in "_.:-" for c in partnership_id):
        raise CommandError(f"not a partnership id: {partnership_id[:40]!r} (letters, digits, '_', '.', ':', '-')")


async def _create(args: argparse.Namespace) -> int:
    _check_id(args.partnership_id)
    base = (args.base_url or os.environ.get("ENTRYPOINT_API_PUBLIC_URL") or DEFAULT_BASE).rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise CommandError(f"--base-url must start with http:// or https://, not {base[:40]!r}")
    async with _store() as store:
        if not await store.partnership_exists(args.partnership_id):
            raise Refused(f"no partnership {args.partnership_id} in the records")
        made = await store.create_feed(args.partnership_id, "cli")
    replaced = f"; {made.revoked} earlier URL revoked" if made.revoked else ""
    print(f"calendar feed for {args.partnership_id} (feed {made.feed.feed_id}{replaced}):")
    print(f"{base}/v1/calendar/{made.secret}.ics")
    print("Give it to the pair now: it is not shown again (`calendar-feed revoke` stops it).")
    return 0


async def _show(args: argparse.Namespace) -> int:
    _check_id(args.partnership_id)
    async with _store() as store:
        feed = await store.active_feed(args.partnership_id)
    if feed is None:
        raise Refused(f"partnership {args.partnership_id} has no active calendar feed")
    print(f"feed {feed.feed_id} active since {feed.created_at:%Y-%m-%d %H:%M} UTC, made by {feed.created_by}")
    return 0


async def _revoke(args: argparse.Namespace) -> int:
    _check_id(args.partnership_id)
    async with _store() as store:
        revoked = await store.revoke_feeds(args.partnership_id)
    if not revoked:
        raise Refused(f"partnership {args.partnership_id} has no active calendar feed")
    print(f"revoked the calendar feed of {args.partnership_id}: its URL is 404 from now on")
    return 0
