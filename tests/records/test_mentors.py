"""The mentor pool (profiles, availability per cohort, withdrawal) and the queries of a matching round.

On SQLite and PostgreSQL. Partnerships are built through ``store.append`` with real ``decide`` events.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from activities.records import PersonErased, RecordStore
from activities.records.mentors import UnknownMentor
from domain import Contact, DegreeLevel, Institution, MenteeProfile, MentorProfile, Sector
from domain.matching import MatchingInput, match
from domain.partnership import Stage
from domain.partnership import commands as c
from tests.records.helpers import UNIVERSITY, Pair, day, unique
from workers.cli import main
from workers.settings import settings


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


# ---------------------------------------------------------------------------------------------- the CLI


@pytest.fixture
def cli_database(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``entrypoint`` commands against the session's migrated database (SQLite, then PostgreSQL)."""
    monkeypatch.setenv("ENTRYPOINT_DATABASE_URL", database_url)
    settings.cache_clear()
    yield database_url
    settings.cache_clear()


async def test_mentors_import_keeps_good_rows_and_reports_bad_ones_by_line(
    cli_database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cohort, a, b, c_ = unique("cohort"), unique("m-a"), unique("m-b"), unique("m-c")
    path = tmp_path / "mentors.csv"
    path.write_text(
        "mentor_id,organisation_id,sector,expertise,interests,languages,capacity,conflicts,cohorts,name,email\n"
        f"{a},org-nokia,private,data science;R&D,start-ups,fi;en,2,uni-helsinki,,Aino Virtanen,aino@example.org\n"
        f"{b},org-kela,public,social policy,,fi;sv,9,,,Bo Lind,bo@example.org\n"
        f"{c_},org-sitra,third,climate,,en,1,,extra-cohort,Cai,not-an-address\n"
        "\n"
        f"{unique('m-d')},org-x,military,law,,fi,1,,,,\n"
        f"{a},org-nokia,private,law,,fi,1,,,,\n"
        f"{c_.upper()}-2,org-sitra,third,climate,,en,1,,extra-cohort,,\n",
        encoding="utf-8",
    )
    assert await asyncio.to_thread(main, ["mentors", "import", str(path), "--cohort", cohort]) == 1
    captured = capsys.readouterr()
    assert "imported 2, rejected 4" in captured.out
    assert "line 3: capacity: Input should be less than or equal to 3" in captured.err
    assert "line 4: contact: email: value is not a valid email address" in captured.err
    assert "line 6: sector: Input should be 'private', 'public' or 'third'" in captured.err
    assert f"line 7: mentor_id {a} already given on line 2" in captured.err
    assert "aino@example.org" not in captured.out + captured.err and "Aino" not in captured.out + captured.err

    store = RecordStore.from_url(cli_database)
    try:
        assert [m.mentor_id for m in await store.list_mentors(cohort)] == sorted([a, f"{c_.upper()}-2"])
        assert await store.get_mentor(a) == profile(a, interests=("start-ups",))
        assert await store.get_contact(a) == Contact(name="Aino Virtanen", email="aino@example.org")
        assert await store.get_mentor(b) is None
        record = await store.get_mentor_record(f"{c_.upper()}-2")
        assert record is not None and record.cohorts == tuple(sorted([cohort, "extra-cohort"]))
    finally:
        await store.close()


async def test_mentors_import_json_and_an_all_good_file_exits_zero(
    cli_database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mentor_id = unique("m-json")
    rows = [
        {
            "mentor_id": mentor_id,
            "organisation_id": "org-nokia",
            "sector": "private",
            "expertise": ["data science"],
            "languages": ["fi"],
            "contact": {"name": "Aino Virtanen", "email": "aino@example.org"},
        }
    ]
    path = tmp_path / "mentors.json"
    path.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    assert await asyncio.to_thread(main, ["mentors", "import", str(path)]) == 0
    assert "imported 1, rejected 0" in capsys.readouterr().out

    path.write_text(json.dumps([rows[0] | {"capacity": 0}, {"mentor_id": "x"}], indent=2), encoding="utf-8")
    assert await asyncio.to_thread(main, ["mentors", "import", str(path)]) == 1
    err = capsys.readouterr().err
    assert "line 2: capacity: Input should be greater than or equal to 1" in err
    second = next(n for n, line in enumerate(path.read_text().splitlines(), 1) if '"mentor_id": "x"' in line) - 1
    assert f"line {second}: organisation_id: Field required; sector: Field required" in err


async def test_mentors_list_and_withdraw(cli_database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cohort, a, b = unique("cohort"), unique("m-a"), unique("m-b")
    store = RecordStore.from_url(cli_database)
    try:
        await store.upsert_mentor(profile(a), Contact(name="Aino Virtanen", email="aino@example.org"), [cohort])
        await store.upsert_mentor(profile(b, capacity=1), None, [cohort])
        active = Pair(store, cohort)
        active.mentor_id = a
        await active.start()
    finally:
        await store.close()

    assert await asyncio.to_thread(main, ["mentors", "list", "--cohort", cohort]) == 0
    out = capsys.readouterr().out
    assert "MENTOR" in out and "USED" in out and a in out and b in out and "2 mentor(s)" in out
    assert "Aino" not in out and "aino@example.org" not in out

    assert await asyncio.to_thread(main, ["mentors", "withdraw", b]) == 0
    assert f"mentor {b} withdrawn from the pool" in capsys.readouterr().out
    assert await asyncio.to_thread(main, ["mentors", "withdraw", b]) == 0
    assert "was already withdrawn" in capsys.readouterr().out
    assert await asyncio.to_thread(main, ["mentors", "withdraw", unique("nobody")]) == 2
    assert "no mentor" in capsys.readouterr().err

    assert await asyncio.to_thread(main, ["mentors", "list", "--cohort", cohort, "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(line["mentor_id"], line["used"]) for line in lines] == [(a, 1)]
    assert "contact" not in lines[0] and "email" not in lines[0]
    assert await asyncio.to_thread(main, ["mentors", "list", "--cohort", cohort, "--withdrawn"]) == 0
    assert "1 withdrawn" in capsys.readouterr().out


async def test_institutions_import(cli_database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ok, closed = unique("uni"), unique("uni")
    path = tmp_path / "institutions.csv"
    path.write_text(
        f"institution_id,name,partner\n{ok},University of Helsinki,\n{closed},Old College,no\n"
        "not an id!,Bad,yes\n,Nameless,\n",
        encoding="utf-8",
    )
    assert await asyncio.to_thread(main, ["institutions", "import", str(path)]) == 1
    captured = capsys.readouterr()
    assert "imported 2, rejected 2" in captured.out
    assert "line 4: institution_id: String should match pattern" in captured.err
    assert "line 5: institution_id: Field required" in captured.err
    store = RecordStore.from_url(cli_database)
    try:
        assert await store.get_institution(ok) == Institution(institution_id=ok, name="University of Helsinki")
        assert await store.get_institution(closed) == Institution(
            institution_id=closed, name="Old College", partner=False
        )
    finally:
        await store.close()


# ---------------------------------------------------------------------------------------------- sealed profiles


def _mentee(mentee_id: str, field: str, goals: tuple[str, ...], interests: tuple[str, ...] = ()) -> MenteeProfile:
    return MenteeProfile(
        mentee_id=mentee_id,
        degree_level=DegreeLevel.MASTER,
        institution_id=UNIVERSITY.institution_id,
        field=field,
        interests=interests,
        languages=("en",),
        goals=goals,
    )


async def test_matching_on_sealed_profiles_gives_what_it_gives_on_plain_ones(store: RecordStore) -> None:
    """The mentee's goals are sealed in the records; the matching round reads them opened, so its proposals
    (scores, reasons quoting the goals) are exactly those of the same profiles in plain text, which older
    rows (stored before sealing) still are."""
    from activities.records import log
    from domain.partnership import decide, fold, initial_state

    cohort = unique("cohort")
    await store.upsert_institution(UNIVERSITY)
    goals = [
        ("a first job in data science", "publish my thesis on sensor fusion"),
        ("learn how start-ups raise money",),
        ("move from research to product management", "data engineering"),
        ("public sector policy work",),
    ]
    fields = ["computer science", "economics", "physics", "political science"]
    profiles: list[MenteeProfile] = []
    for number, (field, mentee_goals) in enumerate(zip(fields, goals, strict=True)):
        pair = Pair(store, cohort)
        mentee = _mentee(pair.mentee_id, field, mentee_goals, interests=("start-ups",) if number % 2 else ())
        events = decide(initial_state(pair.pid), c.SubmitApplication(cohort_id=cohort, mentee=mentee), day(0))
        if number % 2:  # stored the way it was before sealing: plain text
            await log.append(store.database, pair.pid, 0, events)
        else:
            await store.append(pair.pid, 0, events)
        pair.state = fold(pair.state, events)
        await pair.do(c.ScreenApplication(institution=UNIVERSITY), day(1))
        profiles.append(mentee)
        stored = await store.load_state(pair.pid, sealed=True)
        assert stored is not None and stored.mentee is not None
        assert all(goal.startswith("enc1:") != bool(number % 2) for goal in stored.mentee.goals)
    mentors = [
        profile(unique("mentor"), expertise=("data science", "sensor fusion"), conflicts=()),
        profile(unique("mentor"), sector=Sector.PUBLIC, expertise=("policy",), interests=(), conflicts=()),
        profile(unique("mentor"), expertise=("product management", "data engineering"), conflicts=()),
    ]
    for mentor in mentors:
        await store.upsert_mentor(mentor, cohorts=[cohort])

    read = await store.list_awaiting_match(cohort)
    by_pid_order = [p.mentee_id for p in read]
    assert sorted(read, key=lambda p: p.mentee_id) == sorted(profiles, key=lambda p: p.mentee_id)
    plain = sorted(profiles, key=lambda p: by_pid_order.index(p.mentee_id))
    pool = await store.list_mentors(cohort)

    from_records = match(MatchingInput(mentees=read, mentors=pool))
    from_plain = match(MatchingInput(mentees=plain, mentors=pool))
    assert from_records == from_plain
    assert any(reason.startswith("goals match: ") for p in from_records.proposals for reason in p.reasons)

    await store.save_round(f"{cohort}-round-1", cohort, 1, from_records)
    assert await store.load_round(f"{cohort}-round-1") == from_plain
    sealed = await store.load_round(f"{cohort}-round-1", sealed=True)
    assert sealed is not None and sealed.summary == from_plain.summary
    assert all(reason.startswith("enc1:") for p in sealed.proposals for reason in p.reasons)
