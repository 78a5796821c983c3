"""Delivering the outbox: render each pending notice for its recipient and send it, exactly once.

For every pending message: claim it (see ``claims``), resolve the recipient's contact, render the
template with the partnership as it stood right after the event, send it with a ``Message-ID``
derived from the idempotency key (so a receiver can drop a duplicate should a worker die between
sending and recording), and mark it sent. A message with no recipient, or a recipient without a
usable e-mail address, is marked undeliverable with the reason, and delivery goes on. A mail server
that is down raises :class:`DeliveryFailed`, after the message has been put back: it stays pending
for the next try.

Logs carry ids, template names and counts only: never names, addresses or message text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.errors import MessageError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any, TypeVar

import structlog

from activities.models import Delivered
from activities.notifications import claims as journal
from activities.notifications.claims import DEFAULT_LEASE, Claim, Claims
from activities.notifications.rendering import RenderedMessage, TemplateMissing, render
from activities.notifications.smtp import Mailer, MailServerError, RecipientRefused, SmtpMailer
from activities.records import OutboxMessage, RecordStore
from activities.records.sealing import parse_stored_event, stored_state_model
from domain import Contact
from domain.partnership import PartnershipState, Recipient, evolve, initial_state
from domain.partnership.events import Event

__all__ = [
    "DeliveryFailed",
    "Mailer",
    "SmtpMailer",
    "build_email",
    "deliver_pending",
    "drain",
    "lease_for",
    "message_id_for",
    "send_claimed",
    "time_left",
]

log = structlog.get_logger("entrypoint.notifications")

BATCH = 100
SEND_MARGIN = 2.0
"""Seconds kept free before ``until``: a send is cut off this long before it, to record the outcome."""
MIN_SEND = 1.0
"""A send is not started with less time than this left before ``until``."""
MESSAGE_ID_DOMAIN = "entrypoint.invalid"
"""Used when the sender address has no domain part."""


class DeliveryFailed(Exception):
    """Sending failed for now (the mail server is down or busy); the messages stay pending."""


def message_id_for(key: str, sender: str) -> str:
    """The Message-ID of the notice with idempotency key ``key``: the same key always gives the same id."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:40]
    address = parseaddr(sender)[1]
    domain = address.rpartition("@")[2] if "@" in address else ""
    return f"<{digest}.notice@{domain or MESSAGE_ID_DOMAIN}>"


def build_email(rendered: RenderedMessage, contact: Contact, *, sender: str, key: str) -> EmailMessage:
    assert contact.email is not None
    local, _, domain = str(contact.email).rpartition("@")
    message = EmailMessage()
    message["From"] = sender
    message["To"] = Address(display_name=contact.name, username=local, domain=domain)
    message["Subject"] = rendered.subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = message_id_for(key, sender)
    message["Auto-Submitted"] = "auto-generated"
    message["X-EntryPoint-Notice"] = key
    message.set_content(rendered.body)
    return message


def time_left(until: datetime | None) -> float | None:
    """Seconds a send may still take before ``until`` (None: no limit); raises DeliveryFailed when too few are
    left (the rest stays pending for the next attempt)."""
    if until is None:
        return None
    left = (until - datetime.now(UTC)).total_seconds() - SEND_MARGIN
    if left < MIN_SEND:
        raise DeliveryFailed("out of time for this attempt; the rest stays pending for the next one")
    return left


async def send_claimed(
    mailer: Mailer,
    claims: Claims,
    claim: Claim,
    email: EmailMessage,
    within: float | None,
    *,
    record_attempt: Callable[[str, str], Awaitable[None]],
    logger: Any,
    what: str,
) -> str | None:
    """Send one claimed notice (both outboxes): None once sent (the caller marks it sent); the reason when the
    mail server refused the recipient for good (the caller marks it undeliverable). Any other failure is not a
    send: the attempt is counted (``record_attempt(key, reason)``), the claim given back, and DeliveryFailed
    raised, so the message stays pending. A cancellation while sending is not caught: the message may have gone
    out, so the claim is kept until its lease runs out."""
    key = str(email["X-EntryPoint-Notice"])
    try:
        await mailer.send(email, within=within)
    except RecipientRefused as refused:
        return str(refused)
    except Exception as error:
        reason = str(error) if isinstance(error, MailServerError) else f"sending failed ({type(error).__name__})"
        logger.warning(f"{what}.send_failed", key=key, attempt=claim.claims, reason=reason)
        await claims.release(claim)
        await record_attempt(key, reason)
        raise DeliveryFailed(f"could not send notification {key}: {reason}") from None
    # Sent. Should marking it sent fail, the claim is kept (not released), so no other delivery resends it
    # before the lease runs out, and the journal keeps this process from sending it again after that.
    journal.accepted(key, str(email["Message-ID"]))
    return None


