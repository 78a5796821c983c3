"""The cohort's lifecycle: collect applications, run matching rounds (approved by a coordinator or
automatically), deliver the matches, kick off, run the gatherings, close with a report.

Pure: each function takes the state and returns the next one, or raises DomainRejection with a reason.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import Field, model_validator

from domain.errors import DomainRejection
from domain.frozen import Frozen
from domain.limits import Line, at_most
from domain.partnership.commands import GatheringKind
from domain.people import Id


class PlannedGathering(Frozen):
    """A gathering the plan schedules. Group meetings by subject are formed at kickoff from shared interests."""

    gathering_id: Id
    kind: GatheringKind
    subject: Line
    starts_at: datetime
    hours: float = Field(default=2.0, gt=0, le=12)
    place: Line = "to be announced"
    capacity: int | None = Field(default=None, ge=1, le=500)


class CohortPlan(Frozen):
    """The input of the Cohort workflow: dates, coordinator, policy, matching approval and gatherings."""

    cohort_id: Id
    coordinator_id: Id | None = None
    applications_close: datetime
    matching_at: datetime
    kickoff_at: datetime
    programme_end: datetime
    review_window: timedelta = timedelta(days=14)
    """After the programme end, how long the cohort waits for closing reviews before its report."""
    auto_approve: bool = False
    policy: Annotated[dict[str, Any], at_most("POLICY_OVERRIDES")] | None = None
    """Policy overrides for the cohort's partnerships (informational here; applications carry their own)."""
    gatherings: Annotated[tuple[PlannedGathering, ...], at_most("PLAN_GATHERINGS")] = ()
    group_subjects_at: datetime | None = None
    """When to hold the subject group meetings formed from shared interests (None: no automatic groups)."""
    group_hours: float = Field(default=2.0, gt=0, le=12)
    attendance_grace: timedelta | None = None
    """How long after each gathering its attendance may be recorded (None: the gathering's default, 7 days)."""
    gathering_length: timedelta | None = None
    """How long each gathering runs, when not its hours (a demo's fast clock; None: its hours)."""

    @model_validator(mode="after")
    def _dates_in_order(self) -> Self:
        for name in ("applications_close", "matching_at", "kickoff_at", "programme_end"):
            if getattr(self, name).tzinfo is None:
                raise ValueError(f"{name} needs a time zone")
        if not (self.applications_close <= self.matching_at <= self.kickoff_at < self.programme_end):
            raise ValueError("dates must run applications_close <= matching_at <= kickoff_at < programme_end")
        ids = [g.gathering_id for g in self.gatherings]
        if len(ids) != len(set(ids)):
            raise ValueError("gathering ids must be unique within the plan")
        return self


class CohortStage(StrEnum):
    COLLECTING_APPLICATIONS = "COLLECTING_APPLICATIONS"
    MATCHING = "MATCHING"
    AWAITING_APPROVAL = "AWAITING_APPROVAL"
    DELIVERING_MATCHES = "DELIVERING_MATCHES"
    RUNNING = "RUNNING"
    CLOSING = "CLOSING"
    CLOSED = "CLOSED"


class RoundSummary(Frozen):
    round_id: str
    number: int
    matched: int
    unmatched: int
    mean_score: float
    top3_share: float
    approved: bool = False
    delivered: int = 0
    pins: int = 0
    exclusions: int = 0


class CohortState(Frozen):
    cohort_id: str
    stage: CohortStage = CohortStage.COLLECTING_APPLICATIONS
    rounds: tuple[RoundSummary, ...] = ()
    kicked_off: bool = False
    gatherings_started: int = 0

    @property
    def current_round(self) -> RoundSummary | None:
        return self.rounds[-1] if self.rounds else None


def begin_round(state: CohortState) -> CohortState:
    if state.stage in (CohortStage.MATCHING, CohortStage.AWAITING_APPROVAL, CohortStage.DELIVERING_MATCHES):
        raise DomainRejection(f"a matching round is already under way ({state.stage})")
    if state.stage in (CohortStage.CLOSING, CohortStage.CLOSED):
        raise DomainRejection(f"the cohort is {state.stage}; no more matching rounds")
    return state.replace(stage=CohortStage.MATCHING)


def proposed(state: CohortState, summary: RoundSummary) -> CohortState:
    """A round's proposals are ready (or re-computed with new pins and exclusions)."""
    if state.stage not in (CohortStage.MATCHING, CohortStage.AWAITING_APPROVAL):
        raise DomainRejection(f"no matching round is being prepared ({state.stage})")
    rounds = state.rounds
    if rounds and rounds[-1].number == summary.number:
        rounds = rounds[:-1]
    return state.replace(stage=CohortStage.AWAITING_APPROVAL, rounds=(*rounds, summary))


def approve(state: CohortState, round_id: str | None) -> CohortState:
    current = state.current_round
    if state.stage != CohortStage.AWAITING_APPROVAL or current is None:
        raise DomainRejection(f"no matching round awaits approval (the cohort is {state.stage})")
    if round_id is not None and round_id != current.round_id:
        raise DomainRejection(f"round {round_id} is not the one awaiting approval ({current.round_id})")
    rounds = (*state.rounds[:-1], current.replace(approved=True))
    return state.replace(stage=CohortStage.DELIVERING_MATCHES, rounds=rounds)


def delivered(state: CohortState, count: int) -> CohortState:
    current = state.current_round
    if state.stage != CohortStage.DELIVERING_MATCHES or current is None:
        raise DomainRejection("no approved round is being delivered")
    rounds = (*state.rounds[:-1], current.replace(delivered=count))
    return state.replace(stage=CohortStage.RUNNING, rounds=rounds)


def kickoff_done(state: CohortState, gatherings_started: int) -> CohortState:
    return state.replace(kicked_off=True, gatherings_started=state.gatherings_started + gatherings_started)


def close(state: CohortState, final: bool) -> CohortState:
    return state.replace(stage=CohortStage.CLOSED if final else CohortStage.CLOSING)
