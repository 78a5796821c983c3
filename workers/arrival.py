"""When a command was received (issue 8): the client stamps it, the workflow reads the stamp.

A signal or update reaches the Temporal server before a deadline, but the workflow runs its handler only when a
worker picks the task up; with no worker (killed, restarting, starved under load) that is later, and
``workflow.now()`` is then the later task time. So the receiving client stamps every start, signal, update and
signal/update-with-start call with the header ``contract.RECEIVED_AT_HEADER`` (an ISO 8601 UTC time; no personal
data), and the worker's workflow interceptor hands the stamp to the inbox before the handler runs. The inbox clamps
it to the workflow's own clock (workflows/inbox.py, patch ``arrival-from-client-stamp``): a client cannot date a
command before the workflow's previous activation, nor after the task that delivers it.

``ReceivedAtStamp`` is installed by the one client set-up (``workers.temporal.connect`` and ``client_interceptors``:
every facade, the CLI, the gateway and the bench); ``ReceivedAtReader`` by every worker and replayer
(``workers.worker.WORKER_INTERCEPTORS``). The stamp is set once per call: the SDK's own retries of the same RPC send
the same request, a header already present (an outer interceptor, a caller's own) is kept, and an update sent
again with the same update id by the same client (a caller retrying through a fault) keeps its first stamp (the
client remembers the last ``REMEMBERED`` update ids).

Headers are in the workflow history (``WorkflowExecutionSignaled``, ``WorkflowExecutionUpdateAccepted``), so
replay reads the same stamps: deterministic. Headers are not encrypted by the payload codec (the SDK's default),
which is why the stamp must never carry anything but the time.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from temporalio import client, workflow
from temporalio.api.common.v1 import Payload
from temporalio.worker import (
    HandleSignalInput,
    HandleUpdateInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

from contract import RECEIVED_AT_HEADER

Headers = Mapping[str, Payload]

REMEMBERED = 10_000
"""How many update ids a client remembers the first stamp of."""


def stamp_payload(at: datetime) -> Payload:
    """The header's payload: ``at`` as a JSON string (ISO 8601, UTC)."""
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(at.astimezone(UTC).isoformat()).encode())


def read_stamp(headers: Headers | None) -> datetime | None:
    """The stamp in ``headers``, or None when there is none or it is not a timezone-aware ISO time (ignored)."""
    payload = (headers or {}).get(RECEIVED_AT_HEADER)
    if payload is None:
        return None
    try:
        text = json.loads(payload.data)
        at = datetime.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        return None
    if at is None or at.tzinfo is None:
        return None
    return at.astimezone(UTC)


def stamped(headers: Headers, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> dict[str, Payload]:
    """``headers`` with the receive stamp added (an existing stamp is kept)."""
    if RECEIVED_AT_HEADER in headers:
        return dict(headers)
    return {**headers, RECEIVED_AT_HEADER: stamp_payload(clock())}


# ------------------------------------------------------------------------------------------------ the client


class ReceivedAtStamp(client.Interceptor):
    """Client interceptor: stamps start, signal, update and with-start calls with when they were received."""

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.clock = clock
        self.updates: OrderedDict[tuple[str, str], datetime] = OrderedDict()
        """(workflow id, update id) -> the first stamp sent with it."""

    def intercept_client(self, next: client.OutboundInterceptor) -> client.OutboundInterceptor:
        return _StampOutbound(next, self.clock, self.updates)


class _StampOutbound(client.OutboundInterceptor):
    def __init__(
        self,
        next: client.OutboundInterceptor,
        clock: Callable[[], datetime],
        updates: OrderedDict[tuple[str, str], datetime],
    ) -> None:
        super().__init__(next)
        self._clock = clock
        self._updates = updates

    def _first(self, workflow_id: str, update_id: str | None) -> datetime:
        """The stamp of this update: the one it was first sent with, when this client sent it before."""
        at = self._clock()
        if update_id is None:
            return at
        key = (workflow_id, update_id)
        at = self._updates.setdefault(key, at)
        self._updates.move_to_end(key)
        while len(self._updates) > REMEMBERED:
            self._updates.popitem(last=False)
        return at

    async def start_workflow(self, input: client.StartWorkflowInput) -> client.WorkflowHandle[Any, Any]:
        input.headers = stamped(input.headers, self._clock)  # signal-with-start: the start signal's header too
        return await super().start_workflow(input)

    async def signal_workflow(self, input: client.SignalWorkflowInput) -> None:
        input.headers = stamped(input.headers, self._clock)
        await super().signal_workflow(input)

    async def start_workflow_update(self, input: client.StartWorkflowUpdateInput) -> client.WorkflowUpdateHandle[Any]:
        at = self._first(input.id, input.update_id)
        input.headers = stamped(input.headers, lambda: at)
        return await super().start_workflow_update(input)

    async def start_update_with_start_workflow(
        self, input: client.StartWorkflowUpdateWithStartInput
    ) -> client.WorkflowUpdateHandle[Any]:
        at = self._first(input.start_workflow_input.id, input.update_workflow_input.update_id)
        input.start_workflow_input.headers = stamped(input.start_workflow_input.headers, lambda: at)
        input.update_workflow_input.headers = stamped(input.update_workflow_input.headers, lambda: at)
        return await super().start_update_with_start_workflow(input)


# ------------------------------------------------------------------------------------------------ the worker


class ReceivedAtReader(Interceptor):
    """Worker interceptor: before a signal or update handler runs, hands its stamp (or None) to the inbox."""

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor] | None:
        return _ReadInbound


def _hand_over(headers: Headers) -> None:
    """Give the workflow's inbox (when it has one) the stamp of the message whose handler runs next.

    Handlers run their first step synchronously right after this (the inbox reads the stamp there), so each
    handler sees its own message's stamp, never another's."""
    inbox = getattr(workflow.instance(), "_inbox", None)
    receiving = getattr(inbox, "receiving", None)
    if callable(receiving):
        receiving(read_stamp(headers))


class _ReadInbound(WorkflowInboundInterceptor):
    async def handle_signal(self, input: HandleSignalInput) -> None:
        _hand_over(input.headers)
        await super().handle_signal(input)

    async def handle_update_handler(self, input: HandleUpdateInput) -> Any:
        _hand_over(input.headers)
        return await super().handle_update_handler(input)