async def settle_sent(key: str, message_id: str, mark_sent: Callable[[str, str], Awaitable[None]]) -> None:
    """Mark ``key`` sent (both outboxes), then forget it in the journal of unconfirmed sends."""
    await mark_sent(key, message_id)
    journal.confirmed(key)


async def sent_before(key: str, mark_sent: Callable[[str, str], Awaitable[None]]) -> bool:
    """True (and ``key`` now marked sent) when this process sent it before but could not mark it sent then
    (the records database went away just after the mail server accepted it): nothing is sent again."""
    sent_as = journal.accepted_unconfirmed(key)
    if sent_as is None:
        return False
    await settle_sent(key, sent_as, mark_sent)
    return True


M = TypeVar("M")


async def drain(
    fetch: Callable[[int], Awaitable[Sequence[M]]],
    key: Callable[[M], str],
    deliver: Callable[[M], Awaitable[None]],
    batch: int,
) -> None:
    """Deliver every pending message once, oldest first, ``fetch(limit)`` reading up to ``limit`` pending rows:
    rows held by other deliveries (still pending) are looked past by reading further."""
    seen: set[str] = set()
    limit = batch
    while True:
        messages = await fetch(limit)
        fresh = [message for message in messages if key(message) not in seen]
        if not fresh:
            if len(messages) < limit:
                return
            limit += batch  # the first rows are held by other deliveries: look past them
            continue
        for message in fresh:
            seen.add(key(message))
            await deliver(message)


@dataclass
class _Run:
    """One delivery pass: the counts, and each partnership's log read at most once."""

    store: RecordStore
    mailer: Mailer
    claims: Claims
    until: datetime | None = None
    sent: int = 0
    undeliverable: int = 0
    logs: dict[str, list[Event]] = field(default_factory=dict)

    async def situation(self, message: OutboxMessage) -> tuple[PartnershipState | None, Event | None]:
        """The state right after the event that caused ``message``, and that event: as the outbox row carries
        them, or (a row written before they were) by folding the log up to that event."""
        if message.context is not None:
            return stored_state_model(message.context["state"]), parse_stored_event(message.context["event"])
        if message.partnership_id not in self.logs:
            stored = await self.store.read_log(message.partnership_id)
            self.logs[message.partnership_id] = [item.event for item in stored]
        events = self.logs[message.partnership_id]
        if len(events) < message.event_version:
            return await self.store.load_state(message.partnership_id), None
        state = initial_state(message.partnership_id)
        for event in events[: message.event_version]:
            state = evolve(state, event)
        return state, events[message.event_version - 1]

    async def contact(self, person_id: str | None, role: Recipient) -> Contact | None:
        """The contact of ``person_id`` in ``role``: people are keyed by role and id."""
        return await self.store.get_contact(person_id, role.value) if person_id else None

    async def deliver(self, message: OutboxMessage) -> None:
        time_left(self.until)
        claim = await self.claims.claim(message.key, expires_at=self.until)
        if claim is None:
            log.info("notification.skipped", key=message.key, why="claimed elsewhere or no longer pending")
            return
        if await sent_before(message.key, self.store.mark_sent):
            self.sent += 1
            log.info("notification.confirmed", key=message.key, why="sent before; marking it sent had failed")
            return
        try:
            email = await self._prepare(message, claim)
        except Exception:
            await self.claims.release(claim)  # nothing was sent: the next delivery may take it at once
            raise
        if email is None:
            return
        try:
            within = time_left(self.until)
        except DeliveryFailed:
            await self.claims.release(claim)
            raise
        await self._send(message, claim, email, within)

    async def _prepare(self, message: OutboxMessage, claim: Claim) -> EmailMessage | None:
        """The e-mail to send; None when the message was settled without sending (undeliverable, bug)."""
        contact, problem = await self._resolve(message)
        if contact is None:
            await self._undeliverable(message, problem)
            return None
        try:
            rendered = await self._render(message, contact)
        except (TemplateMissing, KeyError, ValueError) as error:
            # A bug, not the recipient's fault: keep the message pending for when the templates are fixed.
            reason = f"cannot render template {message.template}: {type(error).__name__}"
            log.error(
                "notification.render_failed", key=message.key, template=message.template, error=type(error).__name__
            )
            await self.store.record_attempt(message.key, reason)
            await self.claims.release(claim)
            return None
        try:
            return build_email(rendered, contact, sender=self.mailer.sender, key=message.key)
        except (ValueError, MessageError):
            # A line break in the name, an address the mail format cannot carry: no retry will help.
            assert message.recipient_id is not None
            await self._undeliverable(
                message, f"the contact data of person {message.recipient_id} cannot be used in an e-mail"
            )
            return None

    async def _send(self, message: OutboxMessage, claim: Claim, email: EmailMessage, within: float | None) -> None:
        key = message.key
        refused = await send_claimed(
            self.mailer,
            self.claims,
            claim,
            email,
            within,
            record_attempt=self.store.record_attempt,
            logger=log,
            what="notification",
        )
        if refused is not None:
            await self._undeliverable(message, refused)
            return
        await settle_sent(key, email["Message-ID"], self.store.mark_sent)
        self.sent += 1
        log.info(
            "notification.sent",
            key=key,
            template=message.template,
            recipient_role=message.recipient_role.value,
            recipient_id=message.recipient_id,
            attempt=claim.claims,
        )

    async def _resolve(self, message: OutboxMessage) -> tuple[Contact | None, str]:
        """The recipient's contact, or None and why there is none usable (in words naming ids only)."""
        if message.recipient_id is None:
            if message.recipient_role == Recipient.COORDINATOR:
                return None, "no coordinator to send to: the cohort has no coordinator assigned"
            return None, f"no {message.recipient_role.value} to send to: the partnership has none"
        contact = await self.contact(message.recipient_id, message.recipient_role)
        if contact is None or contact.email is None:
            return None, await self.claims.contact_problem(message.recipient_id, message.recipient_role.value)
        return contact, ""

    async def _render(self, message: OutboxMessage, contact: Contact) -> RenderedMessage:
        state, event = await self.situation(message)
        if state is None:
            raise ValueError(f"partnership {message.partnership_id} has no recorded state")
        counterpart, role = {
            Recipient.MENTEE: (state.mentor_id, Recipient.MENTOR),
            Recipient.MENTOR: (state.mentee_id, Recipient.MENTEE),
        }.get(message.recipient_role, (None, Recipient.COORDINATOR))
        other = await self.contact(counterpart, role)
        return render(
            message.template,
            message.recipient_role,
            name=contact.name,
            state=state,
            event=event,
            counterpart_name=other.name if other else None,
            language=contact.preferred_language,
        )

    async def _undeliverable(self, message: OutboxMessage, reason: str) -> None:
        await self.store.mark_undeliverable(message.key, reason)
        self.undeliverable += 1
        log.warning(
            "notification.undeliverable",
            key=message.key,
            template=message.template,
            recipient_role=message.recipient_role.value,
            recipient_id=message.recipient_id,
            reason=reason,
        )


