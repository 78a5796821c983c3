"""Gatherings' notices go through their outbox and reach the registrants' addresses once, on SQLite and
PostgreSQL, through a real SMTP server on loopback."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta

from temporalio.testing import ActivityEnvironment

from activities.gathering import GatheringActivities
from activities.models import RecordGatheringEvents
from activities.notifications.delivery import message_id_for
from activities.notifications.gatherings import deliver_gathering_pending, gathering_templates, render_gathering
from activities.notifications.smtp import SmtpMailer
from activities.records import gathering_outbox
from activities.records.store import RecordStore
from domain.gathering import commands as gc
from domain.gathering import decide, fold, initial_state, notices_for
from domain.gathering import events as ge
from tests.domain.test_gathering import T0, plan
from tests.notifications.conftest import MailServer
from tests.notifications.seed import COORDINATOR, MENTEE, MENTOR, Cast, record, seed_people

SENDER = "entrypoint@example.org"


class Gathering:
    """One gathering of a cast's cohort, driven through the domain the way the workflow drives it."""

    def __init__(self, cast: Cast, capacity: int = 1) -> None:
        self.cast = cast
        self.key = f"gathering-{cast.cohort_id}-visit"
        self.state = initial_state(self.key)
        self.recorded = 0
        self.pending: list[ge.Event] = []
        self.do(gc.Schedule(plan=plan(cohort_id=cast.cohort_id, gathering_id="visit", capacity=capacity)), T0)

    def do(self, command: gc.Command, at: datetime) -> list[ge.Event]:
        events = decide(self.state, command, at)
        self.state = fold(self.state, events)
        self.pending.extend(events)
        return events

    async def record(self, store: RecordStore) -> RecordGatheringEvents:
        request = RecordGatheringEvents(
            gathering_key=self.key, cohort_id=self.cast.cohort_id, expected_version=self.recorded, events=self.pending
        )
        self.recorded = await store.append_gathering_events(self.key, self.cast.cohort_id, self.recorded, self.pending)
        self.pending = []
        return request


def environment() -> ActivityEnvironment:
    """An activity context as the worker gives it: this attempt just started, with the workflow's timeout."""
    env = ActivityEnvironment()
    env.info = dataclasses.replace(
        env.info, started_time=datetime.now(UTC), start_to_close_timeout=timedelta(seconds=15)
    )
    return env


async def _cast(store: RecordStore) -> Cast:
    cast = Cast.new()
    await seed_people(store, cast)
    await record(store, cast.matched())  # the partnership's read model names its mentee and mentor
    return cast


async def rows(store: RecordStore, key: str) -> dict[str, object]:
    return {row.idempotency_key: row for row in await gathering_outbox.listing(store.database, None, key)}


async def test_reminders_promotions_and_cancellations_reach_each_registrant_once(
    store: RecordStore, mail_server: MailServer
) -> None:
    cast, late = await _cast(store), await _cast(store)
    stranger = f"partnership-nobody-{uuid.uuid4().hex[:6]}"  # no partnership on file
    gathering = Gathering(cast, capacity=2)
    gathering.do(gc.Register(registrant_id=cast.pid), T0)
    gathering.do(gc.Register(registrant_id=f"{cast.pid}:mentor"), T0)
    gathering.do(gc.Register(registrant_id=late.pid), T0)  # waitlisted
    gathering.do(gc.Register(registrant_id=stranger), T0)  # waitlisted after
    await gathering.record(store)
    plan_ = gathering.state.plan
    assert plan_ is not None
    gathering.do(gc.Tick(), plan_.reminder_at)
    cancelled = gathering.do(gc.CancelRegistration(registrant_id=f"{cast.pid}:mentor"), plan_.reminder_at)
    assert any(isinstance(e, ge.RegistrationCancelled) and e.promoted == late.pid for e in cancelled)
    gathering.do(gc.CancelGathering(reason="the studio closed for the day"), plan_.reminder_at)
    request = await gathering.record(store)
    # A retried append (the activity ran again) writes no notice twice.
    await store.append_gathering_events(gathering.key, cast.cohort_id, request.expected_version, request.events)

    outbox = await rows(store, gathering.key)
    expected = sum(len(notices_for(e)) for e in await store.read_gathering_log(gathering.key))
    assert len(outbox) == expected == 6  # reminder x2, place offered, cancelled x3

    result = await deliver_gathering_pending(store, SmtpMailer.from_url(mail_server.url), gathering.key)
    again = await deliver_gathering_pending(store, SmtpMailer.from_url(mail_server.url), gathering.key)

    assert (result.sent, result.undeliverable, result.pending) == (5, 1, 0)
    assert again.sent == 0
    to = sorted(rcpts[0] for _, rcpts in mail_server.envelopes)
    assert to == sorted([str(MENTEE.email)] * 4 + [str(MENTOR.email)])
    subjects = sorted(" ".join(str(m["Subject"]).split()) for m in mail_server.messages)
    assert sum("reminder: Company visit" in s for s in subjects) == 2
    assert sum("is cancelled" in s for s in subjects) == 2
    assert sum("a place for you" in s for s in subjects) == 1
    for message in mail_server.messages:
        assert message["X-EntryPoint-Notice"] in outbox
        assert message["Message-ID"] == message_id_for(message["X-EntryPoint-Notice"], SENDER)
        assert f"Dear {message['To'].addresses[0].display_name}," in message.get_content()
    cancel = next(m for m in mail_server.messages if "is cancelled" in str(m["Subject"]))
    assert "the studio closed for the day" in cancel.get_content()
    after = await rows(store, gathering.key)
    [lost] = [r for r in after.values() if r.status == "undeliverable"]  # type: ignore[attr-defined]
    assert lost.registrant_id == stranger and stranger in lost.reason  # type: ignore[attr-defined]
    assert len(mail_server.messages) == len({m["Message-ID"] for m in mail_server.messages})


