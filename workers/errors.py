"""The CLI's one error path: what an expected failure is, and how one reads on the terminal.

Every expected failure ends the command with **one line on stderr** that says what to do next, and an exit
status a script can rely on:

- ``0``: done;
- ``1``: refused, or cannot be done now (the domain said no, it was already done, Temporal or the worker is
  not there): the line says why and what to do;
- ``2``: usage: a bad argument, file or id.

A traceback only with ``entrypoint --debug``. :func:`explain` turns what the Temporal SDK raises into such a
line, so the commands themselves only catch what they can say better.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2


class CommandError(Exception):
    """An expected failure: printed as one line on stderr; exit status 2 (usage) unless ``exit_code`` says 1."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class Refused(CommandError):
    """Refused or not possible now (exit status 1)."""

    exit_code = EXIT_REFUSED


def explain(error: BaseException, temporal_address: str) -> CommandError | None:
    """The one line for an error the Temporal SDK raised, or None when it is not one we expect."""
    from temporalio.client import RPCTimeoutOrCancelledError, WorkflowQueryFailedError
    from temporalio.exceptions import WorkflowAlreadyStartedError
    from temporalio.service import RPCError, RPCStatusCode

    from workers.partnerships import AlreadyExists, NotFound, Rejected

    # The facades' own failures (workers/partnerships.py, cohorts.py, gatherings.py), when a command lets one by.
    if isinstance(error, NotFound):
        return CommandError(f"{error}; check the id (`entrypoint partnerships list`)")
    if isinstance(error, AlreadyExists):
        return Refused(f"{error} (a workflow id is used once)")
    if isinstance(error, Rejected):
        return Refused(f"refused: {error}")
    if isinstance(error, WorkflowAlreadyStartedError):
        return Refused(
            f"workflow {error.workflow_id} is already running (it was started before; a workflow id is used once); "
            "see it with `entrypoint partnerships show` or `entrypoint cohort status`"
        )
    if isinstance(error, RPCTimeoutOrCancelledError):
        return Refused(
            "Temporal did not answer in time: is a worker running (`entrypoint worker`, or `make run`)? "
            "Try again when it is"
        )
    if isinstance(error, WorkflowQueryFailedError):
        return Refused(f"the workflow could not answer: {error.message}")
    if isinstance(error, RPCError):
        if error.status == RPCStatusCode.UNAVAILABLE:
            return Refused(unreachable(temporal_address))
        if error.status == RPCStatusCode.DEADLINE_EXCEEDED:
            return Refused(
                "Temporal did not answer in time: is a worker running (`entrypoint worker`, or `make run`)? "
                "Try again when it is"
            )
        if "already completed" in error.message:
            return Refused("that workflow has already finished; nothing more can be done (its status shows how)")
        if error.status == RPCStatusCode.NOT_FOUND:
            return CommandError(f"not found: {error.message}; check the id (`entrypoint partnerships list`)")
        return Refused(
            f"Temporal refused the request ({error.status.name if error.status else 'error'}): {error.message}"
        )
    return None


def unreachable(temporal_address: str) -> str:
    return (
        f"cannot reach Temporal at {temporal_address}: start it (`make run`, or `temporal server start-dev`) or set "
        "TEMPORAL_ADDRESS"
    )
