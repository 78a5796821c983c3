"""Delivering the outbox through a real SMTP server on loopback, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import structlog
from sqlalchemy import update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection
from temporalio.testing import ActivityEnvironment

from activities.models import Delivered, DeliverNotifications, RecordEvents
from activities.notifications import delivery
from activities.notifications.activity import NotificationActivities
from activities.notifications.claims import Claims, resent_unconfirmed
from activities.notifications.delivery import DeliveryFailed, deliver_pending, lease_for, message_id_for
from activities.notifications.smtp import SmtpMailer, parse_smtp_url
from activities.partnership import PartnershipActivities
from activities.records import schema as s
from activities.records.migrate import upgrade
from activities.records.models import OutboxMessage, OutboxStatus
from activities.records.store import RecordStore
from domain import Contact
from domain.partnership import PartnershipState
from domain.partnership.events import parse_event
from tests.domain import builders as b
from tests.notifications.conftest import MailServer
from tests.notifications.seed import COORDINATOR, MENTEE, MENTOR, PERSONAL, Cast, record, seed_people
from tests.smtp import free_port

SENDER = "entrypoint@example.org"


def activity_environment(start_to_close: float = 30, attempt: int = 1) -> ActivityEnvironment:
    """An activity context as a worker would give it: this attempt started now."""
    env = ActivityEnvironment()
    env.info = dataclasses.replace(
        env.info,
        started_time=datetime.now(UTC),
        start_to_close_timeout=timedelta(seconds=start_to_close),
        attempt=attempt,
    )
    return env


def mailer(server: MailServer) -> SmtpMailer:
    return SmtpMailer.from_url(server.url)


def subject(message: EmailMessage) -> str:
    """The subject as a reader sees it (unfolded)."""
    return " ".join(str(message["Subject"]).split())


async def outbox(store: RecordStore, cast: Cast) -> dict[str, OutboxMessage]:
    return {m.key: m for m in await store.list_outbox(partnership_id=cast.pid)}


async def test_delivers_each_notice_to_its_recipient(store: RecordStore, mail_server: MailServer) -> None:
    cast = Cast.new()
    await seed_people(store, cast)
    recorded = await record(store, cast.started())
    assert len(recorded.outbox_keys) == 5

    result = await deliver_pending(store, mailer(mail_server), cast.pid)

    assert result == Delivered(sent=5, undeliverable=0, pending=0)
    assert sorted(rcpts[0] for _, rcpts in mail_server.envelopes) == sorted(
        [str(MENTEE.email)] * 3 + [str(MENTOR.email)] * 2
    )
    subjects = {(m["To"], subject(m)) for m in mail_server.messages}
    assert (f"{MENTEE.name} <{MENTEE.email}>", "EntryPoint: your application has been accepted") in subjects
    assert (
        f"{MENTOR.name} <{MENTOR.email}>",
        "EntryPoint: your partnership has started - your Mentoring Toolkit",
    ) in subjects
    sent = await outbox(store, cast)
    assert {m.status for m in sent.values()} == {OutboxStatus.SENT}
    by_id = {m["Message-ID"]: m for m in mail_server.messages}
    for key, row in sent.items():
        assert row.message_id == message_id_for(key, SENDER)
        email = by_id[row.message_id]
        assert email["X-EntryPoint-Notice"] == key
        assert email["From"] == SENDER
        assert email["Auto-Submitted"] == "auto-generated"
    toolkit = by_id[sent[cast.key(6, "mentee")].message_id]
    body = toolkit.get_content()
    assert body.startswith(f"Dear {MENTEE.name},")
    assert f"your partnership with {MENTOR.name} (your mentor)" in " ".join(body.split())
    assert "PLANNING TEMPLATE" in body and "WORKING ACROSS CULTURES" in body


async def test_message_ids_are_deterministic_and_distinct() -> None:
    assert message_id_for("p-1:3:mentee", SENDER) == message_id_for("p-1:3:mentee", "Other <x@example.org>")
    assert message_id_for("p-1:3:mentee", SENDER) != message_id_for("p-1:3:mentor", SENDER)
    assert message_id_for("p-1:3:mentee", SENDER).endswith("@example.org>")
    assert message_id_for("p-1:3:mentee", "no-domain").endswith("@entrypoint.invalid>")


async def test_a_retried_delivery_sends_nothing_twice(store: RecordStore, mail_server: MailServer) -> None:
    cast = Cast.new()
    await seed_people(store, cast)
    await record(store, cast.started())
    first = await deliver_pending(store, mailer(mail_server), cast.pid)
    second = await deliver_pending(store, mailer(mail_server), cast.pid)
    assert (first.sent, second.sent) == (5, 0)
    assert len(mail_server.messages) == 5
    # Even a delivery handed a stale list (read before the first one marked them sent) sends nothing.
    claims = Claims(store.database)
    assert [await claims.claim(key) for key in (await outbox(store, cast))] == [None] * 5


async def test_concurrent_deliveries_send_each_notice_exactly_once(database_url: str, mail_server: MailServer) -> None:
    """Four deliveries at once, on two engines (as two workers would be), with a slow mail server."""
    mail_server.delay = 0.05
    cast = Cast.new()
    stores = [RecordStore.from_url(database_url) for _ in range(2)]
    try:
        await seed_people(stores[0], cast)
        await record(stores[0], cast.started())
        results = await asyncio.gather(
            *(deliver_pending(stores[i % 2], mailer(mail_server), cast.pid) for i in range(4))
        )
        assert sum(r.sent for r in results) == 5
        ids = [m["Message-ID"] for m in mail_server.messages]
        assert len(ids) == 5 and len(set(ids)) == 5
        assert {m.status for m in (await outbox(stores[1], cast)).values()} == {OutboxStatus.SENT}
    finally:
        for records in stores:
            await records.close()


async def test_unusable_recipients_are_marked_undeliverable_with_the_reason(
    store: RecordStore, mail_server: MailServer
) -> None:
    cast = Cast.new()
    await seed_people(store, cast, mentee=Contact(name="No Mail"), coordinator=False)
    await record(store, cast.signature_overdue())  # no coordinator in the cohort: the escalation has no recipient

    result = await deliver_pending(store, mailer(mail_server), cast.pid)

    rows = await outbox(store, cast)
    reasons = {key: row.reason for key, row in rows.items() if row.status == OutboxStatus.UNDELIVERABLE}
    no_mail = f"person {cast.mentee_id} has no e-mail address"
    assert reasons == {
        cast.key(2, "mentee"): no_mail,
        cast.key(3, "mentee"): no_mail,
        cast.key(4, "mentee"): no_mail,
        cast.key(5, "coordinator"): "no coordinator to send to: the cohort has no coordinator assigned",
    }
    assert result == Delivered(sent=2, undeliverable=4, pending=0)  # the mentor's match and reminder went out
    assert all(rcpts == [str(MENTOR.email)] for _, rcpts in mail_server.envelopes)


async def test_erased_and_unknown_people_are_undeliverable(store: RecordStore, mail_server: MailServer) -> None:
    cast = Cast.new()
    await seed_people(store, cast)
    await store.erase_person(cast.mentee_id)
    await record(store, cast.matched(mentor_id=f"{cast.mentor_id}-unknown"))

    result = await deliver_pending(store, mailer(mail_server), cast.pid)

    reasons = {key: m.reason for key, m in (await outbox(store, cast)).items()}
    assert reasons[cast.key(2, "mentee")] == f"the contact data of person {cast.mentee_id} has been erased"
    assert reasons[cast.key(3, "mentor")] == f"person {cast.mentor_id}-unknown is not in the people registry"
    assert result == Delivered(sent=0, undeliverable=3, pending=0)
    assert mail_server.messages == []


async def test_a_refused_address_is_undeliverable(store: RecordStore, mail_server: MailServer) -> None:
    cast = Cast.new()
    await seed_people(store, cast)
    await record(store, cast.started())
    mail_server.refuse.add(str(MENTOR.email))

    result = await deliver_pending(store, mailer(mail_server), cast.pid)

    assert result == Delivered(sent=3, undeliverable=2, pending=0)
    refused = [m for m in (await outbox(store, cast)).values() if m.recipient_role == "mentor"]
    assert {m.reason for m in refused} == {"the mail server refused the recipient address (SMTP 550)"}


async def test_without_a_mailer_everything_stays_pending(store: RecordStore) -> None:
    cast = Cast.new()
    await seed_people(store, cast)
    await record(store, cast.started())
    result = await deliver_pending(store, None, cast.pid)
    assert result == Delivered(sent=0, undeliverable=0, pending=5)
    assert {m.status for m in (await outbox(store, cast)).values()} == {OutboxStatus.PENDING}
    assert (await deliver_pending(store, None, Cast.new().pid)).pending == 0


async def test_mail_server_down_raises_keeps_pending_then_delivers_once(store: RecordStore) -> None:
    cast = Cast.new()
    await seed_people(store, cast)
    await record(store, cast.started())
    server = MailServer(port=free_port())  # nothing listens there yet
    with pytest.raises(DeliveryFailed, match="cannot talk to the mail server"):
        await deliver_pending(store, mailer(server), cast.pid)
    rows = (await outbox(store, cast)).values()
    assert {m.status for m in rows} == {OutboxStatus.PENDING}
    assert sorted(m.attempts for m in rows) == [0, 0, 0, 0, 1]  # the first one was tried, and put back

    server.start()
    try:
        server.busy = True  # up, but answering 451
        with pytest.raises(DeliveryFailed, match="451"):
            await deliver_pending(store, mailer(server), cast.pid)
        assert {m.status for m in (await outbox(store, cast)).values()} == {OutboxStatus.PENDING}
        server.busy = False
        result = await deliver_pending(store, mailer(server), cast.pid)
        assert result == Delivered(sent=5, undeliverable=0, pending=0)
        assert len(server.messages) == 5
        assert len({m["Message-ID"] for m in server.messages}) == 5
    finally:
        server.stop()


async def test_a_live_claim_blocks_and_a_stale_one_is_retaken(store: RecordStore, mail_server: MailServer) -> None:
    """A worker that died after claiming: its message waits for the lease, then goes out once."""
    cast = Cast.new()
    await seed_people(store, cast)
    await record(store, cast.accepted())
    key = cast.key(2, "mentee")
    lease = timedelta(milliseconds=300)
    dead_worker = await Claims(store.database, lease).claim(key)
    assert dead_worker is not None and dead_worker.claims == 1
    assert await Claims(store.database, lease).claim(key) is None

    blocked = await deliver_pending(store, mailer(mail_server), cast.pid, lease=lease)
    assert blocked == Delivered(sent=0, undeliverable=0, pending=1)
    assert mail_server.messages == []

    await asyncio.sleep(0.4)
    assert not await Claims(store.database, lease).holds(dead_worker)
    taken = await deliver_pending(store, mailer(mail_server), cast.pid, lease=lease)
    assert taken == Delivered(sent=1, undeliverable=0, pending=0)
    assert len(mail_server.messages) == 1
    assert await Claims(store.database, lease).claim(key) is None  # sent: never claimed again


async def test_claim_counts_say_how_often_each_message_was_claimed(store: RecordStore) -> None:
    cast = Cast.new()
    await seed_people(store, cast)
    await record(store, cast.matched())
    first, second = cast.key(2, "mentee"), cast.key(3, "mentor")
    lease = timedelta(milliseconds=100)
    claims = Claims(store.database, lease)
    assert await claims.claim_counts([]) == {}
    assert await claims.claim(first) is not None
    await asyncio.sleep(0.15)
    assert await claims.claim(first) is not None  # the first claim lapsed (a killed worker): taken again
    assert await claims.claim(second) is not None
    assert await claims.claim_counts([first, second, "never-claimed"]) == {first: 2, second: 1}


async def test_second_copies_at_a_sink_are_judged_by_the_claim_rows(store: RecordStore) -> None:
    cast = Cast.new()
    await seed_people(store, cast)
    await record(store, cast.matched())
    retaken, once = cast.key(2, "mentee"), cast.key(3, "mentor")
    claims = Claims(store.database, timedelta(milliseconds=100))
    for key in (retaken, retaken, once):
        assert await claims.claim(key) is not None
        await asyncio.sleep(0.15)
    late = T0 + timedelta(seconds=20)
    sent = {"<a@x>": (retaken, late), "<b@x>": (once, late)}
    received = [
        (1.0, T0 + timedelta(seconds=1), "<a@x>"),
        (1.5, T0 + timedelta(seconds=1), "<b@x>"),
        (2.0, T0 + timedelta(seconds=2), "<other-cohort@x>"),  # not among the rows: not judged
        (2.5, T0 + timedelta(seconds=2), "<other-cohort@x>"),
        (20.0, late, "<a@x>"),  # claimed again, a kill at 3 s: the edge
        (20.5, late, "<b@x>"),  # claimed once: a double
    ]
    assert await claims.second_copies(received, sent, [(3.0, 3.0)]) == (["<a@x>"], ["<b@x>"])
    assert await claims.second_copies(received, sent, []) == ([], ["<a@x>", "<b@x>"])  # no fault explains them


T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("claims", "sent_late", "losses", "edge"),
    [
        (2, True, [(3.0, 3.0)], True),  # accepted at 1, worker killed at 3, sent again at 20: the edge
        (2, True, [(2.0, 30.0)], True),  # the records database went away at 2 (the mark-sent failed)
        (2, True, [(0.5, 5.0)], True),  # an outage already under way when the copy was accepted
        (1, True, [(3.0, 3.0)], False),  # claimed once: one delivery sent it twice, a double
        (None, True, [(3.0, 3.0)], False),  # never claimed: not the outbox's delivery
        (2, False, [(3.0, 3.0)], False),  # marked sent before the second copy: the first was confirmed
        (2, True, [(12.0, 12.0)], False),  # the kill came too long after the acceptance to explain it
        (2, True, [(0.2, 0.5)], False),  # an outage over before the first copy
        (2, True, [(25.0, 25.0)], False),  # a kill after the second copy
        (2, True, [], False),  # no fault at all
    ],
)
def test_a_second_copy_is_the_documented_edge_only_when_records_and_a_fault_say_so(
    claims: int | None, sent_late: bool, losses: list[tuple[float, float]], edge: bool
) -> None:
    again_wall = T0 + timedelta(seconds=20)
    sent_at = again_wall if sent_late else T0 + timedelta(seconds=1)
    assert resent_unconfirmed(1.0, 20.0, again_wall, claims, sent_at, losses) is edge
    assert not resent_unconfirmed(1.0, 20.0, again_wall, claims, None, losses)  # never marked sent


async def test_the_activity_delivers_and_raises_for_retry(store: RecordStore, mail_server: MailServer) -> None:
    cast = Cast.new()
    await seed_people(store, cast)
    await record(store, cast.signature_overdue())
    env = activity_environment()
    request = DeliverNotifications(partnership_id=cast.pid)
    down = SmtpMailer.from_url(f"smtp://127.0.0.1:{free_port()}?from={SENDER}")
    with pytest.raises(DeliveryFailed):
        await env.run(NotificationActivities(store, down).deliver_notifications, request)
    assert {m.status for m in (await outbox(store, cast)).values()} == {OutboxStatus.PENDING}

    result = await env.run(NotificationActivities(store, mailer(mail_server)).deliver_notifications, request)
    assert result == Delivered(sent=6, undeliverable=0, pending=0)
    [escalation] = mail_server.to(str(COORDINATOR.email))
    assert subject(escalation) == f"[EntryPoint] Action needed: agreement unsigned, partnership {cast.pid}"
    body = escalation.get_content()
    assert f"entrypoint intervene {cast.pid} acknowledge --reason" in body
    assert f"Mentor: {cast.mentor_id}" in body
    assert (await outbox(store, cast))[cast.key(5, "coordinator")].recipient_id == cast.coordinator_id


async def test_logs_carry_ids_and_counts_never_contact_data(
    store: RecordStore, mail_server: MailServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    cast = Cast.new()
    await seed_people(store, cast)
    await record(store, cast.started())
    mail_server.refuse.add(str(MENTOR.email))
    with structlog.testing.capture_logs() as logs:
        # A fresh logger: the module's own may be cached from an earlier structlog configuration.
        monkeypatch.setattr(delivery, "log", structlog.get_logger("entrypoint.notifications"))
        await deliver_pending(store, mailer(mail_server), cast.pid)
        other = Cast.new()
        await seed_people(store, other)
        await record(store, other.accepted())
        with pytest.raises(DeliveryFailed) as failed:
            await deliver_pending(store, SmtpMailer.from_url(f"smtp://127.0.0.1:{free_port()}"), other.pid)
    assert {entry["event"] for entry in logs} >= {"notification.sent", "notification.undeliverable"}
    text = repr(logs) + str(failed.value)
    for secret in PERSONAL:
        assert secret not in text


async def test_names_in_any_script_are_delivered_and_broken_ones_are_not(
    store: RecordStore, mail_server: MailServer
) -> None:
    cast = Cast.new()
    finnish = Contact(name="Jääskeläinen, Åsa", email="asa@example.fi")
    await seed_people(store, cast, mentee=Contact(name="李小龍", email="li@example.cn"), mentor=finnish)
    await record(store, cast.matched())
    # Contact refuses control characters now (domain.limits); one stored before that is still never sent.
    broken = Contact.model_construct(name="Li\nBcc: all@example.org", email="li@example.cn")
    await store.change_contact(cast.mentee_id, "mentee", broken, actor="test")

    result = await deliver_pending(store, mailer(mail_server), cast.pid)

    assert result == Delivered(sent=1, undeliverable=2, pending=0)
    [message] = mail_server.messages
    assert message["To"].addresses[0].display_name == "Jääskeläinen, Åsa"
    assert message.get_content().startswith("Dear Jääskeläinen, Åsa,")
    assert mail_server.envelopes[0][1] == ["asa@example.fi"]
    reasons = {m.reason for m in (await outbox(store, cast)).values() if m.status == OutboxStatus.UNDELIVERABLE}
    assert reasons == {f"the contact data of person {cast.mentee_id} cannot be used in an e-mail"}


async def test_a_send_is_cut_off_at_its_deadline_so_the_claim_never_outlives_it(
    store: RecordStore, mail_server: MailServer
) -> None:
    """A server that answers each step in time but never finishes: the send is cut off, the message
    stays pending, and the lease is always longer than the longest send."""
    cast = Cast.new()
    await seed_people(store, cast)
    await record(store, cast.accepted())
    mail_server.delay = 0.25  # per step: well inside the 1 s timeout, but RCPT + DATA outlast 0.3 s
    slow = SmtpMailer(dataclasses.replace(parse_smtp_url(mail_server.url + "&timeout=1"), dialogue_deadline=0.3))
    assert slow.max_send_seconds == pytest.approx(1.3)
    assert lease_for(slow) == timedelta(minutes=2)
    assert lease_for(SmtpMailer.from_url("smtp://mail.example.org?timeout=60")) == timedelta(seconds=360)

    with pytest.raises(DeliveryFailed, match=r"did not finish within 0\.3 s"):
        await deliver_pending(store, slow, cast.pid)
    assert [m.status for m in (await outbox(store, cast)).values()] == [OutboxStatus.PENDING]

    mail_server.delay = 0
    assert (await deliver_pending(store, mailer(mail_server), cast.pid)).sent == 1
    await asyncio.sleep(0.3)
    # The server did take the first message after all (its reply never came): the receiver sees the
    # same Message-ID twice and can drop the copy.
    assert len({m["Message-ID"] for m in mail_server.messages}) == 1


async def test_the_claims_table_comes_back_if_the_database_is_reset(tmp_path: Path, mail_server: MailServer) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'records.db'}"
    await upgrade(url)
    async with RecordStore.from_url(url) as records:
        cast = Cast.new()
        await seed_people(records, cast)
        await record(records, cast.accepted())
        assert (await deliver_pending(records, mailer(mail_server), cast.pid)).sent == 1
        async with records.database.engine.begin() as connection:
            await connection.exec_driver_sql("DROP TABLE outbox_claims")
        other = Cast.new()
        await seed_people(records, other)
        await record(records, other.accepted())
        assert (await deliver_pending(records, mailer(mail_server), other.pid)).sent == 1


async def test_record_and_deliver_records_then_sends_each_notice_once_however_often_it_runs(
    store: RecordStore, mail_server: MailServer
) -> None:
    """One activity per command (issue 12): the events are appended and their five notices sent; the retry
    Temporal makes after a lost completion finds the events appended and every notice sent, and sends nothing."""
    cast = Cast.new()
    await seed_people(store, cast)
    run = cast.started()
    request = RecordEvents(partnership_id=cast.pid, expected_version=0, events=run.log)
    activities = PartnershipActivities(store, mailer(mail_server))

    first = await activity_environment().run(activities.record_and_deliver, request)
    again = await activity_environment(attempt=2).run(activities.record_and_deliver, request)

    assert (first.version, first.duplicate, len(first.outbox_keys)) == (len(run.log), False, 5)
    assert first.delivered == Delivered(sent=5, undeliverable=0, pending=0) and first.delivery_failed is None
    assert again.duplicate and again.delivered == Delivered(sent=0, undeliverable=0, pending=0)
    assert len(mail_server.messages) == 5
    assert {m.status for m in (await outbox(store, cast)).values()} == {OutboxStatus.SENT}
    assert [e.version for e in await store.read_log(cast.pid)] == list(range(1, len(run.log) + 1))


async def test_record_and_deliver_keeps_the_record_when_the_mail_server_is_down(
    store: RecordStore, mail_server: MailServer
) -> None:
    """The record is what must not fail: with the mail server away the events are appended, the activity
    succeeds and says why nothing was sent, and the notices stay pending for the sweep (which sends them once)."""
    cast = Cast.new()
    await seed_people(store, cast)
    run = cast.matched()
    request = RecordEvents(partnership_id=cast.pid, expected_version=0, events=run.log)
    down = SmtpMailer.from_url(f"smtp://127.0.0.1:{free_port()}?from={SENDER}")

    recorded = await activity_environment().run(PartnershipActivities(store, down).record_and_deliver, request)

    assert recorded.version == len(run.log) and len(recorded.outbox_keys) == 3
    assert recorded.delivered is None and recorded.delivery_failed == "DeliveryFailed"
    assert {m.status for m in (await outbox(store, cast)).values()} == {OutboxStatus.PENDING}
    swept = await deliver_pending(store, mailer(mail_server), cast.pid)  # what the sweep runs, for every partnership
    assert swept == Delivered(sent=3, undeliverable=0, pending=0) and len(mail_server.messages) == 3


async def test_a_retried_attempt_takes_over_at_once_what_a_killed_attempt_had_claimed(
    store: RecordStore, mail_server: MailServer
) -> None:
    """Attempt 1 claimed a message and died. Its claim ended with the attempt's start-to-close, so
    attempt 2 (Temporal retries only after that) sends it straight away, not after a lease."""
    cast = Cast.new()
    await seed_people(store, cast)
    await record(store, cast.matched())
    attempt_ends = datetime.now(UTC) + timedelta(milliseconds=300)
    killed = await Claims(store.database).claim(cast.key(2, "mentee"), expires_at=attempt_ends)
    assert killed is not None
    cli = await Claims(store.database).claim(cast.key(3, "mentee"))  # a live `outbox deliver`, mid-send
    assert cli is not None

    await asyncio.sleep(0.4)
    request = DeliverNotifications(partnership_id=cast.pid)
    activities = NotificationActivities(store, mailer(mail_server))
    result = await activity_environment(attempt=2).run(activities.deliver_notifications, request)

    assert result == Delivered(sent=2, undeliverable=0, pending=1)
    assert {rcpts[0] for _, rcpts in mail_server.envelopes} == {str(MENTEE.email), str(MENTOR.email)}
    assert (await outbox(store, cast))[cast.key(3, "mentee")].status == OutboxStatus.PENDING


async def test_an_attempt_about_to_time_out_leaves_the_rest_to_the_next_one(
    store: RecordStore, mail_server: MailServer
) -> None:
    cast = Cast.new()
    await seed_people(store, cast)
    await record(store, cast.accepted())
    request = DeliverNotifications(partnership_id=cast.pid)
    activities = NotificationActivities(store, mailer(mail_server))
    with pytest.raises(DeliveryFailed, match="out of time for this attempt"):
        await activity_environment(start_to_close=3.5).run(activities.deliver_notifications, request)
    assert mail_server.messages == []
    assert await Claims(store.database).claim(cast.key(2, "mentee")) is not None  # nothing left claimed


async def test_delivery_renders_from_the_outbox_row_and_never_folds_the_log(
    store: RecordStore, mail_server: MailServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The events of a command are folded once, when they are recorded: the outbox row carries the state right
    after its event, and the event, which is what the notice is rendered with."""
    cast = Cast.new()
    await seed_people(store, cast)
    run = cast.signature_overdue()
    await record(store, run)
    rows = await outbox(store, cast)
    states = [b.fold(b.initial_state(cast.pid), run.log[:n]) for n in range(len(run.log) + 1)]
    for row in rows.values():
        assert row.context is not None
        assert PartnershipState.model_validate(row.context["state"]) == states[row.event_version]
        assert parse_event(row.context["event"]) == run.log[row.event_version - 1]
    assert "context" not in rows[cast.key(5, "coordinator")].model_dump(), "not in listings"

    async def no_log(partnership_id: str) -> list[object]:
        raise AssertionError("delivery read the log to fold it")

    monkeypatch.setattr(store, "read_log", no_log)
    assert await deliver_pending(store, mailer(mail_server), cast.pid) == Delivered(sent=6, undeliverable=0, pending=0)
    overdue = [m for m in mail_server.messages if m["To"].addresses[0].username == "carla"]
    assert len(overdue) == 1 and cast.pid in overdue[0].get_content()


