"""Building real partnership histories for store tests: commands through ``decide``, events into the store."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from activities.records import AppendResult, RecordStore
from domain import DegreeLevel, Institution, MenteeProfile
from domain.partnership import PartnershipState, decide, fold, initial_state
from domain.partnership import commands as c
from domain.partnership.events import Event

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
UNIVERSITY = Institution(institution_id="uni-helsinki", name="University", partner=True)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def unique(prefix: str) -> str:
    """An id no other test (or earlier run against the same database) uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


class Pair:
    """One partnership driven through ``decide`` and appended to the store step by step."""

    def __init__(self, store: RecordStore, cohort_id: str | None = None) -> None:
        self.store = store
        self.pid = unique("p")
        self.cohort_id = cohort_id or unique("cohort")
        self.mentee_id = unique("mentee")
        self.mentor_id = unique("mentor")
        self.state: PartnershipState = initial_state(self.pid)
        self.results: list[AppendResult] = []

    def decide(self, command: c.Command, at: datetime) -> list[Event]:
        return decide(self.state, command, at)

    async def do(self, command: c.Command, at: datetime) -> AppendResult:
        events = self.decide(command, at)
        result = await self.store.append(self.pid, self.state.version, events)
        self.state = fold(self.state, events)
        self.results.append(result)
        return result

    async def apply(self) -> None:
        mentee = MenteeProfile(
            mentee_id=self.mentee_id,
            degree_level=DegreeLevel.MASTER,
            institution_id=UNIVERSITY.institution_id,
            field="marine biology",
            goals=("first job in research",),
        )
        await self.do(c.SubmitApplication(cohort_id=self.cohort_id, mentee=mentee), day(0))

    async def start(self) -> None:
        """Applied, screened, matched, both signed: ACTIVE from day 4."""
        await self.apply()
        await self.do(c.ScreenApplication(institution=UNIVERSITY), day(1))
        await self.do(c.ProposeMatch(mentor_id=self.mentor_id, score=0.8, reasons=("field",)), day(2))
        await self.do(c.SignAgreement(party=c.Party.MENTEE), day(3))
        await self.do(c.SignAgreement(party=c.Party.MENTOR, signature_ref="sig-1"), day(4))

    async def live_through(self) -> None:
        """The whole six months, with a lapse, to completion."""
        await self.start()
        await self.do(c.LogMeeting(held_on=day(10), minutes=90, topics=("cv",), notes="good start"), day(10))
        diary = c.AddDiaryEntry(reflection="I learnt to pitch.", goals=("apply",), actions=("write cv",))
        await self.do(diary, day(11))
        await self.do(c.RecordGathering(gathering_id="gathering-1", kind=c.GatheringKind.GROUP, hours=3), day(20))
        await self.do(c.Tick(), day(48))  # a meeting was due on day 40: nudged
        await self.do(c.LogMeeting(minutes=60, topics=("interviews",)), day(50))
        await self.do(c.Tick(), day(190))  # nudged, lapsed, and the programme ended
        outcome = c.MenteeOutcome.FURTHER_STUDIES
        await self.do(c.SubmitClosingReview(party=c.Party.MENTEE, rating=5, outcome=outcome), day(191))
        await self.do(c.SubmitClosingReview(party=c.Party.MENTOR, rating=4, comments="a pleasure"), day(192))

HEAD = "0012"
"""The newest migration: the schema revision every upgraded database reaches."""
