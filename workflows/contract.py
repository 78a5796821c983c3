"""Compatibility: the contract moved to the top-level ``contract`` package (one module per workflow)."""

from contract import STATUS_QUERY, TASK_QUEUE, Deadline, SearchAttributes
from contract.gathering import WORKFLOW_TYPE as GATHERING_WORKFLOW_TYPE
from contract.gathering import GatheringSearchAttributes, GatheringStatus, gathering_workflow_id
from contract.partnership import MESSAGES as SIGNAL_COMMANDS
from contract.partnership import WORKFLOW_TYPE, Application, PartnershipStatus, partnership_id

DEFAULT_TASK_QUEUE = TASK_QUEUE

__all__ = [
    "DEFAULT_TASK_QUEUE",
    "GATHERING_WORKFLOW_TYPE",
    "SIGNAL_COMMANDS",
    "STATUS_QUERY",
    "WORKFLOW_TYPE",
    "Application",
    "Deadline",
    "GatheringSearchAttributes",
    "GatheringStatus",
    "PartnershipStatus",
    "SearchAttributes",
    "gathering_workflow_id",
    "partnership_id",
]
