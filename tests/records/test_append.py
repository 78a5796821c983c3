"""Appending events: the log, the read models, replays and version conflicts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from activities.records import RecordStore, VersionConflict
from activities.records import schema as s
from domain.partnership import Stage
from domain.partnership import commands as c
from domain.partnership.events import event_json
from tests.records.helpers import Pair, day


async def _count(store: RecordStore, table: s.Table, partnership_id: str) -> int:
    async with store.database.engine.connect() as connection:
        query = select(func.count()).select_from(table).where(table.c.partnership_id == partnership_id)
        return int(await connection.scalar(query) or 0)


async def _row(store: RecordStore, table: s.Table, partnership_id: str) -> dict[str, object]:
    column = table.c.id if table is s.partnerships else table.c.partnership_id
    async with store.database.engine.connect() as connection:
        return dict((await connection.execute(select(table).where(column == partnership_id))).one()._mapping)


async def test_a_whole_lifecycle_is_logged_and_projected(store: RecordStore) -> None:
    pair = Pair(store)
    await pair.live_through()

    log = await store.read_log(pair.pid)
    assert [stored.version for stored in log] == list(range(1, pair.state.version + 1))
    assert log[0].type == "application_submitted" and log[-1].type == "partnership_completed"
    assert all(stored.data == event_json(stored.event) for stored in log)
    assert log[0].occurred_at == day(0)
    assert all(abs(stored.recorded_at - datetime.now(UTC)) < timedelta(minutes=5) for stored in log)

    state = await store.load_state(pair.pid)
    assert state == pair.state
    assert state is not None and state.stage == Stage.COMPLETED

    row = await _row(store, s.partnerships, pair.pid)
    assert row["stage"] == "COMPLETED"
    assert (row["mentee_id"], row["mentor_id"], row["cohort_id"]) == (pair.mentee_id, pair.mentor_id, pair.cohort_id)
    assert row["institution_id"] == "uni-helsinki"
    assert (row["meetings_held"], row["diary_entries"], row["gatherings_attended"]) == (2, 1, 1)
    assert row["total_hours"] == pytest.approx(1.5 + 1 + 3)
    assert row["last_meeting_at"] == day(50)
    assert row["version"] == pair.state.version
    assert row["attention"] is None

    agreement = await _row(store, s.agreements, pair.pid)
    assert agreement["mentor_id"] == pair.mentor_id
    assert (agreement["mentee_signed_at"], agreement["mentor_signed_at"], agreement["starts_on"]) == (
        day(3),
        day(4),
        day(4),
    )
    assert agreement["meeting_cadence_seconds"] == timedelta(days=30).total_seconds()

    meetings = await _rows(store, s.meetings, pair.pid)
    assert all(str(topic).startswith("enc1:") for m in meetings for topic in m["topics"])  # sealed at rest
    sealer = await store.sealer(pair.pid)
    assert {m["held_on"]: (m["minutes"], sealer.open_json(m["topics"])) for m in meetings} == {
        day(10): (90, ["cv"]),
        day(50): (60, ["interviews"]),
    }
    assert await _count(store, s.diary_entries, pair.pid) == 1
    assert await _count(store, s.gatherings_attended, pair.pid) == 1
    assert await _count(store, s.reviews, pair.pid) == 2
    review = {r["party"]: r for r in await _rows(store, s.reviews, pair.pid)}
    assert review["mentee"]["outcome"] == "further_studies" and review["mentor"]["comments"] != "a pleasure"
    assert sealer.open(review["mentor"]["comments"]) == "a pleasure"


async def _rows(store: RecordStore, table: s.Table, partnership_id: str) -> list[dict[str, object]]:
    async with store.database.engine.connect() as connection:
        result = await connection.execute(select(table).where(table.c.partnership_id == partnership_id))
        return [dict(row._mapping) for row in result]


async def test_a_multi_event_append_gets_consecutive_versions(store: RecordStore) -> None:
    pair = Pair(store)
    await pair.start()
    result = pair.results[-1]  # the mentor's signature: signed + started
    assert result.version == pair.state.version == 6
    assert [stored.type for stored in (await store.read_log(pair.pid))[-2:]] == [
        "agreement_signed",
        "partnership_started",
    ]


async def test_a_retried_append_is_a_no_op(store: RecordStore) -> None:
    pair = Pair(store)
    await pair.start()
    events = pair.decide(c.LogMeeting(minutes=45), day(9))
    first = await store.append(pair.pid, pair.state.version, events)
    again = await store.append(pair.pid, pair.state.version, events)

    assert not first.duplicate and again.duplicate
    assert again.version == first.version == pair.state.version + 1
    assert len(await store.read_log(pair.pid)) == first.version
    assert await _count(store, s.meetings, pair.pid) == 1


async def test_a_retried_append_returns_its_outbox_keys_without_writing_them_twice(store: RecordStore) -> None:
    pair = Pair(store)
    await pair.apply()
    events = pair.decide(c.ScreenApplication(institution=None), day(1))  # rejected: the mentee is told
    first = await store.append(pair.pid, 1, events)
    again = await store.append(pair.pid, 1, events)
    assert first.outbox_keys == again.outbox_keys == (f"{pair.pid}:2:mentee",)
    assert len(await store.list_outbox(partnership_id=pair.pid)) == 1


async def test_an_older_batch_is_still_recognised_after_later_appends(store: RecordStore) -> None:
    pair = Pair(store)
    await pair.start()
    log = await store.read_log(pair.pid)
    replay = await store.append(pair.pid, 2, [stored.event for stored in log[2:4]])
    assert replay.duplicate and replay.version == 4


async def test_a_different_event_at_a_taken_version_is_a_conflict(store: RecordStore) -> None:
    pair = Pair(store)
    await pair.start()
    other = pair.decide(c.AddDiaryEntry(reflection="mine"), day(5))
    await pair.do(c.AddDiaryEntry(reflection="theirs"), day(5))

    with pytest.raises(VersionConflict) as raised:
        await store.append(pair.pid, pair.state.version - 1, other)
    assert raised.value.expected_version == 6 and raised.value.actual_version == 7
    assert pair.pid in str(raised.value) and "expected version 6" in str(raised.value)
    assert len(await store.read_log(pair.pid)) == 7


async def test_a_batch_only_partly_stored_is_a_conflict(store: RecordStore) -> None:
    pair = Pair(store)
    await pair.start()
    stored = (await store.read_log(pair.pid))[-1].event
    extra = pair.decide(c.AddDiaryEntry(reflection="more"), day(5))
    with pytest.raises(VersionConflict, match="only part of the batch"):
        await store.append(pair.pid, 5, [stored, *extra])


async def test_appending_beyond_the_log_is_a_conflict(store: RecordStore) -> None:
    pair = Pair(store)
    await pair.apply()
    events = pair.decide(c.ScreenApplication(institution=None), day(1))
    with pytest.raises(VersionConflict, match="expected version 3, the log is at version 1"):
        await store.append(pair.pid, 3, events)
    assert len(await store.read_log(pair.pid)) == 1


async def test_an_empty_append_writes_nothing(store: RecordStore) -> None:
    pair = Pair(store)
    await pair.apply()
    result = await store.append(pair.pid, 1, [])
    assert result.version == 1 and not result.duplicate and result.outbox_keys == ()
    assert len(await store.read_log(pair.pid)) == 1


async def test_unknown_partnerships_have_no_log_and_no_state(store: RecordStore) -> None:
    assert await store.read_log("p-never-seen") == []
    assert await store.load_state("p-never-seen") is None


async def test_a_rematch_removes_the_agreement_row(store: RecordStore) -> None:
    pair = Pair(store)
    await pair.start()
    await pair.do(c.CoordinatorAction(action=c.CoordinatorActionKind.REMATCH, reason="no chemistry"), day(20))
    assert await _count(store, s.agreements, pair.pid) == 0
    row = await _row(store, s.partnerships, pair.pid)
    assert row["stage"] == "AWAITING_MATCH" and row["mentor_id"] is None
