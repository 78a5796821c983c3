"""The outbox sweep: every worker delivers whatever is still pending, every ``interval`` seconds.

Why a sweep at all: a partnership's notices are delivered right after the events that caused them, by the
``record_and_deliver`` activity that recorded them (``deliver_notifications`` in histories from before it).
When the mail server is down (``record_and_deliver`` tries once and leaves the rest pending; the older
activity retried a few times), or the worker dies between writing a row and sending it, the row stays
pending until some later event of the same partnership. The sweep picks up every such row (partnerships'
and gatherings' alike) within one ``interval`` after the mail server is back
(``ENTRYPOINT_OUTBOX_SWEEP_INTERVAL``, default 60 s).

Why a loop owned by the worker process, not a Temporal Schedule:

- it keeps working while Temporal itself is down or restarting: an SMTP outage and a Temporal outage are
  independent faults, and the sweep only needs the records database and the mail server;
- nothing is added to the public contract (no workflow type, no schedule id to create, migrate or delete),
  and no history grows by one workflow run a minute for ever;
- it is safe with any number of workers: every message is claimed before it is sent (``claims``), exactly
  as the activity claims it, so two sweeps, or a sweep and an activity, never send one message twice.

A failing pass (mail server down, database unreachable) is logged and tried again at the next tick; it
never stops the loop or the worker. Logs carry counts only.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

import structlog

from activities.models import Delivered
from activities.notifications.delivery import DeliveryFailed, deliver_pending
from activities.notifications.gatherings import deliver_gathering_pending
from activities.notifications.smtp import Mailer
from activities.records.store import RecordStore

log = structlog.get_logger("entrypoint.notifications.sweep")

DEFAULT_INTERVAL = 60.0
"""Seconds between two passes (``ENTRYPOINT_OUTBOX_SWEEP_INTERVAL``)."""


@dataclass
class SweepPass:
    """What one pass did."""

    sent: int = 0
    undeliverable: int = 0
    pending: int = 0
    failed: str | None = None
    """Why the pass stopped early (the mail server or the database failed); None when it went through."""


@dataclass
class OutboxSweep:
    store: RecordStore
    mailer: Mailer
    interval: float = DEFAULT_INTERVAL
    passes: int = 0
    failed_passes: int = 0
    sent: int = 0
    _task: asyncio.Task[None] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.interval > 0:
            raise ValueError("the outbox sweep interval must be a positive number of seconds")

    async def sweep_once(self) -> SweepPass:
        """Deliver every pending message of every partnership and gathering, oldest first."""
        result = SweepPass()
        for deliver in (deliver_pending, deliver_gathering_pending):
            try:
                delivered: Delivered = await deliver(self.store, self.mailer)
            except DeliveryFailed as error:
                result.failed = str(error)
                break
            except Exception as error:  # the database is down, say: try again at the next tick
                result.failed = f"{type(error).__name__}"
                break
            result.sent += delivered.sent
            result.undeliverable += delivered.undeliverable
            result.pending += delivered.pending
        self.passes += 1
        self.sent += result.sent
        if result.failed is not None:
            self.failed_passes += 1
            log.warning("outbox.sweep_failed", sent=result.sent, reason=result.failed)
        elif result.sent or result.undeliverable:
            log.info("outbox.swept", sent=result.sent, undeliverable=result.undeliverable, pending=result.pending)
        return result

    async def run(self) -> None:
        """Sweep at once (what a dead worker left pending), then every ``interval`` seconds until cancelled."""
        while True:
            await self.sweep_once()
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self.run(), name="outbox-sweep")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def __aenter__(self) -> OutboxSweep:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
