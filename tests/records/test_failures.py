"""Retry classification of the record-keeping activities (issue 15, findings 3 and 7), on SQLite and PostgreSQL:
a failure that will never succeed is raised non-retryable, with a message naming no input value; only
transient ones (the database out of reach, a lock, a timeout) are left for Temporal to retry."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import exc as sa
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import ActivityEnvironment

from activities.failures import describe, is_transient
from activities.models import RecordEvents
from activities.partnership import PartnershipActivities
from activities.records import PersonErased, RecordStore, VersionConflict
from domain.partnership import events as e
from domain.partnership.commands import GatheringKind
from tests.records.helpers import Pair, day

CANARY = "canary-nul-5e1f"


async def test_nul_in_an_event_never_wedges_record_events(store: RecordStore) -> None:
    """The domain refuses NUL (domain.limits); should an event carry one anyway in a field stored as it is (not
    sealed), PostgreSQL's refusal is permanent: raised non-retryable, the text nowhere in the message. SQLite
    stores it."""
    pair = Pair(store)
    await pair.start()
    nul = f"before\u0000{CANARY}"
    entry: e.Event = e.CommandRejected.model_construct(at=day(5), command=nul, reason="refused")  # JSON: stored
    if store.dialect == "postgresql":  # a VARCHAR column: refused
        entry = e.GatheringAttended.model_construct(at=day(5), gathering_id=nul, kind=GatheringKind.GROUP, hours=1.0)
    request = RecordEvents(partnership_id=pair.pid, expected_version=pair.state.version, events=[entry])
    activities = PartnershipActivities(store)
    if store.dialect == "postgresql":
        with pytest.raises(ApplicationError) as caught:
            await ActivityEnvironment().run(activities.record_events, request)
        assert caught.value.non_retryable and caught.value.type == "DataError"
        assert caught.value.message.startswith("the records database refused the data (DataError:")
        assert CANARY not in caught.value.message and caught.value.__cause__ is None
        assert len(await store.read_log(pair.pid)) == pair.state.version  # nothing half-written
    else:
        recorded = await ActivityEnvironment().run(activities.record_events, request)
        assert recorded.version == pair.state.version + 1


async def test_nul_in_sealed_free_text_reaches_no_database(store: RecordStore) -> None:
    """Diary text is sealed before it is stored: a NUL in it is inside the ciphertext, on both databases."""
    pair = Pair(store)
    await pair.start()
    entry = e.DiaryEntryAdded.model_construct(at=day(5), reflection=f"before\u0000{CANARY}", goals=(), actions=())
    request = RecordEvents(partnership_id=pair.pid, expected_version=pair.state.version, events=[entry])
    recorded = await ActivityEnvironment().run(PartnershipActivities(store).record_events, request)
    assert recorded.version == pair.state.version + 1
    last = (await store.read_log(pair.pid))[-1]
    assert isinstance(last.event, e.DiaryEntryAdded) and last.event.reflection == f"before\u0000{CANARY}"
    assert CANARY not in str((await store.read_log(pair.pid, sealed=True))[-1].data)


async def test_a_version_conflict_is_permanent(store: RecordStore) -> None:
    pair = Pair(store)
    await pair.start()
    entry = e.DiaryEntryAdded(at=day(5), reflection="late")
    request = RecordEvents(partnership_id=pair.pid, expected_version=0, events=[entry])
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(PartnershipActivities(store).record_events, request)
    assert caught.value.non_retryable and caught.value.type == "VersionConflict"
    assert "expected version 0" in caught.value.message


def test_only_transient_errors_are_retried() -> None:
    locked = sa.OperationalError("INSERT ...", {"x": CANARY}, sqlite3.OperationalError("database is locked"))
    assert is_transient(locked) and is_transient(ConnectionRefusedError()) and is_transient(TimeoutError())
    assert is_transient(RPCError("unavailable", RPCStatusCode.UNAVAILABLE, b""))
    constraint = sa.IntegrityError("INSERT ...", {"x": CANARY}, sqlite3.IntegrityError(f"UNIQUE {CANARY}"))
    for permanent in (
        constraint,
        sa.DataError("INSERT ...", {"x": CANARY}, ValueError(CANARY)),
        PersonErased("m-1"),
        VersionConflict("p-1", 0, 2, "ahead"),
        ValueError("bad"),
        KeyError("bug"),
        RPCError("not found", RPCStatusCode.NOT_FOUND, b""),
    ):
        assert not is_transient(permanent), permanent
    kind, message = describe(constraint)
    assert (kind, message) == (
        "IntegrityError",
        "the records database refused the data (IntegrityError: IntegrityError)",
    )
    assert CANARY not in describe(KeyError(CANARY))[1]
    assert len(describe(ValueError("x" * 100_000))[1]) == 1000  # never beyond Temporal's failure size limit