def lease_for(mailer: Mailer | None) -> timedelta:
    """The claim lease: the default, or longer when one send through ``mailer`` may take longer."""
    longest = getattr(mailer, "max_send_seconds", None)
    if isinstance(longest, int | float):
        return max(DEFAULT_LEASE, timedelta(seconds=1.5 * longest))
    return DEFAULT_LEASE


async def deliver_pending(
    store: RecordStore,
    mailer: Mailer | None,
    partnership_id: str | None = None,
    *,
    lease: timedelta | None = None,
    until: datetime | None = None,
    batch: int = BATCH,
) -> Delivered:
    """Deliver the pending outbox messages (of one partnership, or all), oldest first.

    With no mailer (ENTRYPOINT_SMTP_URL unset) nothing is sent and every message stays pending.
    ``lease`` (default :func:`lease_for` the mailer) is how long a claim holds if this process dies.
    ``until`` bounds the whole delivery (the end of a Temporal activity attempt): every send ends
    before it, and claims expire at it, so a retried attempt takes over a dead one's messages at once.
    Raises DeliveryFailed when the mail server fails; what was sent before stays sent.
    """
    claims = Claims(store.database, lease or lease_for(mailer))
    if mailer is None:
        pending = await claims.pending_count(partnership_id)
        log.info("notifications.no_mailer", partnership_id=partnership_id, pending=pending)
        return Delivered(sent=0, undeliverable=0, pending=pending)
    await claims.prepare()
    run = _Run(store=store, mailer=mailer, claims=claims, until=until)

    async def fetch(limit: int) -> list[OutboxMessage]:
        return await store.pending_outbox(partnership_id, limit=limit)

    await drain(fetch, lambda message: message.key, run.deliver, batch)
    pending = await claims.pending_count(partnership_id)
    log.info(
        "notifications.delivered",
        partnership_id=partnership_id,
        sent=run.sent,
        undeliverable=run.undeliverable,
        pending=pending,
    )
    return Delivered(sent=run.sent, undeliverable=run.undeliverable, pending=pending)
