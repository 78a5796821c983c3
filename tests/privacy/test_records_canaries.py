"""Canaries in the records database: what a person wrote never lies there readable, on SQLite or PostgreSQL.

A partnership is driven through its whole life into a real records database (its own SQLite file; its own
PostgreSQL database), with distinctive strings in every free-text field. None may appear in the SQLite file's
bytes (with its WAL) nor in a ``pg_dump`` of the PostgreSQL database (every text column when pg_dump is not
installed); all must appear through the reading paths (the store, ``entrypoint records show``, the outbox
listing). After the partnership's and the person's data keys are destroyed (what ``entrypoint people erase``
does to the records; the command itself is driven on the dev server in test_canaries.py), nothing yields them,
``records verify`` still passes, and ``rebuild`` works without any key.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import JSON, String, Text, select
from sqlalchemy.ext.asyncio import AsyncConnection

from activities.records import RecordStore
from activities.records import schema as s
from activities.records.datakeys import ERASED, partnership_subject, person_subject
from activities.records.migrate import upgrade
from activities.records.scratch import postgres_unavailable, private_postgres
from domain import Contact, DegreeLevel, MenteeProfile, gathering
from domain.gathering import commands as gc
from domain.gathering import events as ge
from domain.matching import MatchingResult, MatchingSummary, Proposal, Unmatched
from domain.partnership import Stage, fold
from domain.partnership import commands as c
from tests.domain.test_gathering import T0 as GATHERING_T0
from tests.domain.test_gathering import plan as gathering_plan
from tests.records.helpers import UNIVERSITY, Pair, day
from workers.cli import main
from workers.settings import settings

NAME = "Ysolde Marrowgate-Thunberg"
EMAIL = "ysolde.marrowgate@example.org"
AGREEMENT_TOPIC = "canary-agreement-topic: negotiating with Wärtsilä"
MEETING_TOPIC = "canary-meeting-topic: my residence permit"
NOTES = "canary-meeting-notes: she is weighing the Kone offer against the PhD"
DIARY = "canary-diary-reflection: the ferry to Suomenlinna calmed my nerves"
GOAL = "canary-diary-goal: speak at the Slush side event"
ACTION = "canary-diary-action: email Professor Halvorsen"
PROFILE_GOAL = "canary-profile-goal: leave the reception centre for a lab job"
LONG_GOAL = ("canary-profile-long-goal: " + "työpaikka Åbon satamassa, " * 10)[:200].rstrip(" ,")
"""As long as a goal may be (200 characters, some of two bytes): sealed, it is far longer, and still loads."""
MATCH_REASON = "canary-match-reason: both lived through the Pori floods"
ROUND_REASON = "canary-round-reason: goals match: reception, lab"
ROUND_ORPHAN = "canary-round-orphan-reason: nobody in the pool speaks Tigrinya"
"""A round's reason for a mentee with no partnership on file: sealed under the keyring, no person's to erase."""
GATHERING_REASON = "canary-gathering-reason: the host's daughter is in hospital"
PAUSE_REASON = "canary-pause-reason: mentee in hospital after the accident"
RESUME_REASON = "canary-resume-reason: back from sick leave"
COMMENTS = "canary-review-comments: Ysolde grew so much"
TEXTS = (
    AGREEMENT_TOPIC,
    MEETING_TOPIC,
    NOTES,
    DIARY,
    GOAL,
    ACTION,
    PAUSE_REASON,
    RESUME_REASON,
    COMMENTS,
    PROFILE_GOAL,
    LONG_GOAL,
    MATCH_REASON,
)
"""What the partnership's log holds."""
ELSEWHERE = (ROUND_REASON, ROUND_ORPHAN, GATHERING_REASON)
"""What a matching round and a gathering's log hold."""
CANARIES = (NAME, EMAIL, *TEXTS, *ELSEWHERE)


def leaked(text: str) -> list[str]:
    return [canary for canary in CANARIES if canary in text]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def own_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A records database of this test's own (so its whole content can be read as bytes or dumped)."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'records.db'}"
        await upgrade(url)
        yield url
        return
    reason = await postgres_unavailable()
    if reason is not None:
        pytest.skip(reason)
    async with private_postgres("entrypoint_canary") as url:
        yield url


