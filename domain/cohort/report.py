"""The cohort report: what a cohort achieved, computed from its partnerships' states. Pure."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from statistics import fmean, median

from domain.frozen import Frozen
from domain.partnership.state import AttentionRecord, PartnershipState, Stage


class HoursReport(Frozen):
    target_min: float
    target_max: float
    mean_total: float
    below_target: int
    within_target: int
    above_target: int


class CheckinReport(Frozen):
    """The check-in pulse surveys of a cohort: answers asked for (one per party per round), given, low."""

    rounds: int = 0
    """Check-in rounds asked, over all partnerships."""
    asked: int = 0
    """Answers asked for: each round asks both parties."""
    answered: int = 0
    low: int = 0
    """Answers with a score of 2 or less, or not meeting as planned (each raised CHECKIN_LOW unless another
    attention was open)."""
    not_meeting: int = 0
    """Answers that said the pair is not meeting as planned."""
    nudged: int = 0
    """Parties nudged because they had not answered within the window."""
    scores: dict[str, int] = {}
    """How many answers gave each score, "1" to "5"."""


class CohortReport(Frozen):
    cohort_id: str
    partnerships: int
    by_stage: dict[str, int]
    started_pairs: int
    """Pairs that signed their agreement (the denominators below are these)."""
    meetings_mean: float
    meetings_median: float
    meetings_distribution: dict[str, int]
    hours: HoursReport
    lapses: int
    pairs_with_lapses: int
    interventions: int
    open_attention: dict[str, int]
    diary_entries_mean: float
    gatherings_attended_mean: float
    mentee_rating_mean: float | None
    mentor_rating_mean: float | None
    reviews_received: int
    outcomes: dict[str, int]
    rematches: int
    attention_raised: dict[str, int] = {}
    """How often each attention was raised over the cohort's life (open or cleared since)."""
    attention_history: dict[str, list[AttentionRecord]] = {}
    """Per partnership (only those that ever needed a coordinator): each attention, raised and cleared by what
    (never the reasons given: those are free text)."""
    checkins: CheckinReport = CheckinReport()


def _mean(values: Sequence[float]) -> float:
    return round(fmean(values), 2) if values else 0.0


def _without_words(record: AttentionRecord) -> AttentionRecord:
    """The record without the reasons given in words (free text, written by people): the report carries no
    personal data."""
    if record.reason is None and record.cleared_reason is None:
        return record
    return record.model_copy(update={"reason": None, "cleared_reason": None})


def checkin_report(states: Sequence[PartnershipState]) -> CheckinReport:
    rounds = [r for s in states for r in s.checkins]
    answers = [a for r in rounds for a in r.answers.values()]
    scores = Counter(a.score for a in answers)
    return CheckinReport(
        rounds=len(rounds),
        asked=2 * len(rounds),
        answered=len(answers),
        low=sum(1 for a in answers if a.low),
        not_meeting=sum(1 for a in answers if not a.meeting_as_planned),
        nudged=sum(len(r.nudged_parties) for r in rounds),
        scores={str(n): scores[n] for n in range(1, 6)} if answers else {},
    )


def build_report(cohort_id: str, states: Sequence[PartnershipState]) -> CohortReport:
    started = [s for s in states if s.agreement is not None and s.agreement.starts_on is not None]
    meetings = [s.meetings_held for s in started]
    distribution = Counter(str(n) if n < 6 else "6+" for n in meetings)
    target_min = states[0].policy.target_hours_min if states else 16.0
    target_max = states[0].policy.target_hours_max if states else 24.0
    hours = [s.total_hours for s in started]
    mentee_ratings = [s.reviews["mentee"].rating for s in states if "mentee" in s.reviews]
    mentor_ratings = [s.reviews["mentor"].rating for s in states if "mentor" in s.reviews]
    outcomes = Counter(s.reviews["mentee"].outcome or "not reported" for s in states if "mentee" in s.reviews)
    return CohortReport(
        cohort_id=cohort_id,
        partnerships=len(states),
        by_stage={stage.value: n for stage in Stage if (n := sum(1 for s in states if s.stage == stage))},
        started_pairs=len(started),
        meetings_mean=_mean(meetings),
        meetings_median=float(median(meetings)) if meetings else 0.0,
        meetings_distribution={k: distribution[k] for k in ["0", "1", "2", "3", "4", "5", "6+"] if distribution[k]},
        hours=HoursReport(
            target_min=target_min,
            target_max=target_max,
            mean_total=_mean(hours),
            below_target=sum(1 for h in hours if h < target_min),
            within_target=sum(1 for h in hours if target_min <= h <= target_max),
            above_target=sum(1 for h in hours if h > target_max),
        ),
        lapses=sum(s.lapses for s in states),
        pairs_with_lapses=sum(1 for s in states if s.lapses),
        interventions=sum(s.interventions for s in states),
        open_attention=dict(sorted(Counter(s.attention.value for s in states if s.attention).items())),
        diary_entries_mean=_mean([s.diary_entries for s in started]),
        gatherings_attended_mean=_mean([s.gatherings_attended for s in started]),
        mentee_rating_mean=_mean(mentee_ratings) if mentee_ratings else None,
        mentor_rating_mean=_mean(mentor_ratings) if mentor_ratings else None,
        reviews_received=len(mentee_ratings) + len(mentor_ratings),
        outcomes=dict(sorted(outcomes.items())),
        rematches=sum(len(s.previous_mentor_ids) for s in states),
        attention_raised=dict(sorted(Counter(r.attention.value for s in states for r in s.attention_history).items())),
        attention_history={
            s.partnership_id: [_without_words(r) for r in s.attention_history] for s in states if s.attention_history
        },
        checkins=checkin_report(states),
    )
