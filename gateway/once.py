"""Once per key: the one mechanism behind the gateway's Idempotency-Key records and the calendar's event ids.

A request that must take effect at most once claims its key in a table first (:class:`OnceTable`), in one
write transaction: the row is selected for update, then

- another request used the key (its "same request" column differs): ``mismatch``;
- the first request was answered: ``replay``, with the stored answer;
- the first request is still running (its lock has not run out): ``in_flight``;
- the first request's gateway died mid-request (its lock ran out): taken over, ``new``;
- no row: one is inserted ``in_flight``, ``new``. Two requests inserting the same key at once: the loser
  retries the transaction (and finds the winner's row).

Then the request runs, and its answer is stored (``complete``: the row is ``done``) or the claim is given up
(``release``: the in-flight row is deleted, so a retry runs again). :func:`answer_once` is that outcome
handling for an HTTP endpoint. A table may give its rows an expiry (deleted before each claim) and keep the
answer's headers; a store may seal the stored bodies.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

from sqlalchemy import Table, and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement
from starlette.responses import Response

from activities.records.engine import Database
from gateway.problems import ProblemError

REPLAYED = "Idempotent-Replayed"
"""Header on a response replayed from a once-per-key record."""
STORED_HEADERS = ("content-type", "location")
"""The headers of an answer that are kept with it (where the table keeps headers)."""
CLAIM_ATTEMPTS = 3
"""How many times a claim is tried when another request inserts the same key between select and insert."""

Key = tuple[str, ...]


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    headers: dict[str, str]
    body: str


@dataclass(frozen=True)
class Claim:
    """What claiming a key found: ``new`` (go ahead), ``replay`` (the stored first response), ``mismatch`` (the
    key was used with another request), ``in_flight`` (the first is still running)."""

    outcome: Literal["new", "replay", "mismatch", "in_flight"]
    response: StoredResponse | None = None


def _plain(_key: Key, body: str) -> str:
    return body


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class OnceTable:
    """Once-per-key records in ``table``: the row of a key (the values of the ``keys`` columns) holds the
    ``same`` column (what makes a retry the same request), ``state`` (``in_flight`` / ``done``), ``created_at``,
    ``locked_until``, and once done ``status_code`` and ``body`` (and the ``headers`` column, when named).

    With ``expires`` named, a row lives until that column's time (``ttl`` after its claim) and expired rows are
    deleted before each claim; without it rows are kept for good. ``seal`` / ``unseal`` turn a body into what
    is stored and back (the key is theirs to bind it to)."""

    table: Table
    keys: tuple[str, ...]
    same: str
    lock: timedelta
    expires: str | None = None
    headers: str | None = None
    seal: Callable[[Key, str], str] = _plain
    unseal: Callable[[Key, str], str] = _plain

    def _where(self, key: Key) -> ColumnElement[bool]:
        if len(key) != len(self.keys):
            raise ValueError(f"a key of {self.table.name} has {len(self.keys)} parts, not {len(key)}")
        return and_(*(self.table.c[name] == value for name, value in zip(self.keys, key, strict=True)))

    async def claim(
        self, database: Database, key: Key, same: str, *, ttl: timedelta | None = None, lock: timedelta | None = None
    ) -> Claim:
        """Claim ``key`` for a request whose ``same`` column is ``same``, in one write transaction (``ttl``: how
        long the record lives, for a table with ``expires``; ``lock``: how long it stays in flight)."""
        if (ttl is None) != (self.expires is None):
            raise ValueError(f"{self.table.name}: give a ttl exactly when its records expire")
        now = _now()
        until = now + (self.lock if lock is None else lock)
        c = self.table.c
        where = self._where(key)

        async def work(connection: AsyncConnection) -> Claim:
            if self.expires is not None:
                await connection.execute(delete(self.table).where(c[self.expires] < now))
            row = (await connection.execute(select(self.table).where(where).with_for_update())).first()
            if row is not None:
                if row._mapping[self.same] != same:
                    return Claim("mismatch")
                if row.state == "done":
                    headers: Mapping[str, str] = (row._mapping[self.headers] if self.headers else None) or {}
                    body = self.unseal(key, row.body or "")
                    return Claim("replay", StoredResponse(row.status_code, dict(headers), body))
                if row.locked_until > now:
                    return Claim("in_flight")
                await connection.execute(update(self.table).where(where).values(locked_until=until))
                return Claim("new")
            values: dict[str, Any] = dict(zip(self.keys, key, strict=True))
            values.update({self.same: same, "state": "in_flight", "created_at": now, "locked_until": until})
            if self.expires is not None and ttl is not None:
                values[self.expires] = now + ttl
            await connection.execute(insert(self.table).values(**values))
            return Claim("new")

        for _ in range(CLAIM_ATTEMPTS):
            try:
                return await database.write(work)
            except IntegrityError:  # another request inserted the same key between our select and insert
                continue
        return Claim("in_flight")

    async def complete(self, database: Database, key: Key, response: StoredResponse) -> None:
        """Keep the answer to the claimed ``key``: a retry replays it."""
        values: dict[str, Any] = {
            "state": "done",
            "status_code": response.status_code,
            "body": self.seal(key, response.body),
        }
        if self.headers is not None:
            values[self.headers] = response.headers
        where = self._where(key)

        async def work(connection: AsyncConnection) -> None:
            await connection.execute(update(self.table).where(where).values(**values))

        await database.write(work)

    async def release(self, database: Database, key: Key) -> None:
        """Forget an in-flight ``key`` (no answer worth keeping): a retry runs again. A done record stays."""
        where = and_(self._where(key), self.table.c.state == "in_flight")

        async def work(connection: AsyncConnection) -> None:
            await connection.execute(delete(self.table).where(where))

        await database.write(work)


class Claimed(Protocol):
    """What a store's claim found (:class:`Claim`, or a store's own view of it)."""

    @property
    def outcome(self) -> str: ...

    @property
    def response(self) -> StoredResponse | None: ...


async def answer_once(
    claim: Claimed,
    run: Callable[[], Awaitable[Response]],
    *,
    release: Callable[[], Awaitable[None]],
    complete: Callable[[StoredResponse], Awaitable[None]],
    refusals: Mapping[str, Callable[[], ProblemError]],
    keep_problems: bool = True,
    keep: Callable[[Response], Response] | None = None,
) -> Response:
    """The answer of an endpoint that runs once per key, given what claiming the key found.

    An outcome named in ``refusals`` raises the problem it makes (a key used for another request, one still in flight).
    A replay is the stored response with ``Idempotent-Replayed: true``. A new claim runs ``run``: an exception,
    or a 5xx answer, releases the key (a retry runs again); a problem it raises is the answer (kept, like any
    other answer) when ``keep_problems``, else it releases the key too and is raised. The answer is kept as
    ``keep`` makes it from the response, when given (a response with a secret is kept without it), with its
    ``STORED_HEADERS``.
    """
    if claim.outcome in refusals:
        raise refusals[claim.outcome]()
    if claim.outcome == "replay":
        stored = claim.response
        assert stored is not None  # a replay always carries the stored response
        return Response(stored.body, stored.status_code, headers={**stored.headers, REPLAYED: "true"})
    try:
        try:
            response = await run()
        except ProblemError as error:
            if not keep_problems:
                raise
            response = error.response()
    except BaseException:
        await release()
        raise
    if response.status_code >= 500:
        await release()
        return response
    kept = response if keep is None else keep(response)
    headers = {k: v for k, v in kept.headers.items() if k.lower() in STORED_HEADERS}
    await complete(StoredResponse(kept.status_code, headers, bytes(kept.body).decode()))
    return response


__all__ = ["REPLAYED", "STORED_HEADERS", "Claim", "Claimed", "OnceTable", "StoredResponse", "answer_once"]
