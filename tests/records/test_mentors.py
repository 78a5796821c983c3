"""The mentor pool (profiles, availability per cohort, withdrawal) and the queries of a matching round.

On SQLite and PostgreSQL. Partnerships are built through ``store.append`` with real ``decide`` events.
"""

from __future__ import annotations

import pytest
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from activities.records import PersonErased, RecordStore
from activities.records.mentors import UnknownMentor
from domain import Contact, MentorProfile, Sector
from domain.partnership import Stage
from domain.partnership import commands as c
from tests.records.helpers import UNIVERSITY, Pair, day, unique


def profile(mentor_id: str, **overrides: object) -> MentorProfile:
    values: dict[str, object] = {
        "mentor_id": mentor_id,
        "organisation_id": "org-nokia",
        "sector": Sector.PRIVATE,
        "expertise": ("data science", "R&D"),
        "interests": ("start-ups",),
        "languages": ("fi", "en"),
        "capacity": 2,
        "conflicts": ("uni-helsinki",),
    }
    return MentorProfile(**(values | overrides))  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------- the pool


async def test_a_mentor_is_stored_and_their_contact_only_in_the_people_registry(store: RecordStore) -> None:
    mentor_id = unique("mentor")
    assert await store.get_mentor(mentor_id) is None
    await store.upsert_mentor(profile(mentor_id), Contact(name="Aino Virtanen", email="aino@example.org"))
    assert await store.get_mentor(mentor_id) == profile(mentor_id)
    assert await store.get_contact(mentor_id) == Contact(name="Aino Virtanen", email="aino@example.org")
    assert str(await store.get_role(mentor_id)) == "mentor"

    def columns(connection: Connection) -> set[str]:
        return {column["name"] for column in inspect(connection).get_columns("mentors")}

    async with store.database.engine.connect() as connection:
        assert not {"name", "email"} & await connection.run_sync(columns)


async def test_upserting_again_updates_the_profile_and_adds_cohorts(store: RecordStore) -> None:
    mentor_id, spring, autumn = unique("mentor"), unique("cohort"), unique("cohort")
    await store.upsert_mentor(profile(mentor_id), Contact(name="Aino"), cohorts=[spring])
    first = await store.get_mentor_record(mentor_id)
    changed = profile(mentor_id, capacity=3, sector=Sector.THIRD, languages=("sv",), conflicts=())
    await store.upsert_mentor(changed, cohorts=[autumn, autumn])
    record = await store.get_mentor_record(mentor_id)
    assert first is not None and record is not None
    assert record.profile == changed
    assert record.cohorts == tuple(sorted([spring, autumn]))
    assert record.created_at == first.created_at and record.updated_at >= first.updated_at
    assert await store.get_contact(mentor_id) == Contact(name="Aino")  # no contact given: kept


async def test_availability_is_per_cohort(store: RecordStore) -> None:
    cohort, other = unique("cohort"), unique("cohort")
    a, b, c_ = unique("mentor-a"), unique("mentor-b"), unique("mentor-c")
    await store.upsert_mentor(profile(a), cohorts=[cohort])
    await store.upsert_mentor(profile(b), cohorts=[cohort, other])
    await store.upsert_mentor(profile(c_))
    assert [m.mentor_id for m in await store.list_mentors(cohort)] == sorted([a, b])
    assert [m.mentor_id for m in await store.list_mentors(other)] == [b]
    everyone = {m.mentor_id for m in await store.list_mentors()}
    assert {a, b, c_} <= everyone

    await store.set_availability(c_, other, True)
    await store.set_availability(c_, other, True)  # twice: no duplicate
    await store.set_availability(b, other, False)
    await store.set_availability(a, other, False)  # was never available: nothing to do
    assert [m.mentor_id for m in await store.list_mentors(other)] == [c_]
    records = await store.list_mentor_records(cohort)
    assert [(r.profile.mentor_id, r.cohorts) for r in records] == sorted([(a, (cohort,)), (b, (cohort,))])

    with pytest.raises(UnknownMentor, match="no mentor nobody-1 in the pool"):
        await store.set_availability("nobody-1", cohort, True)


