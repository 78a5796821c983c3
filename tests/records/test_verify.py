"""verify: the read models against the folded logs; rebuild: the read models from the logs."""

from __future__ import annotations

from sqlalchemy import delete, select, update

from activities.records import RecordStore, VerifyReport
from activities.records import schema as s
from tests.records.helpers import Pair


def _about(report: VerifyReport, partnership_id: str) -> list[str]:
    return report.by_partnership().get(partnership_id, [])


async def _execute(store: RecordStore, statement: object) -> None:
    async with store.database.engine.begin() as connection:
        await connection.execute(statement)  # type: ignore[call-overload]


async def test_verify_agrees_after_a_lifecycle(store: RecordStore) -> None:
    pair = Pair(store)
    await pair.live_through()
    report = await store.verify()
    assert _about(report, pair.pid) == []
    assert report.partnerships_checked >= 1 and report.events_checked >= pair.state.version


async def test_verify_reports_tampered_read_models_and_rebuild_repairs_them(store: RecordStore) -> None:
    pair = Pair(store)
    await pair.live_through()
    p = s.partnerships.c
    await _execute(store, update(s.partnerships).where(p.id == pair.pid).values(meetings_held=99, stage="ACTIVE"))
    await _execute(
        store,
        delete(s.diary_entries).where(s.diary_entries.c.partnership_id == pair.pid),
    )
    await _execute(
        store,
        update(s.reviews).where(s.reviews.c.partnership_id == pair.pid, s.reviews.c.party == "mentor").values(rating=1),
    )

    problems = _about(await store.verify(), pair.pid)
    assert "partnerships.meetings_held: expected 2, found 99" in problems
    assert "partnerships.stage: expected 'COMPLETED', found 'ACTIVE'" in problems
    assert "diary_entries: expected 1 rows, found 0" in problems
    assert any(problem.startswith("diary_entries [version=") and "missing" in problem for problem in problems)
    assert "reviews [party=mentor]: rating expected 4, found 1" in problems

    rebuilt = await store.rebuild()
    assert rebuilt >= 1
    assert _about(await store.verify(), pair.pid) == []


async def test_verify_reports_a_stale_state_json(store: RecordStore) -> None:
    pair = Pair(store)
    await pair.start()
    stored = await store.load_state(pair.pid, sealed=True)  # as stored: its free text sealed
    assert stored is not None
    state = stored.model_dump(mode="json") | {"diary_entries": 7}
    await _execute(store, update(s.partnerships).where(s.partnerships.c.id == pair.pid).values(state=state))
    assert _about(await store.verify(), pair.pid) == [
        "partnerships.state: JSON differs from the folded log in diary_entries"
    ]
    await store.rebuild()
    assert _about(await store.verify(), pair.pid) == []


async def test_verify_reports_missing_and_orphaned_read_models(store: RecordStore) -> None:
    pair = Pair(store)
    await pair.start()
    for table in s.READ_MODEL_CHILDREN:
        await _execute(store, delete(table).where(table.c.partnership_id == pair.pid))
    await _execute(store, delete(s.partnerships).where(s.partnerships.c.id == pair.pid))
    problems = _about(await store.verify(), pair.pid)
    assert "partnerships: no read-model row" in problems and "agreements: expected 1 rows, found 0" in problems

    orphan = Pair(store)
    await orphan.apply()
    async with store.database.engine.begin() as connection:
        query = select(s.partnerships).where(s.partnerships.c.id == orphan.pid)
        row = dict((await connection.execute(query)).one()._mapping)
        await connection.execute(delete(s.events).where(s.events.c.partnership_id == orphan.pid))
    assert row["version"] == 1
    assert _about(await store.verify(), orphan.pid) == ["read-model rows exist but the partnership has no events"]

    await store.rebuild()
    report = await store.verify()
    assert _about(report, pair.pid) == [] and _about(report, orphan.pid) == []
    assert await store.load_state(orphan.pid) is None
    assert await store.load_state(pair.pid) == pair.state


async def test_verify_reports_an_altered_event(store: RecordStore) -> None:
    pair = Pair(store)
    await pair.start()
    log = await store.read_log(pair.pid, sealed=True)  # the row as stored (its profile's goals sealed)
    original = log[0].data
    altered = original | {"cohort_id": "another-cohort"}
    where = (s.events.c.partnership_id == pair.pid) & (s.events.c.version == 1)
    await _execute(store, update(s.events).where(where).values(data=altered))
    try:
        problems = _about(await store.verify(), pair.pid)
        assert "event version 1: data does not match its digest (altered after it was recorded)" in problems
        assert "partnerships.cohort_id: expected 'another-cohort', found " + repr(pair.cohort_id) in problems
    finally:
        await _execute(store, update(s.events).where(where).values(data=original))
    assert _about(await store.verify(), pair.pid) == []


async def test_rebuild_reports_progress(store: RecordStore) -> None:
    pairs = [Pair(store) for _ in range(3)]
    for pair in pairs:
        await pair.apply()
    calls: list[tuple[int, int]] = []
    rebuilt = await store.rebuild(lambda done, total: calls.append((done, total)), batch_size=2)
    total = calls[-1][1]
    assert rebuilt >= 3 and calls[-1] == (total, total)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert all(later - earlier <= 2 for (earlier, _), (later, _) in zip([(0, 0), *calls], calls, strict=False))
    for pair in pairs:
        assert await store.load_state(pair.pid) == pair.state
