"""The history budget of a workflow run: when to continue as new (issue 15).

Temporal suggests continuing as new at about 4,000 events or 4 MB of history, and stops a workflow at 51,200
events or 50 MB. A run continues as new when Temporal suggests it or when its history reaches its budget,
whichever comes first; the budget travels with the carried state (small budgets are for tests).
"""

from __future__ import annotations

from pydantic import BaseModel, Field
from temporalio import workflow


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


__all__ = ["HistoryBudget"]
