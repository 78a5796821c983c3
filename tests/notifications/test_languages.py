"""Notifications in the recipient's language (en, fi, sv): every template in every language with the same
placeholders, the words of the context translated too, English when a template is missing, and each recipient
of one notice in their own language, through a real SMTP server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage

import pytest

from activities.notifications import gatherings as gatherings_module
from activities.notifications import rendering
from activities.notifications.delivery import deliver_pending
from activities.notifications.gatherings import gathering_placeholders, gathering_templates, render_gathering
from activities.notifications.rendering import KNOWN_PLACEHOLDERS, placeholders, render, template_files
from activities.notifications.smtp import SmtpMailer
from activities.records.store import RecordStore
from domain import Contact, Language
from domain.gathering import commands as gc
from domain.gathering import decide, fold
from domain.gathering import initial_state as gathering_initial
from domain.partnership import notices_for
from tests.domain import builders as b
from tests.domain.test_gathering import T0, plan
from tests.notifications.conftest import MailServer
from tests.notifications.seed import COORDINATOR, Cast, record, seed_people
from tests.notifications.test_templates import emitted, flat, lifecycle

OTHERS = (Language.FI, Language.SV)
GREETING = {Language.EN: "Dear", Language.FI: "Hei", Language.SV: "Hej"}
ENGLISH_WORDS = ("Finnish time", "not set", "Next step", "days", "hours", "the mentor", "the mentee", "Dear ")
"""English that must not show in a Finnish or Swedish e-mail (the context's words are translated too)."""


def test_every_template_exists_in_every_language_with_the_same_placeholders() -> None:
    english = template_files()
    assert len(english) >= 23
    for language in OTHERS:
        assert template_files(language) == english, f"{language}: missing {english - template_files(language)}"
        for stem in english:
            assert placeholders(stem, language) == placeholders(stem), (
                f"{language}/{stem}: missing {placeholders(stem) - placeholders(stem, language)}, "
                f"extra {placeholders(stem, language) - placeholders(stem)}"
            )
            assert placeholders(stem, language) <= KNOWN_PLACEHOLDERS


def test_every_gathering_template_exists_in_every_language_with_the_same_placeholders() -> None:
    english = gathering_templates()
    assert len(english) == 5
    for language in OTHERS:
        assert gathering_templates(language) == english
        for stem in english:
            assert gathering_placeholders(stem, language) == gathering_placeholders(stem), (language, stem)


@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize(("template", "recipient"), sorted(emitted()))
def test_every_emitted_notice_renders_in_every_language(template: str, recipient: str, language: Language) -> None:
    state = b.closing_review().state
    message = render(
        template, recipient, name="Ada Example", state=state, counterpart_name="Bo Example", language=language
    )
    assert message.subject and "\n" not in message.subject and "$" not in message.subject + message.body
    assert message.body.startswith(f"{GREETING[language]} Ada Example,\n")
    assert b.PID in message.body
    if language != Language.EN:
        english = render(template, recipient, name="Ada Example", state=state, counterpart_name="Bo Example")
        assert message.subject != english.subject and message.body != english.body
        leaked = [word for word in ENGLISH_WORDS if word in flat(message.body)]
        assert not leaked, (template, language, leaked)


@pytest.mark.parametrize("language", OTHERS)
def test_a_whole_programme_reads_in_finnish_and_swedish_with_every_fact(language: Language) -> None:
    p = rendering.ph.phrases(language)
    seen: dict[str, str] = {}
    for event, before, after in lifecycle():
        for notice in notices_for(event, before):
            message = render(
                notice.template,
                notice.recipient,
                name="Ada",
                state=after,
                event=event,
                counterpart_name="Bo",
                language=language,
            )
            body = flat(message.body)
            assert "$" not in body and p.not_set not in body and "not set" not in body, (notice.template, body)
            key = f"{notice.template}.{notice.recipient.value}"
            seen[key] = seen.get(key, "") + body
    assert "please meet this week" in seen["meeting_nudge_due.mentee"]  # the coordinator's own words, as given
    assert "16-24 h" in seen["meeting_nudge_due.mentor"]
    assert "entrypoint intervene p-1 reschedule --until" in seen["meeting_lapsed.coordinator"]
    assert "holidays" in seen["meeting_rescheduled.mentor"]
    assert "networking in Finland" in seen["agreement_amended.mentor"]
    assert p.parties["mentee"] in seen["agreement_amended.mentor"]  # who changed the terms, in the language


def test_dates_durations_and_numbers_are_written_the_way_each_language_writes_them() -> None:
    state = b.active().state
    due = state.next_meeting_due
    assert due is not None
    english = rendering.context_for("mentee", name="A", state=state)
    finnish = rendering.context_for("mentee", name="A", state=state, language="fi")
    swedish = rendering.context_for("mentee", name="A", state=state, language="sv")
    local = due.astimezone(rendering.PROGRAMME_TZ)
    assert english["next_meeting_due"].endswith(f"{local:%H:%M} (Finnish time)")
    assert finnish["next_meeting_due"] == (
        f"{rendering.ph.FI.weekdays[local.weekday()]} {local.day}.{local.month}.{local.year} "
        f"klo {local:%H.%M} (Suomen aikaa)"
    )
    assert swedish["next_meeting_due"].endswith(f"kl. {local:%H.%M} (finsk tid)")
    assert (english["meeting_cadence"], finnish["meeting_cadence"], swedish["meeting_cadence"]) == (
        "every 30 days",
        "30 päivän välein",
        "med 30 dagars mellanrum",
    )
    assert rendering.hours(1.5, rendering.ph.FI) == "1,5 h" and rendering.hours(1.5) == "1.5 h"
    assert (finnish["stage"], swedish["stage"]) == ("käynnissä", "aktivt")


@pytest.fixture
def finnish_without(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Finnish templates with one missing (as a template added in English only, before its translation)."""
    missing = "meeting_rescheduled"
    real = rendering.language_files

    def files(package: str, language: Language | str = Language.EN) -> dict[str, str]:
        found = real(package, language)
        return {stem: text for stem, text in found.items() if not (language == "fi" and stem == missing)}

    monkeypatch.setattr(rendering, "language_files", files)
    monkeypatch.setattr(gatherings_module, "language_files", files)
    rendering._templates.cache_clear()
    gatherings_module._templates.cache_clear()
    yield missing
    rendering._templates.cache_clear()
    gatherings_module._templates.cache_clear()


def test_a_template_missing_in_a_language_falls_back_to_english_words_and_all(finnish_without: str) -> None:
    assert finnish_without not in template_files("fi")
    state = b.active().state
    message = render(finnish_without, "mentee", name="Aino", state=state, language="fi")
    assert message == render(finnish_without, "mentee", name="Aino", state=state)  # English, dates included
    assert message.body.startswith("Dear Aino,") and "(Finnish time)" in message.body
    other = render("meeting_nudge_due", "mentee", name="Aino", state=state, language="fi")
    assert other.body.startswith("Hei Aino,")  # the rest stays Finnish


def test_gathering_notices_render_in_every_language() -> None:
    key = "gathering-c-1-visit"
    state = fold(gathering_initial(key), decide(gathering_initial(key), gc.Schedule(plan=plan()), T0))
    for template in sorted(gathering_templates()):
        for language in Language:
            message = render_gathering(template, name="Ada", state=state, event=None, language=language)
            assert "$" not in message.subject + message.body
            assert message.body.startswith(f"{GREETING[language]} Ada,")
            assert "Company visit" in message.subject + message.body
            if language != Language.EN:
                assert "Finnish time" not in message.body and "not set" not in message.body


def _body(message: EmailMessage) -> str:
    return flat(message.get_content())


async def test_each_recipient_of_a_notice_gets_their_own_language(store: RecordStore, mail_server: MailServer) -> None:
    cast = Cast.new()
    mentee = Contact(name="Aino Mäkinen", email="aino.makinen@example.org", preferred_language="fi")
    mentor = Contact(name="Saga Lindqvist", email="saga.lindqvist@example.com", preferred_language="sv")
    await seed_people(store, cast, mentee=mentee, mentor=mentor)
    await store.upsert_person(cast.coordinator_id, "coordinator", COORDINATOR)  # no language given: English
    await record(store, cast.signature_overdue())  # to the mentee, the mentor and the coordinator
    result = await deliver_pending(store, SmtpMailer.from_url(mail_server.url), cast.pid)
    assert result.sent == 6 and result.pending == 0
    to_mentee = mail_server.to(str(mentee.email))
    to_mentor = mail_server.to(str(mentor.email))
    [to_coordinator] = mail_server.to(str(COORDINATOR.email))
    assert {" ".join(str(m["Subject"]).split()) for m in to_mentee} == {
        "EntryPoint: hakemuksesi on hyväksytty",
        "EntryPoint: sinulle on löytynyt pari - allekirjoita sopimus",
        "EntryPoint-muistutus: sopimuksesi odottaa vielä allekirjoitusta",
    }
    assert all(_body(m).startswith("Hei Aino Mäkinen,") for m in to_mentee)
    proposal = next(m for m in to_mentee if "pari" in str(m["Subject"]))
    assert "Parisi olisi Saga Lindqvist." in _body(proposal) and "Suomen aikaa" in _body(proposal)
    assert {" ".join(str(m["Subject"]).split()) for m in to_mentor} == {
        "EntryPoint: du har fått ett mentorspar - underteckna ert avtal",
        "EntryPoint-påminnelse: ert avtal behöver fortfarande din underskrift",
    }
    assert all(_body(m).startswith("Hej Saga Lindqvist,") for m in to_mentor)
    assert "Aino Mäkinen (din adept)" in _body(to_mentor[0]) + _body(to_mentor[1])
    assert _body(to_coordinator).startswith("Dear ")
    assert " ".join(str(to_coordinator["Subject"]).split()).startswith("[EntryPoint] Action needed: agreement unsigned")
    assert to_mentee[0].get_content_charset() == "utf-8"


async def test_a_gathering_reminder_reaches_each_registrant_in_their_language(
    store: RecordStore, mail_server: MailServer
) -> None:
    from activities.notifications.gatherings import deliver_gathering_pending
    from tests.notifications.test_gathering_notices import Gathering

    cast = Cast.new()
    mentee = Contact(name="Aino Mäkinen", email="aino.gathering@example.org", preferred_language="fi")
    mentor = Contact(name="Saga Lindqvist", email="saga.gathering@example.com", preferred_language="sv")
    await seed_people(store, cast, mentee=mentee, mentor=mentor)
    await record(store, cast.matched())
    gathering = Gathering(cast, capacity=5)
    gathering.do(gc.Register(registrant_id=cast.pid), T0)
    gathering.do(gc.Register(registrant_id=f"{cast.pid}:mentor"), T0)
    plan_ = gathering.state.plan
    assert plan_ is not None
    gathering.do(gc.Tick(), plan_.reminder_at)
    await gathering.record(store)
    result = await deliver_gathering_pending(store, SmtpMailer.from_url(mail_server.url), gathering.key)
    assert result.sent == 2
    [finnish] = mail_server.to(str(mentee.email))
    [swedish] = mail_server.to(str(mentor.email))
    assert " ".join(str(finnish["Subject"]).split()).startswith("EntryPoint-muistutus: Company visit")
    assert _body(finnish).startswith("Hei Aino Mäkinen, Muistutamme, että olet ilmoittautunut tapaamiseen")
    assert "(Suomen aikaa)" in _body(finnish)
    assert " ".join(str(swedish["Subject"]).split()).startswith("EntryPoint-påminnelse: Company visit")
    assert _body(swedish).startswith("Hej Saga Lindqvist,") and "(finsk tid)" in _body(swedish)
