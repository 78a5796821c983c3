"""The history budget of a workflow run: when to continue as new (issue 15).

Temporal suggests continuing as new at about 4,000 events or 4 MB of history, and stops a workflow at 51,200
events or 50 MB. A run continues as new when Temporal suggests it or when its history reaches its budget,
whichever comes first; the budget travels with the carried state (small budgets are for tests).
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, Field, ValidationError
from temporalio import workflow
from temporalio.common import RawValue

from domain.errors import problems

C = TypeVar("C", bound=BaseModel)


class HistoryBudget(BaseModel):
    events: int = Field(default=3_000, ge=20)
    bytes: int = Field(default=3 * 1024 * 1024, ge=10_000)

    def spent(self) -> bool:
        """In a workflow: Temporal suggests continuing as new, or this run's history reached the budget."""
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= self.events
            or info.get_current_history_size() >= self.bytes
        )


def decoded(value: object) -> Any:
    """A start argument taken raw, as its JSON value. (With a second, optional argument, a start that passes only
    the first gets it already decoded: the SDK uses the type hints only when the counts match.)"""
    if isinstance(value, RawValue):
        return workflow.payload_converter().from_payload(value.payload)
    return value


def read_continued(model: type[C], raw: object, what: str) -> tuple[C | None, str | None]:
    """The second start argument of a workflow that continues as new (Gathering, Cohort): what the previous run
    carried, or None for a fresh start; else why it is refused (field names and problems, never the values).
    A carried ``state`` is taken only from the workflow's own continue-as-new; a fresh start may set a ``budget``."""
    if raw is None:
        return None, None
    try:
        payload = decoded(raw)
        if payload is None:
            return None, None
        carried = model.model_validate(payload)
    except ValidationError as error:
        return None, f"invalid continuation: {problems(error)}"
    except Exception:
        return None, "invalid continuation: not one JSON object"
    if getattr(carried, "state", None) is not None and workflow.info().continued_run_id is None:
        return None, f"a {what}'s state is carried over only by its own continue-as-new"
    return carried, None


__all__ = ["HistoryBudget", "decoded", "read_continued"]
