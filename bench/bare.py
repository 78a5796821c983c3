"""The bare floor: a Temporal workflow of the Partnership's shape with no domain and no database.

It takes the same signals (the same JSON payloads) and runs ONE no-op activity for each, plus one when it
starts (the registration) and one when its "programme" timer fires (the end of the programme). It has a
``stage`` query the driver polls exactly as it polls the Partnership's ``status``. Whatever the engine
costs beyond this is the engine's own.

This module holds a workflow: the sandbox re-imports it, so it must stay free of side effects.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.common import RawValue

BARE_WORKFLOW_TYPE = "BareLifecycle"
BARE_ACTIVITY = "bare_noop"


class BareSpec(BaseModel):
    signals: int
    """How many signals make the whole lifecycle (it completes after the last)."""
    timer_after: int
    """The programme timer starts once this many signals are processed (the second signature)."""
    timer_seconds: float


@activity.defn(name=BARE_ACTIVITY)
async def bare_noop(step: str) -> None:
    return None


@workflow.defn(name=BARE_WORKFLOW_TYPE)
class BareLifecycle:
    @workflow.init
    def __init__(self, spec: BareSpec) -> None:
        self._inbox: deque[tuple[str, Any]] = deque()
        self._stage = "OPEN"

    @workflow.run
    async def run(self, spec: BareSpec) -> int:
        await self._step("start")
        processed = 0
        ends_at = None
        while processed < spec.signals:
            if ends_at is None and processed >= spec.timer_after:
                ends_at = workflow.now() + timedelta(seconds=spec.timer_seconds)
            if ends_at is not None and self._stage == "OPEN":
                remaining = (ends_at - workflow.now()).total_seconds()
                try:
                    if remaining <= 0:
                        raise TimeoutError
                    await workflow.wait_condition(lambda: bool(self._inbox), timeout=remaining)
                except TimeoutError:
                    self._stage = "ENDED"
                    await self._step("timer")
                    continue
            else:
                await workflow.wait_condition(lambda: bool(self._inbox))
            name, _payload = self._inbox.popleft()
            await self._step(name)
            processed += 1
        return processed

    async def _step(self, name: str) -> None:
        await workflow.execute_activity(BARE_ACTIVITY, name, start_to_close_timeout=timedelta(seconds=15))

    @workflow.signal(dynamic=True)
    def any_signal(self, name: str, args: Sequence[RawValue]) -> None:
        # Decoded like the Partnership decodes its raw payloads, so both pay for the JSON.
        payload = workflow.payload_converter().from_payload(args[0].payload) if args else None
        self._inbox.append((name, payload))

    @workflow.query(name="stage")
    def stage(self) -> str:
        return self._stage
