"""End to end, on the real time-skipping server with a real SMTP server on loopback: a mentee who applies with
``preferred_language: fi`` gets the Finnish e-mail, and the mentor (who gave none) the English one."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from email import message_from_bytes
from email.message import EmailMessage, Message
from email.policy import default

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.notifications.smtp import SmtpMailer
from activities.records.store import RecordStore
from domain import Contact
from domain.people import MentorProfile, Sector
from tests.smtp import SmtpSink
from tests.workflows.harness import application, start, update, wait_stage
from workers.worker import build_worker

pytestmark = pytest.mark.temporal

MENTEE = Contact(name="Aino Mäkinen", email="aino.makinen@example.org", preferred_language="fi")


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _text(message: Message) -> tuple[str, str]:
    """Subject and body as a reader sees them (headers decoded, line wrapping undone)."""
    parsed = message_from_bytes(message.as_bytes(), policy=default)
    assert isinstance(parsed, EmailMessage)
    return " ".join(str(parsed["Subject"]).split()), " ".join(parsed.get_content().split())


async def _mail_to(sink: SmtpSink, address: str, count: int, timeout: float = 30.0) -> list[Message]:
    for _ in range(int(timeout / 0.1)):
        found = [m for m, (_, rcpts) in zip(sink.messages, sink.envelopes, strict=True) if address in rcpts]
        if len(found) >= count:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"{count} message(s) to {address} did not arrive; got {len(sink.envelopes)} in all")


async def test_a_finnish_speaking_mentee_gets_the_finnish_email(
    ts_env: WorkflowEnvironment, records: RecordStore, cohort_id: str, sink: SmtpSink
) -> None:
    mentor_id = f"mr-{uuid.uuid4().hex[:6]}"
    mentor = Contact(name="Mikko Virtanen", email="mikko@example.com")
    profile = MentorProfile(mentor_id=mentor_id, organisation_id="org-fi", sector=Sector.PUBLIC)
    await records.upsert_mentor(profile, mentor, cohorts=[cohort_id])  # a match must name a mentor of the pool
    mailer = SmtpMailer.from_url(f"smtp://127.0.0.1:{sink.port}?from=entrypoint@example.org")
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    async with build_worker(ts_env.client, task_queue, records, mailer=mailer):
        handle = await start(ts_env.client, task_queue, application(cohort_id, contact=MENTEE))
        await wait_stage(handle, "AWAITING_MATCH")
        [accepted] = await _mail_to(sink, str(MENTEE.email), 1)
        subject, body = _text(accepted)
        assert subject == "EntryPoint: hakemuksesi on hyväksytty"
        assert body.startswith("Hei Aino Mäkinen, Tervetuloa EntryPointiin!")
        assert f"Viitteesi on {handle.id}" in body
        await update(handle, "match_proposed", {"mentor_id": mentor_id})
        mentee_mail = await _mail_to(sink, str(MENTEE.email), 2)
        [to_mentor] = await _mail_to(sink, "mikko@example.com", 1)
    subject, body = _text(mentee_mail[1])
    assert subject == "EntryPoint: sinulle on löytynyt pari - allekirjoita sopimus"
    assert "Parisi olisi Mikko Virtanen." in body and "(Suomen aikaa)" in body
    subject, body = _text(to_mentor)
    assert subject == "EntryPoint: you have been matched - please sign your agreement"
    assert "between you and Aino Mäkinen (your mentee)" in body and "(Finnish time)" in body
    stored = await records.get_contact(handle.id.removeprefix(f"partnership-{cohort_id}-"), "mentee")
    assert stored == MENTEE
