"""The outbox: one row per notice, recipients resolved, and the delivery bookkeeping."""

from __future__ import annotations

import pytest

from activities.records import OutboxStatus, RecordStore, UnknownOutboxMessage
from domain.partnership import Recipient
from domain.partnership import commands as c
from tests.records.helpers import Pair, day, unique


async def test_notices_become_rows_with_resolved_recipients(store: RecordStore) -> None:
    coordinator = unique("coordinator")
    pair = Pair(store)
    await store.upsert_cohort(pair.cohort_id, coordinator)
    await pair.start()
    await pair.do(c.Tick(), day(4 + 30 + 21 + 1))  # nudged, then lapsed: the coordinator is told

    messages = {m.key: m for m in await store.list_outbox(partnership_id=pair.pid)}
    match = [m for m in messages.values() if m.event_type == "match_proposed"]
    assert {(m.recipient_role, m.recipient_id) for m in match} == {
        (Recipient.MENTEE, pair.mentee_id),
        (Recipient.MENTOR, pair.mentor_id),
    }
    started = [m for m in messages.values() if m.event_type == "partnership_started"]
    assert {m.template for m in started} == {"mentoring_toolkit"}
    lapsed = [m for m in messages.values() if m.event_type == "meeting_lapsed"]
    assert [(m.recipient_role, m.recipient_id) for m in lapsed] == [(Recipient.COORDINATOR, coordinator)]
    key = f"{pair.pid}:{lapsed[0].event_version}:coordinator"
    assert key in messages and key in pair.results[-1].outbox_keys
    assert all(m.status == OutboxStatus.PENDING and m.attempts == 0 for m in messages.values())
    # one row per (event, recipient): keys are unique by construction, and every key an append reported exists
    assert {k for result in pair.results for k in result.outbox_keys} == set(messages)


async def test_a_coordinator_nobody_registered_is_left_unresolved(store: RecordStore) -> None:
    pair = Pair(store)  # its cohort is not registered
    await pair.start()
    await pair.do(c.Tick(), day(60))
    lapsed = [m for m in await store.list_outbox(partnership_id=pair.pid) if m.event_type == "meeting_lapsed"]
    assert len(lapsed) == 1 and lapsed[0].recipient_id is None and lapsed[0].status == OutboxStatus.PENDING


async def test_a_cohort_without_coordinator_is_left_unresolved(store: RecordStore) -> None:
    pair = Pair(store)
    await store.upsert_cohort(pair.cohort_id, None)
    await pair.apply()
    await pair.do(c.Withdraw(party=c.Party.MENTEE, reason="moved abroad"), day(1))
    [message] = await store.list_outbox(partnership_id=pair.pid)
    assert (message.recipient_role, message.recipient_id, message.template) == (
        Recipient.COORDINATOR,
        None,
        "mentee_withdrew",
    )


async def test_delivery_bookkeeping(store: RecordStore) -> None:
    pair = Pair(store)
    await pair.start()
    pending = await store.pending_outbox(pair.pid)
    # accepted (to the mentee), match proposed and partnership started (each to both)
    assert [(m.event_version, m.recipient_role.value) for m in pending] == [
        (2, "mentee"),
        (3, "mentee"),
        (3, "mentor"),
        (6, "mentee"),
        (6, "mentor"),
    ]
    first, second, third = pending[:3]

    await store.mark_sent(first.key, "<m1@example.org>")
    await store.mark_sent(first.key, "<m1@example.org>")  # a retried call changes nothing
    await store.mark_undeliverable(second.key, "no e-mail address")
    await store.record_attempt(third.key, "SMTP 451")

    by_key = {m.key: m for m in await store.list_outbox(partnership_id=pair.pid)}
    sent = by_key[first.key]
    assert (sent.status, sent.message_id, sent.attempts) == (OutboxStatus.SENT, "<m1@example.org>", 1)
    assert sent.sent_at is not None and sent.sent_at >= sent.created_at
    assert (by_key[second.key].status, by_key[second.key].reason) == (OutboxStatus.UNDELIVERABLE, "no e-mail address")
    retried = by_key[third.key]
    assert (retried.status, retried.attempts, retried.reason) == (OutboxStatus.PENDING, 1, "SMTP 451")

    assert [m.key for m in await store.pending_outbox(pair.pid)] == [third.key, pending[3].key, pending[4].key]
    assert [m.key for m in await store.list_outbox(status="sent", partnership_id=pair.pid)] == [first.key]
    assert len(await store.pending_outbox(pair.pid, limit=1)) == 1
    assert all(m.status == OutboxStatus.PENDING for m in await store.pending_outbox(limit=500))

    await store.mark_undeliverable(first.key, "too late")  # a sent message stays sent
    assert (await store.list_outbox(status="sent", partnership_id=pair.pid))[0].key == first.key


async def test_unknown_outbox_keys_are_errors(store: RecordStore) -> None:
    with pytest.raises(UnknownOutboxMessage):
        await store.mark_sent("p-nobody:1:mentee", "<x@example.org>")
    with pytest.raises(UnknownOutboxMessage):
        await store.mark_undeliverable("p-nobody:1:mentee", "gone")
