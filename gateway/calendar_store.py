"""The calendar's records (migration 0011): the partnerships' ICS feed URLs and the provider's event ids.

A feed URL carries a 256-bit random secret; only its SHA-256 is stored, so the database cannot give a URL
back (a lost URL is replaced by a new one). Each partnership has at most one active feed: creating one
revokes the one before. A provider's event id that logged a meeting is kept for good, with the answer it got.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from activities.records.engine import Database
from activities.records.schema import calendar_events, calendar_feeds, gathering_events, partnerships
from gateway.once import OnceTable, StoredResponse

FEED_PREFIX = "ecf_"
"""Feed secrets read ``ecf_<43 URL-safe characters>``: recognisable in a leak report, never a bearer token."""
EVENT_LOCK = timedelta(minutes=5)
"""How long a claimed event id stays in flight (409 to a second delivery) if its gateway died mid-request."""
EVENTS = OnceTable(calendar_events, keys=("provider", "event_id"), same="partnership_id", lock=EVENT_LOCK)
"""The provider's event ids: once per (provider, event id), for good (no expiry), for one partnership."""


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Feed:
    """One feed URL's record (never its secret)."""

    feed_id: str
    partnership_id: str
    created_by: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class NewFeed:
    feed: Feed
    secret: str
    """The secret for the URL: shown once, here."""
    revoked: int
    """How many earlier feeds of the partnership this one replaced."""


@dataclass(frozen=True)
class EventClaim:
    """What claiming a provider's event id found: ``new`` (log it), ``replay`` (logged already: the first
    answer), ``elsewhere`` (reported before for another partnership), ``in_flight`` (being logged now)."""

    outcome: Literal["new", "replay", "elsewhere", "in_flight"]
    status_code: int | None = None
    body: str | None = None

    @property
    def response(self) -> StoredResponse | None:
        """The first answer, for a replay (always JSON: a partnership's status)."""
        if self.outcome != "replay":
            return None
        return StoredResponse(self.status_code or 200, {"content-type": "application/json"}, self.body or "")


@dataclass(frozen=True)
class FeedSource:
    """What a feed is made of, from the records: the partnership's row and state, and its cohort's gatherings'
    events (each gathering's events in order)."""

    partnership: dict[str, Any]
    state: dict[str, Any]
    gatherings: dict[str, list[dict[str, Any]]]


def _feed(row: Any) -> Feed:
    return Feed(row.feed_id, row.partnership_id, row.created_by, row.created_at, row.revoked_at)


class CalendarStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    # ------------------------------------------------------------------------------------------------ feeds

    async def partnership_exists(self, partnership_id: str) -> bool:
        async def work(connection: AsyncConnection) -> bool:
            found = await connection.execute(select(partnerships.c.id).where(partnerships.c.id == partnership_id))
            return found.first() is not None

        return await self._db.read(work)

    async def create_feed(self, partnership_id: str, created_by: str) -> NewFeed:
        """A new feed for the partnership, revoking any earlier one (one active feed per partnership)."""
        secret = FEED_PREFIX + secrets.token_urlsafe(32)
        feed_id = secrets.token_hex(8)
        now = _now()
        f = calendar_feeds.c

        async def work(connection: AsyncConnection) -> int:
            revoked = await connection.execute(
                update(calendar_feeds)
                .where(f.partnership_id == partnership_id, f.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            await connection.execute(
                insert(calendar_feeds).values(
                    feed_id=feed_id,
                    partnership_id=partnership_id,
                    secret_sha256=_digest(secret),
                    created_by=created_by[:64],
                    created_at=now,
                )
            )
            return int(revoked.rowcount or 0)

        revoked = await self._db.write(work)
        return NewFeed(Feed(feed_id, partnership_id, created_by[:64], now, None), secret, revoked)

    async def active_feed(self, partnership_id: str) -> Feed | None:
        f = calendar_feeds.c

        async def work(connection: AsyncConnection) -> Any:
            query = select(calendar_feeds).where(f.partnership_id == partnership_id, f.revoked_at.is_(None))
            return (await connection.execute(query.order_by(f.created_at.desc()))).first()

        row = await self._db.read(work)
        return None if row is None else _feed(row)

    async def revoke_feeds(self, partnership_id: str) -> int:
        """Revoke the partnership's active feed; how many were revoked (0: there was none)."""
        f = calendar_feeds.c

        async def work(connection: AsyncConnection) -> int:
            result = await connection.execute(
                update(calendar_feeds)
                .where(f.partnership_id == partnership_id, f.revoked_at.is_(None))
                .values(revoked_at=_now())
            )
            return int(result.rowcount or 0)

        return await self._db.write(work)

    async def feed_for(self, secret: str) -> Feed | None:
        """The active feed whose URL carries ``secret``; None when it is malformed, unknown or revoked."""
        if not secret.startswith(FEED_PREFIX) or len(secret) > 100:
            return None
        digest = _digest(secret)

        async def work(connection: AsyncConnection) -> Any:
            query = select(calendar_feeds).where(calendar_feeds.c.secret_sha256 == digest)
            return (await connection.execute(query)).first()

        row = await self._db.read(work)
        if row is None or row.revoked_at is not None:
            return None
        return _feed(row)

    async def source(self, partnership_id: str) -> FeedSource | None:
        """The partnership's row and state and its cohort's gatherings, in one snapshot; None when unknown."""
        p = partnerships.c
        g = gathering_events.c

        async def work(connection: AsyncConnection) -> FeedSource | None:
            row = (await connection.execute(select(partnerships).where(p.id == partnership_id))).first()
            if row is None:
                return None
            gatherings: dict[str, list[dict[str, Any]]] = {}
            if row.cohort_id is not None:
                query = select(g.gathering_key, g.data).where(g.cohort_id == row.cohort_id)
                rows = await connection.execute(query.order_by(g.gathering_key, g.version))
                for key, data in rows:
                    gatherings.setdefault(key, []).append(data)
            plain = {k: v for k, v in row._mapping.items() if k != "state"}
            return FeedSource(partnership=plain, state=dict(row.state or {}), gatherings=gatherings)

        return await self._db.snapshot(work)

    # ------------------------------------------------------------------------------------------- event ids

    async def claim_event(self, provider: str, event_id: str, partnership_id: str) -> EventClaim:
        """Claim a provider's event id for logging a meeting on ``partnership_id``, in one write transaction."""
        claim = await EVENTS.claim(self._db, (provider, event_id), partnership_id)
        stored = claim.response
        if stored is not None:
            return EventClaim("replay", stored.status_code, stored.body)
        return EventClaim("elsewhere" if claim.outcome == "mismatch" else claim.outcome)

    async def complete_event(self, provider: str, event_id: str, status_code: int, body: str) -> None:
        await EVENTS.complete(self._db, (provider, event_id), StoredResponse(status_code, {}, body))

    async def release_event(self, provider: str, event_id: str) -> None:
        """Forget an in-flight event id (nothing was logged: refused, unknown, failed): a later report runs again."""
        await EVENTS.release(self._db, (provider, event_id))
