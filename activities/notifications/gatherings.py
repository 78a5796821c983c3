"""Delivering the gatherings' outbox: reminders, places offered from the waitlist, cancellations and the
coordinator's attendance requests, each rendered from its template and sent exactly once.

The same rules as the partnerships' outbox (``delivery``): every message is claimed before it is sent
(``claims``: the same table, so the activity, the sweep and ``entrypoint outbox deliver`` never send one
twice), its ``Message-ID`` comes from its idempotency key, a recipient without a usable address is
marked undeliverable with the reason, and a mail server failure leaves it pending (raising
:class:`DeliveryFailed`). The words come from ``templates/gathering/``, filled from the gathering as it
stood right after the event. Logs carry keys, template names and ids only.
"""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from email.errors import MessageError
from functools import cache
from importlib import resources
from string import Template
from typing import Any

import structlog

from activities.models import Delivered
from activities.notifications import claims as journal
from activities.notifications.claims import Claims
from activities.notifications.delivery import BATCH, DeliveryFailed, build_email, lease_for
from activities.notifications.rendering import SUBJECT_PREFIX, RenderedMessage, TemplateMissing, duration, when, wrap
from activities.notifications.smtp import Mailer, MailServerError, RecipientRefused
from activities.records import gathering_outbox
from activities.records.models import OutboxStatus
from activities.records.store import RecordStore
from domain.gathering import GatheringState, fold, initial_state
from domain.gathering import events as ge

log = structlog.get_logger("entrypoint.notifications.gatherings")

TEMPLATE_PACKAGE = "activities.notifications.templates.gathering"
SEND_MARGIN = 2.0
MIN_SEND = 1.0


@cache
def _templates() -> dict[str, tuple[Template, Template]]:
    parsed = {}
    for entry in resources.files(TEMPLATE_PACKAGE).iterdir():
        if not entry.name.endswith(".txt"):
            continue
        text = entry.read_text(encoding="utf-8")
        first, _, rest = text.partition("\n")
        if not first.startswith(SUBJECT_PREFIX) or not rest.startswith("\n"):
            raise ValueError(f"template {entry.name}: the first line must be 'Subject: ...', then a blank line")
        parsed[entry.name.removesuffix(".txt")] = (
            Template(first.removeprefix(SUBJECT_PREFIX).strip()),
            Template(rest[1:]),
        )
    return parsed


def gathering_templates() -> frozenset[str]:
    return frozenset(_templates())


def context_for(name: str, state: GatheringState, event: ge.Event | None) -> dict[str, str]:
    plan = state.plan
    reason = event.reason if isinstance(event, ge.GatheringCancelled) else state.cancelled_reason
    registered = len(state.registered)
    return {
        "name": name,
        "gathering_key": state.gathering_key,
        "cohort_id": plan.cohort_id if plan else "not set",
        "gathering_id": plan.gathering_id if plan else "not set",
        "subject": plan.subject if plan else "the gathering",
        "kind": ("subject group" if plan.kind.value == "group" else "collective") if plan else "programme",
        "starts_at": when(plan.starts_at if plan else None),
        "hours": duration(plan.duration) if plan else "not set",
        "place": plan.place if plan else "not set",
        "closes_at": when(plan.closes_at if plan else None),
        "reason": reason or "no reason was recorded",
        "registered": f"{registered} participant{'' if registered == 1 else 's'}",
    }


def render_gathering(template: str, *, name: str, state: GatheringState, event: ge.Event | None) -> RenderedMessage:
    """The e-mail of one gathering notice. Raises TemplateMissing, KeyError (an unknown ``$name``)."""
    found = _templates().get(template)
    if found is None:
        raise TemplateMissing(f"no gathering notification template {template!r}")
    subject, body = found
    context = context_for(name, state, event)
    return RenderedMessage(
        subject=" ".join(subject.substitute(context).split()),
        body="\n".join(
            line if line.lstrip().startswith("temporal ") else wrap(line)  # a command to copy stays whole
            for line in textwrap.dedent(body.substitute(context)).split("\n")
        ).rstrip()
        + "\n",
    )