async def test_the_coordinator_is_asked_for_the_attendance_by_e_mail(
    store: RecordStore, mail_server: MailServer
) -> None:
    cast = await _cast(store)
    gathering = Gathering(cast, capacity=5)
    gathering.do(gc.Register(registrant_id=cast.pid), T0)
    plan_ = gathering.state.plan
    assert plan_ is not None
    gathering.do(gc.Tick(), plan_.reminder_at)
    gathering.do(gc.Tick(), plan_.starts_at)
    gathering.do(gc.Tick(), plan_.ends_at)
    await gathering.record(store)

    await deliver_gathering_pending(store, SmtpMailer.from_url(mail_server.url), gathering.key)

    coordinator = mail_server.to(str(COORDINATOR.email))
    assert len(coordinator) == 1
    assert "record the attendance" in str(coordinator[0]["Subject"])
    assert f"--workflow-id {gathering.key} --name record_attendance" in coordinator[0].get_content()


async def test_the_activity_records_and_sends_and_a_retry_sends_nothing_again(
    store: RecordStore, mail_server: MailServer
) -> None:
    cast = await _cast(store)
    gathering = Gathering(cast, capacity=5)
    gathering.do(gc.Register(registrant_id=cast.pid), T0)
    gathering.do(gc.CancelGathering(reason="snow storm"), T0 + timedelta(hours=1))
    request = RecordGatheringEvents(
        gathering_key=gathering.key, cohort_id=cast.cohort_id, expected_version=0, events=gathering.pending
    )
    activities = GatheringActivities(store, None, mailer=SmtpMailer.from_url(mail_server.url))
    env = environment()

    first = await env.run(activities.record_gathering_events, request)
    second = await env.run(activities.record_gathering_events, request)  # a retry

    assert first == second and first.notices == 1
    assert len(mail_server.messages) == 1
    assert mail_server.envelopes[0][1] == [str(MENTEE.email)]
    assert "snow storm" in mail_server.messages[0].get_content()


async def test_with_the_mail_server_down_the_activity_succeeds_and_the_notice_waits(store: RecordStore) -> None:
    cast = await _cast(store)
    gathering = Gathering(cast, capacity=5)
    gathering.do(gc.Register(registrant_id=cast.pid), T0)
    gathering.do(gc.CancelGathering(reason="snow storm"), T0 + timedelta(hours=1))
    request = RecordGatheringEvents(
        gathering_key=gathering.key, cohort_id=cast.cohort_id, expected_version=0, events=gathering.pending
    )
    down = MailServer()  # never started: connections are refused
    activities = GatheringActivities(store, None, mailer=SmtpMailer.from_url(down.url))

    recorded = await environment().run(activities.record_gathering_events, request)

    assert recorded.version == 3
    [row] = (await rows(store, gathering.key)).values()
    assert row.status == "pending" and row.attempts == 1  # type: ignore[attr-defined]


def test_every_gathering_notice_has_its_template_and_renders_every_fact() -> None:
    emitted = {"gathering_reminder", "gathering_place_offered", "gathering_cancelled"}
    emitted |= {"gathering_attendance_due", "gathering_attendance_missing"}
    assert gathering_templates() == emitted
    state = fold(
        initial_state("gathering-c-1-visit"), decide(initial_state("gathering-c-1-visit"), gc.Schedule(plan=plan()), T0)
    )
    for template in sorted(emitted):
        message = render_gathering(template, name="Ada Example", state=state, event=None)
        assert "$" not in message.subject + message.body and message.body.startswith("Dear Ada Example,")
        assert "Company visit" in message.subject + message.body