async def test_rows_written_before_the_outbox_carried_its_context_still_deliver_the_same(
    store: RecordStore, mail_server: MailServer
) -> None:
    cast, old = Cast.new(), Cast.new()
    for each in (cast, old):
        await seed_people(store, each)
        await record(store, each.matched())

    async def forget_context(connection: AsyncConnection) -> None:  # as a row from before revision 0009
        await connection.execute(update(s.outbox).where(s.outbox.c.partnership_id == old.pid).values(context=None))

    await store.database.write(forget_context)
    assert all(row.context is None for row in (await outbox(store, old)).values())
    for each in (cast, old):
        assert await deliver_pending(store, mailer(mail_server), each.pid) == Delivered(
            sent=3, undeliverable=0, pending=0
        )
    by_key = {m["X-EntryPoint-Notice"]: m.get_content() for m in mail_server.messages}

    def anonymous(text: str, who: Cast) -> str:
        for value, mark in ((who.pid, "P"), (who.mentor_id, "M"), (who.mentee_id, "E"), (who.cohort_id, "C")):
            text = text.replace(value, mark)
        return text

    for version, role in ((2, "mentee"), (3, "mentee"), (3, "mentor")):
        assert anonymous(by_key[old.key(version, role)], old) == anonymous(by_key[cast.key(version, role)], cast)