async def everything_stored(store: RecordStore, url: str) -> str:
    """All a reader of the database's storage gets without a key: the SQLite file and its WAL as bytes, or a
    pg_dump of the PostgreSQL database (every text and JSON column, when pg_dump is not installed)."""
    if store.database.is_sqlite:
        path = Path(url.removeprefix("sqlite+aiosqlite:///"))
        parts = [p.read_bytes() for p in sorted(path.parent.glob(path.name + "*")) if p.is_file()]
        return b"\n".join(parts).decode("utf-8", errors="replace")
    target = url.replace("postgresql+asyncpg://", "postgresql://")
    pg_dump = shutil.which("pg_dump")
    if pg_dump is not None:
        done = await asyncio.to_thread(
            subprocess.run, [pg_dump, "--no-owner", target], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        assert "COPY public.events" in done.stdout  # a real dump of this database
        return done.stdout

    async def work(connection: AsyncConnection) -> str:
        found = []
        for table in s.metadata.sorted_tables:
            columns = [col for col in table.columns if isinstance(col.type, String | Text | JSON)]
            if columns:
                found.extend(str(row) for row in await connection.execute(select(*columns)))
        return "\n".join(found)

    return await store.database.read(work)


def profile(pair: Pair) -> MenteeProfile:
    return MenteeProfile(
        mentee_id=pair.mentee_id,
        degree_level=DegreeLevel.MASTER,
        institution_id=UNIVERSITY.institution_id,
        field="marine biology",
        interests=("diving",),
        goals=(PROFILE_GOAL, LONG_GOAL),
    )


async def apply(pair: Pair) -> None:
    await pair.do(c.SubmitApplication(cohort_id=pair.cohort_id, mentee=profile(pair)), day(0))
    await pair.do(c.ScreenApplication(institution=UNIVERSITY), day(1))
    assert pair.state.stage == Stage.AWAITING_MATCH


def round_result(waiting: Pair) -> MatchingResult:
    proposal = Proposal(mentee_id=waiting.mentee_id, mentor_id=waiting.mentor_id, score=0.7, reasons=(ROUND_REASON,))
    nobody = Unmatched(mentee_id="mentee-with-no-partnership", reasons=(ROUND_ORPHAN,))
    summary = MatchingSummary(matched=1, unmatched=1, mean_score=0.7, top3_share=1.0, total_score=0.7)
    return MatchingResult(proposals=(proposal,), unmatched=(nobody,), summary=summary)


def gathering_key(pair: Pair) -> str:
    return f"gathering-{pair.cohort_id}-visit-1"


async def cancel_a_gathering(store: RecordStore, pair: Pair) -> None:
    key = gathering_key(pair)
    state = gathering.initial_state(key)
    events = []
    for command in (
        gc.Schedule(plan=gathering_plan(cohort_id=pair.cohort_id)),
        gc.Register(registrant_id=pair.pid),
        gc.CancelGathering(reason=GATHERING_REASON),
    ):
        step = gathering.decide(state, command, GATHERING_T0)
        state = gathering.fold(state, step)
        events.extend(step)
    assert await store.append_gathering_events(key, pair.cohort_id, 0, events) == 3
    assert await store.append_gathering_events(key, pair.cohort_id, 0, events) == 3  # a retry: the same digests


async def drive(store: RecordStore) -> tuple[Pair, Pair]:
    """The pair through its whole life; a second partnership of the same mentee, in another cohort, waiting for
    a match, with a matching round stored for it; a gathering cancelled with a reason."""
    await store.upsert_institution(UNIVERSITY)
    pair = Pair(store)
    await apply(pair)
    await store.register_person(pair.mentee_id, "mentee", Contact(name=NAME, email=EMAIL))
    waiting = Pair(store)
    waiting.mentee_id = pair.mentee_id
    await apply(waiting)
    await store.save_round(f"{waiting.cohort_id}-round-1", waiting.cohort_id, 1, round_result(waiting))
    await cancel_a_gathering(store, pair)
    await pair.do(c.ProposeMatch(mentor_id=pair.mentor_id, score=0.8, reasons=(MATCH_REASON,)), day(2))
    await pair.do(c.SignAgreement(party=c.Party.MENTEE, topics=(AGREEMENT_TOPIC,)), day(3))
    await pair.do(c.SignAgreement(party=c.Party.MENTOR), day(4))
    assert pair.state.stage == Stage.ACTIVE
    await pair.do(c.LogMeeting(held_on=day(10), minutes=90, topics=(MEETING_TOPIC,), notes=NOTES), day(10))
    await pair.do(c.AddDiaryEntry(reflection=DIARY, goals=(GOAL,), actions=(ACTION,)), day(11))
    await pair.do(c.CoordinatorAction(action=c.CoordinatorActionKind.PAUSE, reason=PAUSE_REASON), day(20))
    await pair.do(c.CoordinatorAction(action=c.CoordinatorActionKind.RESUME, reason=RESUME_REASON), day(30))
    await pair.do(c.Tick(), day(200))  # the programme ended (six months and the pause)
    assert pair.state.stage == Stage.CLOSING_REVIEW
    await pair.do(c.SubmitClosingReview(party=c.Party.MENTEE, rating=5), day(201))
    await pair.do(c.SubmitClosingReview(party=c.Party.MENTOR, rating=4, comments=COMMENTS), day(202))
    assert pair.state.stage == Stage.COMPLETED
    return pair, waiting


async def test_free_text_is_sealed_at_rest_readable_through_the_store_and_gone_after_erasure(
    own_database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store = RecordStore.from_url(own_database)
    try:
        pair, waiting = await drive(store)
        round_id = f"{waiting.cohort_id}-round-1"

        stored = await everything_stored(store, own_database)
        assert pair.pid in stored and "enc1:" in stored and "kr1:" in stored  # the rows are there, sealed
        assert round_id in stored and gathering_key(pair) in stored
        assert leaked(stored) == []

        # The reading paths open every one of them.
        log = await store.read_log(pair.pid)
        assert sorted(leaked(json.dumps([item.data for item in log], ensure_ascii=False))) == sorted(TEXTS)
        sealed = await store.read_log(pair.pid, sealed=True)
        assert leaked(json.dumps([item.data for item in sealed], ensure_ascii=False)) == []
        state = await store.load_state(pair.pid)
        assert state == pair.state
        assert state.mentee is not None and state.mentee.goals == (PROFILE_GOAL, LONG_GOAL)
        assert state.match_reasons == (MATCH_REASON,)
        sealed_state = await store.load_state(pair.pid, sealed=True)
        assert sealed_state is not None and sealed_state.mentee is not None
        assert all(goal.startswith("enc1:") for goal in sealed_state.mentee.goals)
        assert leaked(sealed_state.model_dump_json()) == []
        assert await store.list_awaiting_match(waiting.cohort_id) == [profile(waiting)]  # what matching reads
        matching_round = await store.load_round(round_id)
        assert matching_round == round_result(waiting)
        assert leaked((await store.load_round(round_id, sealed=True)).model_dump_json()) == []  # type: ignore[union-attr]
        cancelled = (await store.read_gathering_log(gathering_key(pair)))[-1]
        assert isinstance(cancelled, ge.GatheringCancelled) and cancelled.reason == GATHERING_REASON
        sealed_log = await store.read_gathering_log(gathering_key(pair), sealed=True)
        assert sealed_log[-1].reason.startswith("kr1:")  # type: ignore[union-attr]
        outbox = await store.list_outbox(partnership_id=pair.pid)
        assert PAUSE_REASON in json.dumps([m.context for m in outbox], ensure_ascii=False)
        assert await store.get_contact(pair.mentee_id, "mentee") == Contact(name=NAME, email=EMAIL)
        if store.database.is_sqlite:
            monkeypatch.setenv("ENTRYPOINT_DATABASE_URL", own_database)
            settings.cache_clear()
            try:
                assert await asyncio.to_thread(main, ["records", "show", pair.pid]) == 0
            finally:
                settings.cache_clear()
            shown = capsys.readouterr().out
            assert sorted(leaked(shown)) == sorted(TEXTS)

        # Erasure, as `people erase` does it to the records: destroy the keys, clear the registry row.
        subjects = [person_subject(pair.mentee_id), partnership_subject(pair.pid), partnership_subject(waiting.pid)]
        destroyed = await store.data_keys.destroy(subjects)
        assert destroyed == 3
        assert await store.erase_person(pair.mentee_id)
        store.data_keys.forget()

        log = await store.read_log(pair.pid)
        texts = json.dumps([item.data for item in log], ensure_ascii=False)
        assert leaked(texts) == [] and f'"{ERASED}"' in texts
        diary = next(item.event for item in log if item.type == "diary_entry_added")
        assert (diary.reflection, diary.goals, diary.actions) == (ERASED, (ERASED,), (ERASED,))  # type: ignore[union-attr]
        state = await store.load_state(pair.pid)
        assert state is not None and state.stage == Stage.COMPLETED and state.diary_entries == 1  # counts stay
        assert leaked(state.model_dump_json()) == []
        assert state.mentee is not None and state.mentee.goals == (ERASED, ERASED)
        assert state.match_reasons == (ERASED,)
        [erased_profile] = await store.list_awaiting_match(waiting.cohort_id)
        assert erased_profile == profile(waiting).replace(goals=(ERASED, ERASED))  # ids and programme facts stay
        matching_round = await store.load_round(round_id)
        assert matching_round is not None and matching_round.proposals[0].reasons == (ERASED,)
        assert matching_round.unmatched[0].reasons == (ROUND_ORPHAN,)  # no person's: the keyring still opens it
        assert leaked(matching_round.model_dump_json()) == [ROUND_ORPHAN]
        cancelled = (await store.read_gathering_log(gathering_key(pair)))[-1]
        assert cancelled.reason == GATHERING_REASON  # type: ignore[union-attr]
        outbox = await store.list_outbox(partnership_id=pair.pid)
        assert outbox and leaked(json.dumps([m.context for m in outbox], ensure_ascii=False)) == []
        assert await store.get_contact(pair.mentee_id, "mentee") is None

        report = await store.verify()
        assert report.by_partnership().get(pair.pid, []) == [] and report.ok
        assert await store.rebuild() >= 1  # no key needed: the read models are projected from sealed events
        assert (await store.verify()).ok

        if store.database.is_sqlite:
            async with store.database.engine.connect() as connection:
                await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        assert leaked(await everything_stored(store, own_database)) == []
    finally:
        await store.close()


async def test_rows_written_before_sealing_still_read(store: RecordStore) -> None:
    """A log stored as it was before sealing (plain text) reads as it is, folds, and verifies."""
    from activities.records import log

    pair = Pair(store)
    await pair.start()
    events = pair.decide(c.AddDiaryEntry(reflection=f"plain {uuid.uuid4().hex}"), day(5))
    await log.append(store.database, pair.pid, pair.state.version, events)  # the old way: no sealer
    pair.state = fold(pair.state, events)
    stored = await store.read_log(pair.pid)
    assert stored[-1].data == (await store.read_log(pair.pid, sealed=True))[-1].data
    assert stored[-1].event.reflection.startswith("plain ")  # type: ignore[union-attr]
    assert (await store.verify()).by_partnership().get(pair.pid, []) == []
    more = pair.decide(c.AddDiaryEntry(reflection="sealed now"), day(6))
    await store.append(pair.pid, pair.state.version, more)
    after = await store.read_log(pair.pid)
    assert [item.event.reflection for item in after[-2:]] == [stored[-1].event.reflection, "sealed now"]  # type: ignore[union-attr]
    assert (await store.read_log(pair.pid, sealed=True))[-1].data["reflection"].startswith("enc1:")
    assert (await store.verify()).by_partnership().get(pair.pid, []) == []
