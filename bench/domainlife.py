"""Realistic partnership lifecycles made with the real domain (``decide`` and ``fold``), no Temporal.

Each lifecycle is a list of batches: the events one command caused, in order, as the workflow would
record them (one ``RecordStore.append`` per batch). A typical six months: applied, screened, matched,
both sign, six monthly meetings each with a diary entry, two gatherings, the programme ends, both closing
reviews. One in four pairs misses its fourth meeting and is nudged first (a timer with notices).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain import DegreeLevel, Institution, MenteeProfile
from domain.partnership import PartnershipState, decide, fold, initial_state
from domain.partnership import commands as c
from domain.partnership.events import Event

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
UNIVERSITY = Institution(institution_id="uni-helsinki", name="University of Helsinki", partner=True)


def lifecycle(partnership_id: str, cohort_id: str, index: int) -> tuple[list[list[Event]], PartnershipState]:
    """The batches of one partnership's log, and the state after them."""
    state = initial_state(partnership_id)
    batches: list[list[Event]] = []
    start = T0 + timedelta(minutes=index)

    def do(command: c.Command, days: float) -> None:
        nonlocal state
        events = decide(state, command, start + timedelta(days=days))
        if events:
            batches.append(events)
            state = fold(state, events)

    mentee = MenteeProfile(
        mentee_id=f"m{index:06d}",
        degree_level=DegreeLevel.MASTER,
        institution_id=UNIVERSITY.institution_id,
        field="data science",
        interests=("machine learning", "start-ups"),
        languages=("en", "fi"),
        goals=("a job in my field",),
    )
    do(c.SubmitApplication(cohort_id=cohort_id, mentee=mentee), 0)
    do(c.ScreenApplication(institution=UNIVERSITY), 0.01)
    do(c.ProposeMatch(mentor_id=f"mr-{index:06d}", score=0.8, reasons=("shared field: data science",)), 2)
    do(c.SignAgreement(party=c.Party.MENTEE, signature_ref=f"esign-{index}-1"), 3)
    do(c.SignAgreement(party=c.Party.MENTOR, signature_ref=f"esign-{index}-2"), 4)
    do(c.RecordGathering(gathering_id="kickoff", kind=c.GatheringKind.COLLECTIVE, hours=3), 5)
    misses = index % 4 == 0
    for month in range(1, 7):
        day = 4 + 27 * month
        if misses and month == 4:
            do(c.Tick(), day + 15)  # the meeting was due 30 days after the last: nudged after a week's grace
            day += 16
        do(c.LogMeeting(minutes=90, topics=(f"month {month}", "CV")), day)
        diary = c.AddDiaryEntry(reflection=f"What I learned in month {month}", goals=("network",), actions=("cv",))
        do(diary, day + 1)
        if month == 3:
            do(c.RecordGathering(gathering_id="workshop-1", kind=c.GatheringKind.GROUP, hours=2.5), day + 2)
    do(c.Tick(), 4 + 182 + 0.5)  # the programme ends
    outcome = c.MenteeOutcome.EMPLOYED_IN_FIELD
    do(c.SubmitClosingReview(party=c.Party.MENTEE, rating=5, outcome=outcome), 4 + 182 + 3)
    do(c.SubmitClosingReview(party=c.Party.MENTOR, rating=4, comments="A good programme"), 4 + 182 + 5)
    return batches, state
