"""The Cohort workflow's contract: one intake's matching rounds, kickoff gatherings and closing report."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from contract.common import STATUS_QUERY, TASK_QUEUE, SearchAttributes
from contract.partnership import RejectionView
from domain.cohort import CohortReport, RoundSummary
from domain.limits import Line, at_most
from domain.people import Id

WORKFLOW_TYPE = "Cohort"
RUN_MATCHING = "run_matching"
"""Signal: a further matching round (:class:`RunMatching`)."""
APPROVE_MATCHING = "approve_matching"
"""Update: approve the round awaiting approval (:class:`MatchingApproval`); returns :class:`CohortStatus`."""


def cohort_workflow_id(cohort_id: str) -> str:
    """The workflow ID: ``cohort-{cohort_id}``."""
    return f"cohort-{cohort_id}"


class PinSpec(BaseModel):
    """A pair a coordinator fixes (a pin) or forbids (an exclusion) in a matching round."""

    model_config = ConfigDict(frozen=True)

    mentee_id: Id
    mentor_id: Id


class MatchingApproval(BaseModel):
    """The ``approve_matching`` update: approve the round, optionally with pins and exclusions first."""

    round_id: str | None = Field(default=None, max_length=200)
    """Bounded: a rejection names the round, and a huge one would not fit in the workflow task's answer."""
    pins: Annotated[tuple[PinSpec, ...], at_most("PINS")] = ()
    exclusions: Annotated[tuple[PinSpec, ...], at_most("PINS")] = ()


class RunMatching(BaseModel):
    """The ``run_matching`` signal: a further round for late applicants and rematch requests."""

    reason: Line = "requested by a coordinator"


SIGNALS: Mapping[str, type[BaseModel]] = {RUN_MATCHING: RunMatching}
"""The Cohort's signals and the command each carries (the raw payload is parsed with it, so a malformed one is
rejected and recorded in the status, never dropped); a signal of any other name is rejected and recorded too."""


class CohortStatus(BaseModel):
    cohort_id: str
    stage: str
    rounds: list[RoundSummary]
    kicked_off: bool
    gatherings_started: int
    waiting_for: str
    report: CohortReport | None = None
    matching_note: str | None = None
    """Why the last ``run_matching`` started no round of its own (coalesced), or why an approval was refused."""
    rejections: int = 0
    """Signals rejected so far (malformed, not JSON, or of an unknown name): nothing else changed for them."""
    last_rejection: RejectionView | None = None
    """The last signal rejected: its name, why (the field and the problem, never the value), and when."""


__all__ = [
    "APPROVE_MATCHING",
    "RUN_MATCHING",
    "SIGNALS",
    "STATUS_QUERY",
    "TASK_QUEUE",
    "WORKFLOW_TYPE",
    "CohortStatus",
    "MatchingApproval",
    "PinSpec",
    "RejectionView",
    "RunMatching",
    "SearchAttributes",
    "cohort_workflow_id",
]
