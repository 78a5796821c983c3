"""Claims on outbox messages, so that no message is ever sent twice by two deliveries at once.

A delivery *claims* a pending message before sending it: one atomic upsert into ``outbox_claims``
that succeeds only if nobody holds a live claim on it, followed (in the same transaction) by a look
at the message's status, so a message another delivery has just sent is never claimed. A claim
carries a random token and expires after a lease: if a worker dies between claim and send, the
message is retaken once the lease has run out. A delivery that fails releases its claim at once.

The table is this module's own (the outbox schema allows only pending, sent and undeliverable),
created on first use on the records database. It holds ids and times only.

Also here: the journal of sends not yet confirmed (``accepted_unconfirmed``). When the mail server accepted a
message but marking it sent failed (the records database went away just then), the claim is kept, but it
lapses at the end of the attempt; the delivery that claims the message next, in the same worker process,
finds it in the journal and marks it sent with the Message-ID it went out with, instead of sending it again.
The journal lives in the worker's memory: a message is sent twice only when the worker itself is lost (or
another worker retakes the message) between the server's acceptance and the mark-sent, the documented
at-least-once edge of SMTP (same Message-ID, so a receiver can drop the copy).

Also here: the small read-only queries delivery needs that the records store does not offer
(how many messages are pending; why a person has no usable contact).
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, func, inspect, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from activities.records import schema as records
from activities.records.engine import Database
from activities.records.models import OutboxStatus
from activities.records.sqltypes import UTCDateTime

DEFAULT_LEASE = timedelta(minutes=2)
"""How long a claim holds. It must outlast any one send: an SMTP send is cut off after 80 s by default
(``SmtpMailer.max_send_seconds``), and ``deliver_pending`` lengthens the lease for a slower mailer."""
RELEASED = datetime(1970, 1, 1, tzinfo=UTC)

metadata = MetaData(naming_convention=records.NAMING_CONVENTION)

outbox_claims = Table(
    "outbox_claims",
    metadata,
    Column("idempotency_key", String(records.PID + 40), primary_key=True),
    Column("token", String(32), nullable=False),
    Column("claimed_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    # How many times the message has been claimed (first delivery, retries, stale claims retaken).
    Column("claims", Integer, nullable=False),
)


@dataclass(frozen=True)
class Claim:
    key: str
    token: str
    claims: int
    """1 on the first claim; more means an earlier delivery failed or was interrupted."""


def now() -> datetime:
    return datetime.now(UTC)


_accepted_unconfirmed: dict[str, str] = {}
"""idempotency key -> Message-ID of messages the mail server accepted whose mark-sent has not succeeded yet."""


def accepted(key: str, message_id: str) -> None:
    """The mail server accepted ``key`` (before it is marked sent): journal it until :func:`confirmed`."""
    _accepted_unconfirmed[key] = message_id


def confirmed(key: str) -> None:
    """``key`` is marked sent in the records: nothing to remember any more."""
    _accepted_unconfirmed.pop(key, None)


def accepted_unconfirmed(key: str) -> str | None:
    """The Message-ID ``key`` went out with, if this process sent it but could not yet mark it sent."""
    return _accepted_unconfirmed.get(key)


RESEND_WINDOW = 10.0
"""Seconds between a copy's acceptance by the mail server and the fault that lost its mark-sent, at most, for a
second copy to be the documented edge (a mark-sent is a single short write right after the acceptance)."""


def resent_unconfirmed(
    first: float,
    again: float,
    again_wall: datetime,
    claims: int | None,
    sent_at: datetime | None,
    losses: Iterable[tuple[float, float]],
    window: float = RESEND_WINDOW,
) -> bool:
    """Whether a second copy of one message (same Message-ID) is the documented at-least-once edge of SMTP and
    not a double: the mail server accepted the first copy, then the worker or the records database was lost
    before the message could be marked sent, so a later delivery sent it again. The one rule the drill
    (``bench/drill.py``) and the tests that kill workers judge by; all three must hold:

    - the records say so: the message was claimed again after its first claim (``claims`` >= 2, from
      :meth:`Claims.claim_counts`) and was marked sent only when the second copy had gone out (``sent_at``, the
      outbox row's, not before ``again_wall`` less 2 s of clock skew): the first send was never confirmed;
    - a fault explains it: one of ``losses`` (``(start, end)`` on the clock of ``first`` and ``again``, e.g.
      ``time.monotonic()``; a worker SIGKILL is ``(t, t)``, a database outage its span) began at most
      ``window`` seconds after the first copy was accepted, had not ended before it, and began before the
      second copy.
    """
    if claims is None or claims < 2 or sent_at is None or sent_at < again_wall - timedelta(seconds=2):
        return False
    return any(start - first < window and first <= end and start <= again for start, end in losses)


_ready: weakref.WeakSet[AsyncEngine] = weakref.WeakSet()
_ready_lock = asyncio.Lock()


async def ensure_table(engine: AsyncEngine, *, again: bool = False) -> None:
    """Create ``outbox_claims`` if it is not there yet (once per engine; safe when racing another process)."""
    if engine in _ready and not again:
        return
    async with _ready_lock:
        if engine in _ready and not again:
            return
        try:
            async with engine.begin() as connection:
                await connection.run_sync(metadata.create_all, checkfirst=True)
        except DBAPIError:
            # Another process created it between our check and our CREATE: fine if it is there now.
            async with engine.connect() as connection:
                exists = await connection.run_sync(lambda sync: inspect(sync).has_table(outbox_claims.name))
            if not exists:
                raise
        _ready.add(engine)


def _insert(connection: AsyncConnection) -> Any:
    return (pg_insert if connection.dialect.name == "postgresql" else sqlite_insert)(outbox_claims)


class Claims:
    """Claim, release and count outbox messages on one records database."""

    def __init__(self, db: Database, lease: timedelta = DEFAULT_LEASE) -> None:
        if lease <= timedelta(0):
            raise ValueError("the claim lease must be positive")
        self.db = db
        self.lease = lease

    async def prepare(self) -> None:
        await ensure_table(self.db.engine)

    async def claim(self, key: str, expires_at: datetime | None = None) -> Claim | None:
        """Claim a pending message; None if it is no longer pending or someone else holds a live claim.

        The claim holds for the lease, or until ``expires_at`` if that is sooner (the end of the
        Temporal activity attempt that claims it: a retried attempt may then take it over at once).
        """
        await self.prepare()
        token = secrets.token_hex(16)

        async def work(connection: AsyncConnection) -> Claim | None:
            at = now()
            expires = at + self.lease if expires_at is None else min(at + self.lease, expires_at)
            c = outbox_claims.c
            statement = _insert(connection).values(
                idempotency_key=key, token=token, claimed_at=at, expires_at=expires, claims=1
            )
            statement = statement.on_conflict_do_update(
                index_elements=[c.idempotency_key],
                set_={
                    "token": statement.excluded.token,
                    "claimed_at": statement.excluded.claimed_at,
                    "expires_at": statement.excluded.expires_at,
                    "claims": c.claims + 1,
                },
                where=c.expires_at < at,
            ).returning(c.claims)
            claims = (await connection.execute(statement)).scalar_one_or_none()
            if claims is None:
                return None  # a live claim: another delivery is sending it right now
            # Looked at only after the claim is ours: a delivery that sent the message marked it
            # sent before it could have given up its claim, so a sent message is never claimed.
            status = await connection.scalar(
                select(records.outbox.c.status).where(records.outbox.c.idempotency_key == key)
            )
            if status is None:  # not a partnership's notice: a gathering's?
                g = records.gathering_outbox.c
                status = await connection.scalar(select(g.status).where(g.idempotency_key == key))
            if status != OutboxStatus.PENDING.value:
                await connection.execute(
                    update(outbox_claims).where(c.idempotency_key == key).values(expires_at=RELEASED)
                )
                return None
            return Claim(key=key, token=token, claims=claims)

        try:
            return await self.db.write(work)
        except DBAPIError as error:
            if outbox_claims.name not in str(error.orig):
                raise
            await ensure_table(self.db.engine, again=True)  # the database was reset under this engine
            return await self.db.write(work)

    async def release(self, claim: Claim) -> None:
        """Give the claim up (after a failure), so the next delivery need not wait for the lease."""
        c = outbox_claims.c

        async def work(connection: AsyncConnection) -> None:
            await connection.execute(
                update(outbox_claims)
                .where(c.idempotency_key == claim.key, c.token == claim.token)
                .values(expires_at=RELEASED)
            )

        await self.db.write(work)

    async def holds(self, claim: Claim) -> bool:
        """Whether ``claim`` is still live (not released, expired or retaken)."""
        c = outbox_claims.c

        async def work(connection: AsyncConnection) -> bool:
            expires = await connection.scalar(
                select(c.expires_at).where(c.idempotency_key == claim.key, c.token == claim.token)
            )
            return expires is not None and expires > now()

        return await self.db.read(work)

    async def claim_counts(self, keys: Iterable[str]) -> dict[str, int]:
        """How many times each of ``keys`` was claimed for delivery (a message never claimed is left out)."""
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        await self.prepare()

        async def work(connection: AsyncConnection) -> dict[str, int]:
            c = outbox_claims.c
            rows = await connection.execute(select(c.idempotency_key, c.claims).where(c.idempotency_key.in_(wanted)))
            return {row.idempotency_key: int(row.claims) for row in rows}

        return await self.db.read(work)

    async def second_copies(
        self,
        received: Iterable[tuple[float, datetime, str]],
        sent: Mapping[str, tuple[str, datetime | None]],
        losses: Iterable[tuple[float, float]],
    ) -> tuple[list[str], list[str]]:
        """What a mail sink received more than once, judged by :func:`resent_unconfirmed`: the Message-IDs of the
        second (third ...) copies that are the documented edge, and of those that are doubles, one entry per
        copy. ``received``: (time on the clock of ``losses``, wall-clock time, Message-ID) per accepted message, in
        order; ``sent``: Message-ID → (idempotency key, ``sent_at``) of the outbox rows marked sent (a Message-ID
        not among them is not judged)."""
        copies: dict[str, list[tuple[float, datetime]]] = {}
        for at, wall, message_id in received:
            if message_id in sent:
                copies.setdefault(message_id, []).append((at, wall))
        claims = await self.claim_counts(sent[m][0] for m, times in copies.items() if len(times) > 1)
        faults = list(losses)
        resent: list[str] = []
        doubled: list[str] = []
        for message_id, times in copies.items():
            key, sent_at = sent[message_id]
            for (first, _), (again, again_wall) in itertools.pairwise(times):
                edge = resent_unconfirmed(first, again, again_wall, claims.get(key), sent_at, faults)
                (resent if edge else doubled).append(message_id)
        return resent, doubled

    async def pending_count(self, partnership_id: str | None = None) -> int:
        o = records.outbox.c
        query = select(func.count()).select_from(records.outbox).where(o.status == OutboxStatus.PENDING.value)
        if partnership_id is not None:
            query = query.where(o.partnership_id == partnership_id)

        async def work(connection: AsyncConnection) -> int:
            return int(await connection.scalar(query) or 0)

        return await self.db.read(work)

    async def contact_problem(self, person_id: str, role: str | None = None) -> str:
        """Why ``person_id`` (in ``role``) has no usable contact, in words that name the id only."""
        p = records.people.c

        async def work(connection: AsyncConnection) -> str:
            query = select(p.erased_at, p.name, p.email).where(p.person_id == person_id)
            if role is not None:
                query = query.where(p.role == role)
            row = (await connection.execute(query)).first()
            if row is None:
                return f"person {person_id} is not in the people registry"
            if row.erased_at is not None:
                return f"the contact data of person {person_id} has been erased"
            if not row.name:
                return f"person {person_id} has no name in the people registry"
            if not row.email:
                return f"person {person_id} has no e-mail address"
            return f"person {person_id} has no usable contact"

        return await self.db.read(work)
