"""The one message loop of the decider workflows (Partnership, Gathering): what arrived, in the order it arrived.

A message is declared once, in the contract's table (name -> the command it carries); its handlers come from that
declaration: ``signal(name)`` and ``update(name, Status)`` build the Temporal handlers, one line each in the
workflow class, so their public names are exactly the table's. Signals take the raw payload, so a malformed one is
rejected and recorded, never dropped or a failed task; updates are validated first (a rejection leaves no trace in
the history and reaches the caller as a non-retryable ``ApplicationError``), then wait their turn.

Arrival time (patch ``arrival-time``): each message is stamped with ``workflow.now()`` when its handler runs, and
counts as of then: a timer that fell due before it is decided first, one that fell due after it waits until it is
decided, and the domain is given the arrival time as ``now``. So slow record-keeping or delivery, which holds the
loop up, never changes what a party did in time. Histories from before the patch keep the old order (a timer
already past when the loop gets to it goes first) and the loop's clock.

Arrival from the client's stamp (patch ``arrival-from-client-stamp``, issue 8; asked by the loop, never in a
handler: a patch marker recorded inside an update's handler failed to replay after a failed workflow task in the
loaded worker drill). ``workflow.now()`` in a handler is the time of the workflow task that delivers the
message, which is late when no worker ran (killed, restarting,
starved under load) while the message waited on the server. So the receiving client stamps each call with the
header ``entrypoint-received-at`` (workers/arrival.py) and the worker's interceptor hands the stamp to the inbox
(``receiving``) just before the handler runs. The message then arrives at the stamp *clamped* to
[the last ``workflow.now()`` the workflow saw before this activation (its start time in a run's first
activation), ``workflow.now()``]: a message not delivered in an earlier activation cannot have arrived before it,
so a client can back-date nothing the workflow already decided past, and a client clock ahead of the server's
counts as of delivery. No stamp (a raw ``temporal workflow signal``, a client without the interceptor): arrival is
``workflow.now()``, as before. The stamps are in the history (headers), so replay is deterministic; histories from
before the patch ignore them.
"""

from __future__ import annotations

import inspect
import re
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar, cast

from temporalio import workflow
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from domain.errors import DomainRejection, from_payload
    from workflows.waiting import arrived_before

REJECT_UNKNOWN_SIGNALS = "reject-unknown-signals"
"""Patch: a signal of an unknown name is recorded as rejected (histories from before it dropped it)."""
ARRIVAL_TIME = "arrival-time"
"""Patch: messages count as of their arrival (histories from before it: as of when the loop got to them)."""
ARRIVAL_FROM_STAMP = "arrival-from-client-stamp"
"""Patch: a message arrives at its client's receive stamp, clamped to the workflow's clock (histories from before
it: when its handler ran)."""

R = TypeVar("R")


class Due(Protocol):
    @property
    def at(self) -> datetime: ...

    @property
    def waiting_for(self) -> str: ...


@dataclass
class Pending(Generic[R]):
    """A signal or update waiting its turn. ``invalid`` says why its payload did not make a command."""

    name: str
    command: Any
    arrived_at: datetime
    """When its handler ran (``workflow.now()``)."""
    invalid: str | None = None
    stamped_at: datetime | None = None
    """Its client's receive stamp clamped to the workflow's clock when the handler ran (None: no stamp)."""
    done: bool = False
    rejected: str | None = None
    result: R | None = None


def parse_signal(messages: Mapping[str, type[BaseModel]], name: str, raw: RawValue) -> BaseModel:
    """The command a raw signal payload carries (also the Cohort's signals); ValueError with a readable reason
    naming the field and the problem, never the input values, when it is not JSON or not a valid command."""
    try:
        payload = workflow.payload_converter().from_payload(raw.payload)
    except Exception:
        raise ValueError(f"{name} takes one JSON object") from None
    if name not in messages:
        raise ValueError(f"unknown message {name}")
    return from_payload(messages[name], name, payload)


def unknown_signal(name: str, signals: Iterable[str]) -> tuple[str, str]:
    """A signal name no message has: the name as shown (cleaned and cut short) and the rejection's reason."""
    shown = re.sub(r"[^A-Za-z0-9_.-]", "?", name)[:64] or "?"
    return shown, f"unknown signal {shown}; the signals are: {', '.join(signals)}"


