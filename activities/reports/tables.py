"""The cohort report as tables: one row per partnership, and each of the report's tables, for CSV files and the
HTML report. Pure.

No personal data: ids, stages, dates, counts, hours, attention kinds and outcome codes only. Never a name, an
e-mail address, diary text, meeting notes, review comments, agreement topics or any reason given in words
(those are free text, written by people).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from domain.cohort import CohortReport
from domain.partnership.state import AttentionRecord, PartnershipState


@dataclass(frozen=True)
class Table:
    """A table: a file name stem, a header row and its rows (every cell text)."""

    name: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


Moment = Callable[[datetime | None], str]


def iso(value: datetime | None) -> str:
    """A moment for a machine: ISO 8601 in UTC (``2026-03-02T10:00:00+00:00``); empty when not set."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds")


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _attention(records: Sequence[AttentionRecord], moment: Moment) -> str:
    """The attention history in one cell: ``MEETING_LAPSED raised ... by meeting_lapsed, cleared ... by ...``,
    one entry per attention, separated by ``; `` (kinds, event types and dates only: no reasons)."""
    parts = []
    for r in records:
        cleared = f"cleared {moment(r.cleared_at)} by {r.cleared_by}" if r.cleared_at else "open"
        parts.append(f"{r.attention.value} raised {moment(r.raised_at)} by {r.raised_by}, {cleared}")
    return "; ".join(parts)


PARTNERSHIP_COLUMNS = (
    "partnership_id",
    "cohort_id",
    "mentee_id",
    "mentor_id",
    "institution_id",
    "stage",
    "matched_at",
    "signing_due",
    "mentee_signed_at",
    "mentor_signed_at",
    "starts_on",
    "ends_on",
    "last_meeting_at",
    "next_meeting_due",
    "review_due",
    "meetings_held",
    "meeting_hours",
    "gathering_hours",
    "total_hours",
    "gatherings_attended",
    "diary_entries",
    "lapses",
    "interventions",
    "rematches",
    "attention",
    "attention_raised",
    "attention_history",
    "mentee_rating",
    "mentor_rating",
    "outcome",
)
"""The columns of ``partnerships.csv`` (and of the HTML report's per-partnership table)."""


def partnership_row(state: PartnershipState, moment: Moment = iso) -> tuple[str, ...]:
    agreement = state.agreement
    signatures = agreement.signatures if agreement else {}
    mentee_review, mentor_review = state.reviews.get("mentee"), state.reviews.get("mentor")
    values = {
        "partnership_id": state.partnership_id,
        "cohort_id": state.cohort_id or "",
        "mentee_id": state.mentee_id or "",
        "mentor_id": state.mentor_id or "",
        "institution_id": state.institution_id or "",
        "stage": state.stage.value if state.stage else "",
        "matched_at": moment(state.matched_at),
        "signing_due": moment(agreement.signing_due if agreement else None),
        "mentee_signed_at": moment(signatures["mentee"].signed_at if "mentee" in signatures else None),
        "mentor_signed_at": moment(signatures["mentor"].signed_at if "mentor" in signatures else None),
        "starts_on": moment(agreement.starts_on if agreement else None),
        "ends_on": moment(agreement.ends_on if agreement else None),
        "last_meeting_at": moment(state.last_meeting_at),
        "next_meeting_due": moment(state.next_meeting_due),
        "review_due": moment(state.review_window.due if state.review_window else None),
        "meetings_held": str(state.meetings_held),
        "meeting_hours": _number(state.meeting_hours),
        "gathering_hours": _number(state.gathering_hours),
        "total_hours": _number(state.total_hours),
        "gatherings_attended": str(state.gatherings_attended),
        "diary_entries": str(state.diary_entries),
        "lapses": str(state.lapses),
        "interventions": str(state.interventions),
        "rematches": str(len(state.previous_mentor_ids)),
        "attention": state.attention.value if state.attention else "",
        "attention_raised": str(len(state.attention_history)),
        "attention_history": _attention(state.attention_history, moment),
        "mentee_rating": str(mentee_review.rating) if mentee_review else "",
        "mentor_rating": str(mentor_review.rating) if mentor_review else "",
        "outcome": (mentee_review.outcome or "not reported") if mentee_review else "",
    }
    return tuple(values[column] for column in PARTNERSHIP_COLUMNS)


def partnerships_table(states: Sequence[PartnershipState], moment: Moment = iso) -> Table:
    ordered = sorted(states, key=lambda s: s.partnership_id)
    return Table("partnerships", PARTNERSHIP_COLUMNS, tuple(partnership_row(s, moment) for s in ordered))


def _counts(name: str, key: str, value: str, counts: dict[str, int] | dict[str, float]) -> Table:
    return Table(name, (key, value), tuple((k, _number(v)) for k, v in counts.items()))


def report_tables(report: CohortReport, summary_rows: Sequence[tuple[str, str]]) -> list[Table]:
    """The report's own tables: the summary (as the terminal shows it) and each breakdown."""
    h = report.hours
    history = tuple(
        (pid, r.attention.value, iso(r.raised_at), r.raised_by, iso(r.cleared_at), r.cleared_by or "")
        for pid, records in sorted(report.attention_history.items())
        for r in records
    )
    ratings = {"mentee": report.mentee_rating_mean, "mentor": report.mentor_rating_mean}
    return [
        Table("summary", ("measure", "value"), tuple((k.strip(), v) for k, v in summary_rows)),
        _counts("by_stage", "stage", "partnerships", report.by_stage),
        _counts("meetings_distribution", "meetings_held", "pairs", report.meetings_distribution),
        Table(
            "hours",
            ("band", "pairs", "target_min", "target_max"),
            tuple(
                (band, str(n), _number(h.target_min), _number(h.target_max))
                for band, n in (("below", h.below_target), ("within", h.within_target), ("above", h.above_target))
            ),
        ),
        _counts("outcomes", "outcome", "mentees", report.outcomes),
        _counts("open_attention", "attention", "partnerships", report.open_attention),
        _counts("attention_raised", "attention", "times", report.attention_raised),
        Table(
            "attention_history",
            ("partnership_id", "attention", "raised_at", "raised_by", "cleared_at", "cleared_by"),
            history,
        ),
        Table("ratings", ("party", "mean_rating"), tuple((k, _number(v)) for k, v in ratings.items())),
    ]
