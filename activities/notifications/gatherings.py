"""Delivering the gatherings' outbox: reminders, places offered from the waitlist, cancellations and the
coordinator's attendance requests, each rendered from its template and sent exactly once.

The same rules as the partnerships' outbox (``delivery``): every message is claimed before it is sent
(``claims``: the same table, so the activity, the sweep and ``entrypoint outbox deliver`` never send one
twice), its ``Message-ID`` comes from its idempotency key, a recipient without a usable address is
marked undeliverable with the reason, and a mail server failure leaves it pending (raising
:class:`DeliveryFailed`). The words come from ``templates/gathering/`` (``fi/``, ``sv/`` for the recipients
who prefer Finnish or Swedish; English when a template is missing there), filled from the gathering as it
stood right after the event. Logs carry keys, template names and ids only.
"""

from __future__ import annotations

import textwrap
from datetime import datetime, timedelta
from email.errors import MessageError
from functools import cache
from string import Template
from typing import Any

import structlog

from activities.models import Delivered
from activities.notifications import phrases as ph
from activities.notifications.claims import Claims
from activities.notifications.delivery import (
    BATCH,
    build_email,
    drain,
    lease_for,
    send_claimed,
    sent_before,
    settle_sent,
    time_left,
)
from activities.notifications.rendering import (
    RenderedMessage,
    TemplateMissing,
    duration,
    language_files,
    parse_template,
    template_names,
    when,
    wrap,
)
from activities.notifications.smtp import Mailer
from activities.records import gathering_outbox
from activities.records.models import OutboxStatus
from activities.records.store import RecordStore
from domain.gathering import GatheringState, fold, initial_state
from domain.gathering import events as ge
from domain.people import Language

log = structlog.get_logger("entrypoint.notifications.gatherings")

TEMPLATE_PACKAGE = "activities.notifications.templates.gathering"


@cache
def _templates(language: Language = Language.EN) -> dict[str, tuple[Template, Template]]:
    return {
        stem: parse_template(f"gathering/{language.value}/{stem}", text)
        for stem, text in language_files(TEMPLATE_PACKAGE, language).items()
    }


def gathering_templates(language: Language | str = Language.EN) -> frozenset[str]:
    return frozenset(_templates(Language(language)))


def gathering_placeholders(stem: str, language: Language | str = Language.EN) -> frozenset[str]:
    """Every ``$name`` the gathering template ``stem`` uses in ``language``."""
    return template_names(*_templates(Language(language))[stem])


def context_for(
    name: str, state: GatheringState, event: ge.Event | None, language: Language | str | None = None
) -> dict[str, str]:
    p = ph.phrases(language)
    plan = state.plan
    reason = event.reason if isinstance(event, ge.GatheringCancelled) else state.cancelled_reason
    registered = len(state.registered)
    return {
        "name": name,
        "gathering_key": state.gathering_key,
        "cohort_id": plan.cohort_id if plan else p.not_set,
        "gathering_id": plan.gathering_id if plan else p.not_set,
        "subject": plan.subject if plan else p.the_gathering,
        "kind": p.gathering_kinds[("group" if plan.kind.value == "group" else "collective") if plan else "unknown"],
        "starts_at": when(plan.starts_at if plan else None, p=p),
        "hours": duration(plan.duration, p) if plan else p.not_set,
        "place": plan.place if plan else p.not_set,
        "closes_at": when(plan.closes_at if plan else None, p=p),
        "reason": reason or p.no_reason,
        "registered": ph.counted(registered, p.participants),
    }


def render_gathering(
    template: str,
    *,
    name: str,
    state: GatheringState,
    event: ge.Event | None,
    language: Language | str | None = None,
) -> RenderedMessage:
    """The e-mail of one gathering notice in ``language`` (None: English; English too when the template is
    missing in it). Raises TemplateMissing, KeyError (an unknown ``$name``)."""
    wanted = Language(language) if language else Language.EN
    found = _templates(wanted).get(template)
    if found is None:
        found, wanted = _templates().get(template), Language.EN
    if found is None:
        raise TemplateMissing(f"no gathering notification template {template!r}")
    subject, body = found
    context = context_for(name, state, event, wanted)
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

    async def mark_sent(self, key: str, message_id: str) -> None:
        await gathering_outbox.mark_sent(self.store.database, key, message_id)

    async def deliver(self, row: Any) -> None:
        key = row.idempotency_key
        time_left(self.until)
        claim = await self.claims.claim(key, expires_at=self.until)
        if claim is None:
            return
        db = self.store.database
        if await sent_before(key, self.mark_sent):
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
                rendered = render_gathering(
                    row.template, name=contact.name, state=state, event=event, language=contact.preferred_language
                )
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
            within = time_left(self.until)
        except Exception:
            await self.claims.release(claim)
            raise

        async def record_attempt(key: str, reason: str) -> None:
            await gathering_outbox.record_attempt(db, key, reason)

        refused = await send_claimed(
            self.mailer,
            self.claims,
            claim,
            email,
            within,
            record_attempt=record_attempt,
            logger=log,
            what="gathering_notification",
        )
        if refused is not None:
            await self.undeliverable_(row, refused)
            return
        await settle_sent(key, email["Message-ID"], self.mark_sent)
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

    async def fetch(limit: int) -> list[Any]:
        return await gathering_outbox.pending(store.database, gathering_key, limit)

    await drain(fetch, lambda row: str(row.idempotency_key), run.deliver, batch)
    pending = await pending_count(store, gathering_key)
    log.info(
        "gathering_notifications.delivered",
        gathering=gathering_key,
        sent=run.sent,
        undeliverable=run.undeliverable,
        pending=pending,
    )
    return Delivered(sent=run.sent, undeliverable=run.undeliverable, pending=pending)
