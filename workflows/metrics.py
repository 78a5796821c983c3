"""The engine's workflow-side metrics: commands decided and rejected, attention raised and cleared.

Through ``workflow.metric_meter()``, which emits nothing while a history is replayed, so a worker restart or a
cache eviction never counts a command twice. Attributes are kinds only (workflow type, command, attention kind).
"""

from __future__ import annotations

from temporalio import workflow

COMMANDS = "entrypoint_commands"
"""Commands decided, by ``workflow``, ``command`` (the signal/update name, ``timer``, ``application``…) and
``outcome`` (``accepted`` | ``rejected``)."""
ATTENTION_RAISED = "entrypoint_attention_raised"
ATTENTION_CLEARED = "entrypoint_attention_cleared"
COUNTERS = (COMMANDS, ATTENTION_RAISED, ATTENTION_CLEARED)
"""Exported with the ``_total`` suffix."""


def command_decided(workflow_type: str, command: str, rejected: bool) -> None:
    workflow.metric_meter().create_counter(COMMANDS, "commands decided").add(
        1, {"workflow": workflow_type, "command": command, "outcome": "rejected" if rejected else "accepted"}
    )


def attention_changed(before: str | None, after: str | None) -> None:
    """Count a raised attention (a new kind) and a cleared one (the kind it replaced or that went away)."""
    if before == after:
        return
    meter = workflow.metric_meter()
    if before is not None:
        meter.create_counter(ATTENTION_CLEARED, "attention cleared").add(1, {"kind": str(before)})
    if after is not None:
        meter.create_counter(ATTENTION_RAISED, "attention raised").add(1, {"kind": str(after)})
