"""One cohort (intake): its plan, its matching rounds, its gatherings and its closing report."""

from domain.cohort.grouping import Group, gathering_plans, plan_groups
from domain.cohort.lifecycle import (
    CohortPlan,
    CohortStage,
    CohortState,
    PlannedGathering,
    RoundSummary,
    approve,
    begin_round,
    close,
    delivered,
    kickoff_done,
    proposed,
)
from domain.cohort.report import CohortReport, build_report

__all__ = [
    "CohortPlan",
    "CohortReport",
    "CohortStage",
    "CohortState",
    "Group",
    "PlannedGathering",
    "RoundSummary",
    "approve",
    "begin_round",
    "build_report",
    "close",
    "delivered",
    "gathering_plans",
    "kickoff_done",
    "plan_groups",
    "proposed",
]