class Inbox(Generic[R]):
    """The pending messages of one workflow, and how they become commands."""

    def __init__(
        self, messages: Mapping[str, type[BaseModel]], check: Callable[[Any], None], status: Callable[[], R]
    ) -> None:
        self.messages = messages
        self._check = check
        """Raises DomainRejection when a command would be refused now (the update validator)."""
        self._status = status
        self._queue: deque[Pending[R]] = deque()
        self._stamp: datetime | None = None
        """The receive stamp of the message whose handler runs next (``receiving``), taken by its handler."""
        self._seen: datetime | None = None
        """The latest ``workflow.now()`` the inbox saw, and the one before it (another activation's)."""
        self._seen_before: datetime | None = None

    def __bool__(self) -> bool:
        return bool(self._queue)

    def command(self, name: str, payload: Any) -> BaseModel:
        """The command a message carries; ValueError with a readable reason (no input values) when malformed."""
        if name not in self.messages:
            raise ValueError(f"unknown message {name}")
        return from_payload(self.messages[name], name, payload)

    # ------------------------------------------------------------------------------------------ arriving

    def receiving(self, stamp: datetime | None) -> None:
        """The worker's interceptor: the next handler's message was received by its client at ``stamp``."""
        self._stamp = stamp

    def observe(self) -> datetime:
        """``workflow.now()``, remembering the last one of an earlier activation (the bound of back-dating)."""
        now = workflow.now()
        if self._seen is None or now > self._seen:
            self._seen_before, self._seen = self._seen, now
        return now

    def stamp(self) -> datetime | None:
        """The receive stamp of the message whose handler runs now, clamped to [the workflow's clock before this
        activation (the run's start in its first), ``workflow.now()``]; None without one. Whether it counts is
        decided by the loop (``arrival``): no patch is asked in a handler."""
        now = self.observe()
        stamp, self._stamp = self._stamp, None
        if stamp is None:
            return None
        floor = self._seen_before if self._seen_before is not None else workflow.info().workflow_start_time
        return min(max(stamp, min(floor, now)), now)

    def receive_signal(self, name: str, raw: Any, extra: int = 0) -> None:
        """Queue a signal. One that is not JSON or not a valid command is queued too, to be rejected and recorded;
        so is one with no payload or several (``raw`` is then not a RawValue, or ``extra`` counts the others)."""
        now, stamp = workflow.now(), self.stamp()
        try:
            if not isinstance(raw, RawValue) or extra:
                raise ValueError(f"{name} takes one JSON object")
            self._queue.append(Pending(name, parse_signal(self.messages, name, raw), now, stamped_at=stamp))
        except ValueError as error:
            self._queue.append(Pending(name, None, now, invalid=str(error), stamped_at=stamp))

    def receive_unknown(self, name: str) -> None:
        """Queue a signal of a name no message has, to be rejected and recorded (the name cleaned and cut short)."""
        shown, reason = unknown_signal(name, self.messages)
        self._queue.append(Pending(shown, None, workflow.now(), invalid=reason, stamped_at=self.stamp()))

    async def receive_update(self, name: str, payload: Any) -> R:
        stamp = self.stamp()
        pending: Pending[R] = Pending(name, self.command(name, payload), workflow.now(), stamped_at=stamp)
        self._queue.append(pending)
        await workflow.wait_condition(lambda: pending.done)
        if pending.rejected:
            raise ApplicationError(pending.rejected, type="DomainRejection", non_retryable=True)
        assert pending.result is not None
        return pending.result

    def validate(self, name: str, payload: Any) -> None:
        """The update validator: a malformed or refused update is rejected before it is accepted (not retryable)."""
        try:
            self._check(self.command(name, payload))
        except DomainRejection as rejection:
            raise ApplicationError(rejection.message, type="DomainRejection", non_retryable=True) from None
        except ValueError as error:
            raise ApplicationError(str(error), type="InvalidPayload", non_retryable=True) from None

    # ------------------------------------------------------------------------------------------- the loop

    @property
    def by_arrival(self) -> bool:
        """Whether messages count as of their arrival (memoised per run by the SDK)."""
        return workflow.patched(ARRIVAL_TIME)

    @property
    def from_stamp(self) -> bool:
        """Whether a message's receive stamp is its arrival (memoised per run by the SDK; asked only by the loop)."""
        return workflow.patched(ARRIVAL_FROM_STAMP)

    def arrival(self, pending: Pending[R]) -> datetime:
        """When ``pending`` arrived: its clamped receive stamp, else when its handler ran."""
        if self.from_stamp and pending.stamped_at is not None:
            return pending.stamped_at
        return pending.arrived_at

    async def next(self, due: Due | None) -> Pending[R] | None:
        """The next message to decide, or None when the timer ``due`` is to be decided first.

        By arrival: a timer due at or before the earliest message's arrival goes first; otherwise that message
        (however late the loop gets to it). Before the patch: wait for a message or the timer; a timer already
        past wins.
        """
        if self.by_arrival:
            self.observe()
            if not self._queue and not await arrived_before(
                due.at if due else None, self._arrived, due.waiting_for if due else None
            ):
                return None
            first = self._earliest()
            if due is not None and due.at <= self.arrival(first):
                return None
            return self._take(first)
        if await arrived_before(due.at if due else None, lambda: bool(self._queue), due.waiting_for if due else None):
            return self._queue.popleft()
        return None

    def _earliest(self) -> Pending[R]:
        """The message that arrived first: by receive stamp, the first delivered among equals (two parties' calls
        delivered in one workflow task need not be in the order they were sent); before the stamp patch, the
        first delivered."""
        if not self.from_stamp:
            return self._queue[0]
        return min(self._queue, key=self.arrival)

    def _take(self, pending: Pending[R]) -> Pending[R]:
        """Remove ``pending`` (this very one: two messages may be equal) from the queue."""
        index = next(i for i, queued in enumerate(self._queue) if queued is pending)
        del self._queue[index]
        return pending

    def _arrived(self) -> bool:
        """The loop's wait condition (evaluated every activation, so the inbox sees each activation's clock)."""
        self.observe()
        return bool(self._queue)

    def pop(self) -> Pending[R]:
        return self._queue.popleft()

    def now(self, pending: Pending[R]) -> datetime:
        """The moment a message counts as of: its arrival (before the patch: when the loop got to it)."""
        return self.arrival(pending) if self.by_arrival else workflow.now()

    async def settle(self, apply: Callable[[Pending[R]], Awaitable[str | None]]) -> None:
        """Before a continue-as-new: decide everything that has arrived, and wait until every handler is done (each
        update answered), so nothing is lost at the boundary."""
        while self._queue or not workflow.all_handlers_finished():
            if self._queue:
                await self.process(self._queue.popleft(), apply)
            else:
                await workflow.wait_condition(lambda: bool(self._queue) or workflow.all_handlers_finished())

    async def process(self, pending: Pending[R], apply: Callable[[Pending[R]], Awaitable[str | None]]) -> None:
        """Decide a message with ``apply`` (which returns the rejection's reason); an update then gets its answer."""
        try:
            pending.rejected = await apply(pending)
        finally:
            pending.result = self._status()
            pending.done = True


