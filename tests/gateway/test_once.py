"""The one "once per key" mechanism (gateway/once.py) under both its stores, on SQLite and PostgreSQL: the
calendar's event ids (kept for good, "elsewhere" for another partnership) and what ``answer_once`` keeps,
releases and refuses. The Idempotency-Key store's own cases are in test_idempotency.py."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import JSONResponse, Response

from activities.records.engine import Database, create_engine
from activities.records.schema import calendar_events
from gateway.calendar_store import CalendarStore, EventClaim
from gateway.once import REPLAYED, Claim, StoredResponse, answer_once
from gateway.problems import ProblemError


async def _rows(database: Database, event_id: str) -> int:
    async def work(connection: AsyncConnection) -> int:
        query = select(func.count()).select_from(calendar_events).where(calendar_events.c.event_id == event_id)
        return int(await connection.scalar(query) or 0)

    return await database.read(work)


async def test_an_event_id_is_claimed_once_for_one_partnership_and_kept_for_good(database_url: str) -> None:
    database = Database(create_engine(database_url))
    try:
        store = CalendarStore(database)
        event = f"evt_{uuid.uuid4().hex}"
        assert await store.claim_event("calendar", event, "p-1") == EventClaim("new")
        assert await store.claim_event("calendar", event, "p-1") == EventClaim("in_flight")
        assert await store.claim_event("calendar", event, "p-2") == EventClaim("elsewhere")
        assert await store.claim_event("other-provider", event, "p-2") == EventClaim("new")  # its own namespace

        await store.complete_event("calendar", event, 200, '{"meetings_held":1}')
        await store.release_event("calendar", event)  # a done record is not released
        replay = await store.claim_event("calendar", event, "p-1")
        assert replay == EventClaim("replay", 200, '{"meetings_held":1}')
        assert replay.response == StoredResponse(200, {"content-type": "application/json"}, '{"meetings_held":1}')
        assert await store.claim_event("calendar", event, "p-2") == EventClaim("elsewhere")

        async def age(connection: AsyncConnection) -> None:  # no expiry: a year on, still the first answer
            old = datetime.now(UTC) - timedelta(days=365)
            await connection.execute(
                update(calendar_events).where(calendar_events.c.event_id == event).values(created_at=old)
            )

        await database.write(age)
        assert (await store.claim_event("calendar", event, "p-1")).outcome == "replay"

        crashed = f"evt_{uuid.uuid4().hex}"
        assert (await store.claim_event("calendar", crashed, "p-1")).outcome == "new"
        await store.release_event("calendar", crashed)
        assert await _rows(database, crashed) == 0
        assert (await store.claim_event("calendar", crashed, "p-1")).outcome == "new"

        raced = f"evt_{uuid.uuid4().hex}"
        outcomes = await asyncio.gather(*(store.claim_event("calendar", raced, "p-1") for _ in range(6)))
        assert sorted(o.outcome for o in outcomes) == ["in_flight"] * 5 + ["new"]
        assert await _rows(database, raced) == 1
    finally:
        await database.close()


class Recorder:
    """What ``answer_once`` asked the store to do."""

    def __init__(self) -> None:
        self.released = 0
        self.completed: list[StoredResponse] = []

    async def release(self) -> None:
        self.released += 1

    async def complete(self, answer: StoredResponse) -> None:
        self.completed.append(answer)


REFUSALS = {"mismatch": lambda: ProblemError(422, "used for another request", "reused")}


async def test_answer_once_keeps_the_answer_or_releases_the_key() -> None:
    kept = Recorder()
    answer = await answer_once(
        Claim("new"),
        lambda: _json({"ok": True}, 201, {"Location": "/v1/x/1", "X-Other": "no"}),
        release=kept.release,
        complete=kept.complete,
        refusals=REFUSALS,
    )
    assert answer.status_code == 201 and kept.released == 0
    assert kept.completed == [
        StoredResponse(201, {"content-type": "application/json", "location": "/v1/x/1"}, '{"ok":true}')
    ]

    refused = Recorder()  # a refusal is an answer like any other (the Idempotency-Key records) ...
    answer = await answer_once(
        Claim("new"), _refuse, release=refused.release, complete=refused.complete, refusals=REFUSALS
    )
    assert answer.status_code == 409 and refused.released == 0 and refused.completed[0].status_code == 409

    again = Recorder()  # ... or gives the key up, to run again later (the calendar's event ids)
    with pytest.raises(ProblemError) as error:
        await answer_once(
            Claim("new"),
            _refuse,
            release=again.release,
            complete=again.complete,
            refusals=REFUSALS,
            keep_problems=False,
        )
    assert error.value.status == 409 and again.released == 1 and again.completed == []

    failed = Recorder()  # an unavailable engine (5xx) and a crash release the key
    answer = await answer_once(
        Claim("new"), lambda: _json({}, 503), release=failed.release, complete=failed.complete, refusals=REFUSALS
    )
    assert answer.status_code == 503
    with pytest.raises(RuntimeError):
        await answer_once(Claim("new"), _crash, release=failed.release, complete=failed.complete, refusals=REFUSALS)
    assert failed.released == 2 and failed.completed == []

    secret = Recorder()  # what is kept is what ``keep`` makes of the answer
    answer = await answer_once(
        Claim("new"),
        lambda: _json({"url": "secret"}, 201),
        release=secret.release,
        complete=secret.complete,
        refusals=REFUSALS,
        keep=lambda _: JSONResponse({"url": None}, 201),
    )
    assert b"secret" in bytes(answer.body) and secret.completed[0].body == '{"url":null}'


async def test_answer_once_replays_or_refuses_without_running() -> None:
    untouched = Recorder()
    stored = StoredResponse(201, {"content-type": "application/json", "location": "/v1/x/1"}, '{"ok":true}')
    replay = await answer_once(
        Claim("replay", stored), _crash, release=untouched.release, complete=untouched.complete, refusals=REFUSALS
    )
    assert (replay.status_code, bytes(replay.body), replay.headers[REPLAYED]) == (201, b'{"ok":true}', "true")
    assert replay.headers["location"] == "/v1/x/1"
    with pytest.raises(ProblemError) as error:
        await answer_once(
            Claim("mismatch"), _crash, release=untouched.release, complete=untouched.complete, refusals=REFUSALS
        )
    assert (error.value.status, error.value.kind) == (422, "reused")
    assert untouched.released == 0 and untouched.completed == []


async def _json(body: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(body, status, headers)


async def _refuse() -> Response:
    raise ProblemError(409, "the stage refuses it", "rejected")


async def _crash() -> Response:
    raise RuntimeError("the gateway died")