class _Run:
    def __init__(self, store: RecordStore, mailer: Mailer, claims: Claims, until: datetime | None) -> None:
        self.store = store
        self.mailer = mailer
        self.claims = claims
        self.until = until
        self.sent = 0
        self.undeliverable = 0
        self.logs: dict[str, list[ge.Event]] = {}

    def time_left(self) -> float | None:
        if self.until is None:
            return None
        left = (self.until - datetime.now(UTC)).total_seconds() - SEND_MARGIN
        if left < MIN_SEND:
            raise DeliveryFailed("out of time for this attempt; the rest stays pending for the next one")
        return left

    async def situation(self, row: Any) -> tuple[GatheringState, ge.Event | None]:
        if row.gathering_key not in self.logs:
            self.logs[row.gathering_key] = await self.store.read_gathering_log(row.gathering_key)
        events = self.logs[row.gathering_key]
        state = fold(initial_state(row.gathering_key), events[: row.event_version])
        event = events[row.event_version - 1] if len(events) >= row.event_version else None
        return state, event

    async def undeliverable_(self, row: Any, reason: str) -> None:
        await gathering_outbox.mark_undeliverable(self.store.database, row.idempotency_key, reason)
        self.undeliverable += 1
        log.warning(
            "gathering_notification.undeliverable",
            key=row.idempotency_key,
            template=row.template,
            recipient_id=row.recipient_id,
            reason=reason,
        )

    async def deliver(self, row: Any) -> None:
        key = row.idempotency_key
        self.time_left()
        claim = await self.claims.claim(key, expires_at=self.until)
        if claim is None:
            return
        db = self.store.database
        if (sent_as := journal.accepted_unconfirmed(key)) is not None:
            # Sent before by this process, then the records could not be told: tell them now, send nothing.
            await gathering_outbox.mark_sent(db, key, sent_as)
            journal.confirmed(key)
            self.sent += 1
            log.info("gathering_notification.confirmed", key=key)
            return
        try:
            if row.recipient_id is None:
                if row.registrant_id is None:
                    reason = "no coordinator to send to: the cohort has no coordinator assigned"
                else:
                    reason = f"registrant {row.registrant_id} is not a partnership on file"
                await self.undeliverable_(row, reason)
                return
            contact = await self.store.get_contact(row.recipient_id)
            if contact is None or contact.email is None:
                await self.undeliverable_(row, await self.claims.contact_problem(row.recipient_id))
                return
            state, event = await self.situation(row)
            try:
                rendered = render_gathering(row.template, name=contact.name, state=state, event=event)
            except (TemplateMissing, KeyError, ValueError) as error:
                log.error("gathering_notification.render_failed", key=key, template=row.template)
                await gathering_outbox.record_attempt(db, key, f"cannot render template {row.template}: {error!r}")
                await self.claims.release(claim)
                return
            try:
                email = build_email(rendered, contact, sender=self.mailer.sender, key=key)
            except (ValueError, MessageError):
                await self.undeliverable_(
                    row, f"the contact data of person {row.recipient_id} cannot be used in an e-mail"
                )
                return
            within = self.time_left()
        except Exception:
            await self.claims.release(claim)
            raise
        try:
            await self.mailer.send(email, within=within)
        except RecipientRefused as refused:
            await self.undeliverable_(row, str(refused))
            return
        except Exception as error:
            reason = str(error) if isinstance(error, MailServerError) else f"sending failed ({type(error).__name__})"
            log.warning("gathering_notification.send_failed", key=key, attempt=claim.claims, reason=reason)
            await self.claims.release(claim)
            await gathering_outbox.record_attempt(db, key, reason)
            raise DeliveryFailed(f"could not send notification {key}: {reason}") from None
        journal.accepted(key, email["Message-ID"])
        await gathering_outbox.mark_sent(db, key, email["Message-ID"])
        journal.confirmed(key)
        self.sent += 1
        log.info("gathering_notification.sent", key=key, template=row.template, recipient_id=row.recipient_id)


async def pending_count(store: RecordStore, gathering_key: str | None = None) -> int:
    rows = await gathering_outbox.listing(store.database, OutboxStatus.PENDING, gathering_key)
    return len(rows)


async def deliver_gathering_pending(
    store: RecordStore,
    mailer: Mailer | None,
    gathering_key: str | None = None,
    *,
    lease: timedelta | None = None,
    until: datetime | None = None,
    batch: int = BATCH,
) -> Delivered:
    """Deliver the pending notices of one gathering (or all), oldest first; as ``delivery.deliver_pending``."""
    if mailer is None:
        return Delivered(sent=0, undeliverable=0, pending=await pending_count(store, gathering_key))
    claims = Claims(store.database, lease or lease_for(mailer))
    await claims.prepare()
    run = _Run(store, mailer, claims, until)
    seen: set[str] = set()
    limit = batch
    while True:
        rows = await gathering_outbox.pending(store.database, gathering_key, limit)
        fresh = [row for row in rows if row.idempotency_key not in seen]
        if not fresh:
            if len(rows) < limit:
                break
            limit += batch
            continue
        for row in fresh:
            seen.add(row.idempotency_key)
            await run.deliver(row)
    pending = await pending_count(store, gathering_key)
    log.info(
        "gathering_notifications.delivered",
        gathering=gathering_key,
        sent=run.sent,
        undeliverable=run.undeliverable,
        pending=pending,
    )
    return Delivered(sent=run.sent, undeliverable=run.undeliverable, pending=pending)