# ------------------------------------------------------------------------------------- handlers from the table


F = TypeVar("F", bound=Callable[..., Any])


def takes_raw(parameter: str) -> Callable[[F], F]:
    """The SDK hands a signal handler ``parameter`` as the raw payload (parsed by the handler, so nothing malformed
    is dropped or fails a task); the signature keeps the command's type for typed callers. A ``*extra`` of the
    handler is hidden from the SDK, which would otherwise type no argument at all; with it a signal of more than
    one payload reaches the handler (to be rejected) instead of failing the task."""

    def mark(handler: F) -> F:
        handler.__annotations__[parameter] = RawValue
        shown = inspect.signature(handler)
        kept = [p for p in shown.parameters.values() if p.kind is not inspect.Parameter.VAR_POSITIONAL]
        handler.__signature__ = shown.replace(parameters=kept)  # type: ignore[attr-defined]
        return handler

    return mark


class _HasInbox(Protocol):
    _inbox: Inbox[Any]


def signal(name: str) -> Callable[[Any, Any], None]:
    """The signal handler of message ``name``: queues it (raw payload, so nothing malformed is dropped)."""

    @takes_raw("payload")
    def handler(self, payload: RawValue | None = None, *extra: Any) -> None:
        cast(_HasInbox, self)._inbox.receive_signal(name, payload, len(extra))

    handler.__name__ = handler.__qualname__ = name
    return cast(Callable[[Any, Any], None], workflow.signal(name=name)(handler))


W = TypeVar("W", bound=type)


def handlers(messages: Mapping[str, type[BaseModel]], status: type[Any], signals: bool = True) -> Callable[[W], W]:
    """Class decorator (below ``@workflow.defn``): the handlers of every message of the table the class does not
    spell out itself, ``{name}`` (signal, if ``signals``) and ``{name}_update``, named exactly as in the table.

    So a new message needs no edit here; a one-line ``name = inbox.signal("name")`` in the class only adds a typed
    reference (``PartnershipWorkflow.name``) for callers.
    """

    def add(cls: W) -> W:
        for name in messages:
            if signals and name not in vars(cls):
                setattr(cls, name, signal(name))
            attribute = f"{name}_update" if signals else name
            if attribute not in vars(cls):
                setattr(cls, attribute, update(name, status))
        return cls

    return add


def unknown_signals() -> Callable[[Any, str, Sequence[RawValue]], None]:
    """The catch-all signal handler: any other name is queued as rejected, so the status shows it was refused."""

    def handler(self, name: str, args: Sequence[RawValue]) -> None:
        if workflow.patched(REJECT_UNKNOWN_SIGNALS):
            cast(_HasInbox, self)._inbox.receive_unknown(name)

    handler.__name__ = handler.__qualname__ = "unknown_signal"
    return cast(Callable[[Any, str, Sequence[RawValue]], None], workflow.signal(dynamic=True)(handler))


def update(name: str, status: type[R]) -> workflow.UpdateMethodMultiParam[[Any, dict[str, Any]], R]:
    """The update handler of message ``name`` (validated first), answering with the workflow's ``status``."""

    async def handler(self, payload: dict[str, Any]) -> Any:
        return await cast(_HasInbox, self)._inbox.receive_update(name, payload)

    def validator(self, payload: dict[str, Any]) -> None:
        cast(_HasInbox, self)._inbox.validate(name, payload)

    handler.__name__ = handler.__qualname__ = f"{name}_update"
    handler.__annotations__ = {"payload": dict[str, Any], "return": status}
    validator.__annotations__ = {"payload": dict[str, Any], "return": None}
    defined = workflow.update(name=name)(handler)
    defined.validator(validator)
    return cast(workflow.UpdateMethodMultiParam[[Any, dict[str, Any]], R], defined)