async def test_a_message_sent_then_not_marked_sent_is_marked_on_the_next_delivery_not_sent_again(
    tmp_path: Path,
) -> None:
    """The records database fails just after the mail server accepted a message (the PostgreSQL drill's doubles):
    marking it sent fails, the delivery fails. The next delivery in this process (the retry, or the sweep) marks
    it sent with the Message-ID it went out with, and sends it no second time."""
    path = tmp_path / "records.db"
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade(url)

    class LosesTheRecords(MailServer):
        """Accepts the first message, then takes the outbox table away (as an outage would) before the
        delivery can mark it sent."""

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            answer = await super().handle_DATA(server, session, envelope)
            if len(self.messages) == 1:
                with sqlite3.connect(path) as connection:
                    connection.execute("ALTER TABLE outbox RENAME TO outbox_gone")
            return answer

    server = LosesTheRecords().start()
    try:
        async with RecordStore.from_url(url) as records:
            cast = Cast.new()
            await seed_people(records, cast)
            await record(records, cast.accepted())
            [key] = (await outbox(records, cast)).keys()
            with pytest.raises(DBAPIError):
                await deliver_pending(records, mailer(server), cast.pid, until=datetime.now(UTC) + timedelta(seconds=5))
            assert len(server.messages) == 1
            with sqlite3.connect(path) as connection:
                connection.execute("ALTER TABLE outbox_gone RENAME TO outbox")
            assert (await outbox(records, cast))[key].status == OutboxStatus.PENDING
            await asyncio.sleep(5.1)  # the failed attempt's claim has lapsed with it

            assert (await deliver_pending(records, mailer(server), cast.pid)).sent == 1
            assert len(server.messages) == 1  # not sent again
            marked = (await outbox(records, cast))[key]
            assert marked.status == OutboxStatus.SENT
            assert marked.message_id == server.messages[0]["Message-ID"]
    finally:
        server.stop()
