"""Concurrent appends to one partnership: exactly one wins, the log stays gap-free."""

from __future__ import annotations

import asyncio

from activities.records import AppendResult, RecordStore, VersionConflict
from domain import DegreeLevel, MenteeProfile
from domain.partnership import commands as c
from domain.partnership import decide, initial_state
from tests.records.helpers import Pair, day

RACERS = 8


def _split(results: list[AppendResult | BaseException]) -> tuple[list[AppendResult], list[BaseException]]:
    won = [r for r in results if isinstance(r, AppendResult)]
    lost = [r for r in results if not isinstance(r, AppendResult)]
    return won, lost


async def test_different_appends_at_one_version_exactly_one_wins(store: RecordStore) -> None:
    pair = Pair(store)
    await pair.start()
    base = pair.state.version
    batches = [pair.decide(c.AddDiaryEntry(reflection=f"entry {n}"), day(5)) for n in range(RACERS)]

    results = await asyncio.gather(*(store.append(pair.pid, base, b) for b in batches), return_exceptions=True)

    won, lost = _split(results)
    assert len(won) == 1 and won[0].version == base + 1 and not won[0].duplicate
    assert len(lost) == RACERS - 1 and all(isinstance(error, VersionConflict) for error in lost)
    log = await store.read_log(pair.pid)
    assert [stored.version for stored in log] == list(range(1, base + 2))
    state = await store.load_state(pair.pid)
    assert state is not None and state.version == base + 1 and state.diary_entries == 1


async def test_racing_to_create_a_partnership_exactly_one_wins(store: RecordStore) -> None:
    """No read-model row exists yet to lock: the primary key decides."""
    pid = Pair(store).pid
    applications = [
        c.SubmitApplication(
            cohort_id="cohort-race",
            mentee=MenteeProfile(mentee_id=f"mentee-{n}", degree_level=DegreeLevel.PHD, institution_id="u", field="x"),
        )
        for n in range(RACERS)
    ]
    batches = [decide(initial_state(pid), application, day(0)) for application in applications]

    results = await asyncio.gather(*(store.append(pid, 0, b) for b in batches), return_exceptions=True)

    won, lost = _split(results)
    assert len(won) == 1 and len(lost) == RACERS - 1
    assert all(isinstance(error, VersionConflict) for error in lost)
    assert [stored.version for stored in await store.read_log(pid)] == [1]


async def test_the_same_append_racing_itself_is_written_once(store: RecordStore) -> None:
    """An activity retried while its first attempt is still running: one write, the rest are replays."""
    pair = Pair(store)
    await pair.start()
    events = pair.decide(c.LogMeeting(minutes=30), day(8))

    results = await asyncio.gather(*(store.append(pair.pid, pair.state.version, events) for _ in range(RACERS)))

    assert sum(not result.duplicate for result in results) == 1
    assert {result.version for result in results} == {pair.state.version + 1}
    assert len({result.outbox_keys for result in results}) == 1
    assert len(await store.read_log(pair.pid)) == pair.state.version + 1


async def test_appends_to_different_partnerships_do_not_conflict(store: RecordStore) -> None:
    pairs = [Pair(store) for _ in range(RACERS)]
    await asyncio.gather(*(pair.start() for pair in pairs))
    for pair in pairs:
        assert len(await store.read_log(pair.pid)) == 6