async def test_a_withdrawn_mentor_leaves_the_pool_but_is_kept(store: RecordStore) -> None:
    cohort, mentor_id = unique("cohort"), unique("mentor")
    await store.upsert_mentor(profile(mentor_id), cohorts=[cohort])
    assert await store.withdraw_mentor(mentor_id) is True
    first = await store.get_mentor_record(mentor_id)
    assert first is not None and first.withdrawn_at is not None
    assert await store.withdraw_mentor(mentor_id) is True
    second = await store.get_mentor_record(mentor_id)
    assert second is not None and second.withdrawn_at == first.withdrawn_at  # the first time is kept
    assert await store.withdraw_mentor(unique("nobody")) is False

    assert await store.list_mentors(cohort) == []
    assert [m.mentor_id for m in await store.list_mentors(cohort, include_withdrawn=True)] == [mentor_id]
    assert await store.get_mentor(mentor_id) == profile(mentor_id)

    await store.upsert_mentor(profile(mentor_id, capacity=1))  # an old list imported again
    assert await store.list_mentors(cohort) == []
    await store.upsert_mentor(profile(mentor_id, capacity=1), reinstate=True)
    assert await store.list_mentors(cohort) == [profile(mentor_id, capacity=1)]


async def test_an_erased_person_cannot_come_back_as_a_mentor(store: RecordStore) -> None:
    mentor_id = unique("mentor")
    await store.upsert_mentor(profile(mentor_id), Contact(name="Aino"))
    assert await store.erase_person(mentor_id)
    with pytest.raises(PersonErased):
        await store.upsert_mentor(profile(mentor_id), Contact(name="Aino"))
    assert await store.get_contact(mentor_id) is None


# ---------------------------------------------------------------------------------------------- a matching round


async def _awaiting(store: RecordStore, cohort: str) -> Pair:
    pair = Pair(store, cohort)
    await pair.apply()
    await pair.do(c.ScreenApplication(institution=UNIVERSITY), day(1))
    return pair


async def _matched(store: RecordStore, cohort: str, mentor_id: str) -> Pair:
    pair = await _awaiting(store, cohort)
    pair.mentor_id = mentor_id
    await pair.do(c.ProposeMatch(mentor_id=mentor_id, score=0.7, reasons=("shared field: marine biology",)), day(2))
    return pair


async def _active(store: RecordStore, cohort: str, mentor_id: str) -> Pair:
    pair = Pair(store, cohort)
    pair.mentor_id = mentor_id
    await pair.start()
    return pair


def _action(kind: c.CoordinatorActionKind) -> c.CoordinatorAction:
    return c.CoordinatorAction(action=kind, reason="agreed with the pair")


async def test_awaiting_match_and_mentor_load_follow_the_partnerships(store: RecordStore) -> None:
    cohort, other_cohort = unique("cohort"), unique("cohort")
    mentor_a, mentor_b, mentor_c = unique("mentor-a"), unique("mentor-b"), unique("mentor-c")

    waiting = [await _awaiting(store, cohort), await _awaiting(store, cohort)]
    applied_only = Pair(store, cohort)
    await applied_only.apply()  # not screened yet: not waiting for a match
    await _awaiting(store, other_cohort)
    await _matched(store, cohort, mentor_a)  # AWAITING_SIGNATURES: takes a slot
    await _active(store, cohort, mentor_a)  # ACTIVE
    paused = await _active(store, cohort, mentor_b)
    await paused.do(_action(c.CoordinatorActionKind.PAUSE), day(5))
    ended = await _active(store, cohort, mentor_c)
    await ended.do(_action(c.CoordinatorActionKind.END_EARLY), day(5))  # ended: frees the slot
    rematched = await _active(store, cohort, mentor_c)
    await rematched.do(_action(c.CoordinatorActionKind.REMATCH), day(6))  # back to AWAITING_MATCH
    await _active(store, other_cohort, mentor_a)  # another cohort's load

    assert paused.state.stage is Stage.PAUSED and ended.state.stage is Stage.ENDED_EARLY
    assert rematched.state.stage is Stage.AWAITING_MATCH

    expected = sorted([*waiting, rematched], key=lambda pair: pair.pid)
    mentees = await store.list_awaiting_match(cohort)
    assert [m.mentee_id for m in mentees] == [pair.mentee_id for pair in expected]
    assert mentees[0] == expected[0].state.mentee
    assert [m.mentee_id for m in await store.list_awaiting_match(cohort, limit=2)] == [
        pair.mentee_id for pair in expected[:2]
    ]
    assert await store.list_awaiting_match(unique("cohort")) == []

    assert await store.mentor_load(cohort) == {mentor_a: 2, mentor_b: 1}
    assert await store.mentor_load(other_cohort) == {mentor_a: 1}
    assert await store.previous_mentors(cohort) == {rematched.mentee_id: (mentor_c,)}
