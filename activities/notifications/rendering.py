"""Notification templates: one plain-text e-mail (subject and body) per template name that ``notices_for`` emits.

Templates are packaged files in ``templates/`` (English) and ``templates/fi/``, ``templates/sv/`` (Finnish,
Swedish): ``<template>.<role>.txt`` when the audiences of a notice need different words (a mentor's
withdrawal told to the mentee and to the coordinator), else ``<template>.txt``. Each recipient gets the
language of their ``preferred_language``; a template missing in that language falls back to English.
The first line is ``Subject: ...``, then a blank line, then the body: one line per
paragraph (wrapped when rendered), indented lines kept as written. Both are
:class:`string.Template` text; :func:`context_for` supplies every ``$name`` from the partnership state
(and from the event that caused the notice, when the caller has it). Rendering is pure.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from functools import cache
from importlib import resources
from string import Template

from activities.notifications import phrases as ph
from activities.notifications.phrases import Phrases
from domain.partnership import Recipient, Stage
from domain.partnership import events as e
from domain.partnership.state import PartnershipState
from domain.people import Language

TEMPLATE_PACKAGE = "activities.notifications.templates"
SUBJECT_PREFIX = "Subject:"
WIDTH = 76
"""Prose is wrapped to this many characters (RFC 5322 asks for lines under 78)."""

try:
    from zoneinfo import ZoneInfo

    PROGRAMME_TZ: tzinfo = ZoneInfo("Europe/Helsinki")
    PROGRAMME_TZ_NAME = "Finnish time"
except Exception:  # pragma: no cover - a system without the time zone database
    PROGRAMME_TZ, PROGRAMME_TZ_NAME = UTC, "UTC"

STAGE_WORDS: dict[Stage, str] = ph.EN.stages
LANGUAGES: tuple[Language, ...] = tuple(Language)
"""Every language a template may be written in; English (the first) is the fallback."""


class TemplateMissing(LookupError):
    """No template for a notice: a notice was added to ``notices_for`` without its words."""


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    body: str


@dataclass(frozen=True)
class _Template:
    subject: Template
    body: Template


# ---------------------------------------------------------------------------------------------- templates


def language_files(package: str, language: Language | str = Language.EN) -> dict[str, str]:
    """The ``.txt`` files of ``package`` in ``language`` (English: the package itself; else its ``<language>/``
    folder), by stem; empty when the language has no folder there."""
    root = resources.files(package)
    language = Language(language)
    if language != Language.EN:
        root = root.joinpath(language.value)
        if not root.is_dir():
            return {}
    return {
        entry.name.removesuffix(".txt"): entry.read_text(encoding="utf-8")
        for entry in root.iterdir()
        if entry.name.endswith(".txt")
    }


def parse_template(where: str, text: str) -> tuple[Template, Template]:
    """A template file's subject and body; ValueError when its first line is not ``Subject: ...``."""
    first, _, rest = text.partition("\n")
    if not first.startswith(SUBJECT_PREFIX) or not rest.startswith("\n"):
        raise ValueError(f"template {where}: the first line must be 'Subject: ...', then a blank line")
    return Template(first.removeprefix(SUBJECT_PREFIX).strip()), Template(rest[1:])


def template_names(subject: Template, body: Template) -> frozenset[str]:
    """Every ``$name`` the subject and body use."""
    names: set[str] = set()
    for template in (subject, body):
        for match in template.pattern.finditer(template.template):
            name = match.group("named") or match.group("braced")
            if name:
                names.add(name)
    return frozenset(names)


@cache
def _templates(language: Language = Language.EN) -> dict[str, _Template]:
    parsed: dict[str, _Template] = {}
    for stem, text in language_files(TEMPLATE_PACKAGE, language).items():
        parsed[stem] = _Template(*parse_template(f"{language.value}/{stem}", text))
    return parsed


def template_files(language: Language | str = Language.EN) -> frozenset[str]:
    """The stems of the packaged templates in ``language``: ``<template>`` or ``<template>.<role>``."""
    return frozenset(_templates(Language(language)))


def _in(language: Language, template: str, role: str) -> _Template | None:
    templates = _templates(language)
    return templates.get(f"{template}.{role}") or templates.get(template)


def _lookup(template: str, role: str, language: Language = Language.EN) -> _Template:
    """The template in ``language``, else in English; TemplateMissing when there is none at all."""
    found = _in(language, template, role) or _in(Language.EN, template, role)
    if found is None:
        raise TemplateMissing(f"no notification template {template!r} for the {role}")
    return found


def has_template(template: str, role: Recipient | str) -> bool:
    try:
        _lookup(template, str(role))
    except TemplateMissing:
        return False
    return True


def placeholders(stem: str, language: Language | str = Language.EN) -> frozenset[str]:
    """Every ``$name`` a packaged template uses (for tests: all must be known to :func:`context_for`)."""
    found = _templates(Language(language))[stem]
    return template_names(found.subject, found.body)


def render(
    template: str,
    role: Recipient | str,
    *,
    name: str,
    state: PartnershipState,
    event: e.Event | None = None,
    counterpart_name: str | None = None,
    language: Language | str | None = None,
) -> RenderedMessage:
    """The e-mail for one notice, addressed to ``name`` in ``role``, in ``language`` (None: English; a template
    missing in that language is written in English, words and all). Raises TemplateMissing, KeyError."""
    role = str(role)
    wanted = Language(language) if language else Language.EN
    found = _in(wanted, template, role)
    if found is None:
        found, wanted = _lookup(template, role), Language.EN
    context = context_for(role, name=name, state=state, event=event, counterpart_name=counterpart_name, language=wanted)
    subject = " ".join(found.subject.substitute(context).split())
    body = wrap(found.body.substitute(context)).rstrip() + "\n"
    return RenderedMessage(subject=subject, body=body)


def wrap(text: str, width: int = WIDTH) -> str:
    """Fill every line longer than ``width``: a line is a paragraph, or (indented) a list item or a label
    whose continuation lines hang two columns further in. Commands to copy are never broken."""
    lines = []
    for line in text.split("\n"):
        content = line.lstrip(" ")
        if len(line) <= width or content.startswith("entrypoint "):
            lines.append(line)
            continue
        indent = " " * (len(line) - len(content))
        hanging = indent + "  " if indent else ""
        lines.append(
            textwrap.fill(
                content,
                width,
                initial_indent=indent,
                subsequent_indent=hanging,
                break_long_words=False,
                break_on_hyphens=False,
            )
        )
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- context


def _tz_name(p: Phrases) -> str | None:
    return None if PROGRAMME_TZ_NAME != "UTC" else "UTC"


def when(moment: datetime | None, missing: str | None = None, p: Phrases = ph.EN) -> str:
    """A date for people: ``Mon 2 Mar 2026 10:00 (Finnish time)``, ``ma 2.3.2026 klo 10.00 (Suomen aikaa)``."""
    if moment is None:
        return p.not_set if missing is None else missing
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return ph.date_time(moment.astimezone(PROGRAMME_TZ), p, _tz_name(p))


def duration(span: timedelta, p: Phrases = ph.EN) -> str:
    """``30 days``, ``1 day``, ``12 hours``, ``1.5 hours``, ``45 seconds``: the largest unit that fits."""
    return ph.duration(span, p)


def hours(value: float, p: Phrases = ph.EN) -> str:
    return ph.hours(value, p)


def _bullets(items: tuple[str, ...] | list[str], missing: str) -> str:
    return "\n".join(f"  - {item}" for item in items) if items else f"  - {missing}"


def _parties(parties: tuple[str, ...] | list[str], p: Phrases = ph.EN) -> str:
    words = [p.parties.get(str(party), str(party)) for party in parties]
    if not words:
        return p.nobody
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + f" {p.and_} " + words[-1]


def _hours_progress(state: PartnershipState, p: Phrases = ph.EN) -> str:
    low, high = state.policy.target_hours_min, state.policy.target_hours_max
    total = state.total_hours
    account = p.hours_account.format(
        meeting_hours=hours(state.meeting_hours, p),
        meetings=ph.counted(state.meetings_held, p.meetings_word),
        gathering_hours=hours(state.gathering_hours, p),
        total=hours(total, p),
        low=ph.number(low, p),
        high=ph.number(high, p),
    )
    if total < low:
        return f"{account} " + p.hours_short.format(short=hours(round(low - total, 2), p), low=ph.number(low, p))
    if total <= high:
        return f"{account} {p.hours_within}"
    return f"{account} {p.hours_above}"


def _reason(state: PartnershipState, event: e.Event | None, p: Phrases = ph.EN) -> str:
    if event is not None:
        reason = getattr(event, "reason", None)
        if isinstance(reason, str) and reason:
            return reason
        reasons = getattr(event, "reasons", None)
        if reasons:
            return "; ".join(reasons)
    if isinstance(event, e.RematchRequested | type(None)) and state.rematch_reasons and state.mentor_id is None:
        return state.rematch_reasons[-1]
    return state.ended_reason or p.no_reason


def _next_step(state: PartnershipState, role: str, p: Phrases = ph.EN) -> str:
    agreement = state.agreement
    if state.stage == Stage.AWAITING_SIGNATURES and agreement is not None:
        unsigned = state.unsigned
        due = when(agreement.signing_due, p=p)
        if role in unsigned:
            return p.next_sign_yourself.format(due=due)
        return p.next_sign_others.format(parties=_parties(unsigned, p), due=due)
    if state.stage == Stage.ACTIVE:
        return p.next_meet.format(due=when(state.next_meeting_due, p=p))
    if state.stage == Stage.CLOSING_REVIEW:
        missing = state.reviews_missing
        review_due = when(state.review_window.due if state.review_window else None, p=p)
        if role in missing:
            return p.next_review_yourself.format(due=review_due)
        return p.next_review_others.format(parties=_parties(missing, p), due=review_due)
    if state.stage == Stage.PAUSED:
        return p.next_paused.format(until=_pause_until(state, p=p))
    if state.stage == Stage.AWAITING_MATCH:
        return p.next_awaiting_match
    return p.next_other.format(stage=_stage(state, p))


def _pause_until(state: PartnershipState, event: e.Event | None = None, p: Phrases = ph.EN) -> str:
    until = event.until if isinstance(event, e.PartnershipPaused) else state.pause.until if state.pause else None
    return p.until.format(when=when(until, p=p)) if until else p.until_further_notice


def _stage(state: PartnershipState, p: Phrases = ph.EN) -> str:
    return p.stages.get(state.stage, p.not_started) if state.stage else p.not_started


def _counterpart(role: str, counterpart_name: str | None, p: Phrases = ph.EN) -> tuple[str, str]:
    label = p.counterpart_labels[role if role in ("mentee", "mentor") else "pair"]
    described = p.counterpart_described.format(name=counterpart_name, label=label) if counterpart_name else label
    return label, described


def _checkin(state: PartnershipState, event: e.Event | None, p: Phrases = ph.EN) -> dict[str, str]:
    """The check-in round a notice is about (the event's, else the latest), and a low answer in words (never the
    note: free text stays in the records)."""
    number = event.round if isinstance(event, e.CheckinRequested | e.CheckinAnswered | e.CheckinNudgeDue) else None
    rounds = [r for r in state.checkins if number is None or r.round == number]
    asked = rounds[-1] if rounds else None
    answer = ""
    if isinstance(event, e.CheckinAnswered):
        answer = p.checkin_answer.format(score=event.score, as_planned=p.yes_no[0 if event.meeting_as_planned else 1])
    return {
        "checkin_round": str(number or (asked.round if asked else p.not_set)),
        "checkin_due": when(event.due if isinstance(event, e.CheckinRequested) else asked.due if asked else None, p=p),
        "checkin_asked": when(asked.asked_at if asked else None, p=p),
        "checkin_party": p.parties[event.party.value] if isinstance(event, e.CheckinAnswered) else p.checkin_party,
        "checkin_answer": answer or p.not_set,
    }


def context_for(
    role: str,
    *,
    name: str,
    state: PartnershipState,
    event: e.Event | None = None,
    counterpart_name: str | None = None,
    language: Language | str | None = None,
) -> dict[str, str]:
    """Every value a template may use, as text in ``language`` (None: English). Missing facts read ``not set``
    (in that language) rather than failing."""
    p = ph.phrases(language)
    agreement = state.agreement
    summary = state.summary
    other, counterpart = _counterpart(role, counterpart_name, p)
    meeting_was_due = event.meeting_was_due if isinstance(event, e.MeetingNudgeDue | e.MeetingLapsed) else None
    amended_by = event.party.value if isinstance(event, e.AgreementAmended) else None
    paused_for = event.paused_for if isinstance(event, e.PartnershipResumed) else None
    if isinstance(event, e.CoordinatorIntervened):
        nudge_lead = p.nudge_by_coordinator.format(reason=event.reason)
    else:
        nudge_lead = p.nudge_reminder.format(
            counterpart=counterpart, due=when(meeting_was_due or state.next_meeting_due, p=p)
        )
    cadence = (
        p.cadence.format(span=ph.duration(agreement.meeting_cadence, p, p.cadence_units))
        if agreement
        else p.cadence_unknown
    )
    return {
        "name": name,
        "role": p.roles.get(role, role),
        "other": other,
        "counterpart": counterpart,
        "partnership_id": state.partnership_id,
        "version": str(state.version),
        "stage": _stage(state, p),
        "cohort_id": state.cohort_id or p.not_set,
        "mentee_id": state.mentee_id or p.not_set,
        "mentor_id": state.mentor_id or (state.previous_mentor_ids[-1] if state.previous_mentor_ids else p.no_mentor),
        "field": state.mentee.field if state.mentee else p.your_field,
        "topics": _bullets(agreement.topics if agreement else (), p.to_be_agreed),
        "meeting_cadence": cadence,
        "signing_due": when(agreement.signing_due if agreement else None, p=p),
        "unsigned": _parties(state.unsigned, p),
        "amended_by": p.parties.get(amended_by, amended_by) if amended_by else p.one_of_you,
        "starts_on": when(agreement.starts_on if agreement else None, p=p),
        "ends_on": when(agreement.ends_on if agreement else None, p=p),
        "programme_length": duration(state.policy.programme_length, p),
        "next_meeting_due": when(state.next_meeting_due, p=p),
        "meeting_was_due": when(meeting_was_due or state.next_meeting_due, p=p),
        "lapse_grace": duration(state.policy.lapse_grace, p),
        "escalation_after": duration(state.policy.escalation_after, p),
        "meetings_held": str(summary.meetings_held if summary else state.meetings_held),
        "meeting_hours": hours(summary.meeting_hours if summary else state.meeting_hours, p),
        "gathering_hours": hours(summary.gathering_hours if summary else state.gathering_hours, p),
        "total_hours": hours(summary.total_hours if summary else state.total_hours, p),
        "target_min": ph.number(state.policy.target_hours_min, p),
        "target_max": ph.number(state.policy.target_hours_max, p),
        "hours_progress": _hours_progress(state, p),
        "diary_entries": str(state.diary_entries),
        "gatherings_attended": str(state.gatherings_attended),
        "pause_until": _pause_until(state, event, p),
        "paused_for": duration(paused_for, p) if paused_for else p.pause_length_unknown,
        "review_due": when(state.review_window.due if state.review_window else None, p=p),
        "reviews_missing": _parties(state.reviews_missing, p),
        "reason": _reason(state, event, p),
        "nudge_lead": nudge_lead,
        "next_step": _next_step(state, role, p),
        "attention": state.attention.value if state.attention else "none",
        "intervene": f"entrypoint intervene {state.partnership_id}",
        **_checkin(state, event, p),
    }


KNOWN_PLACEHOLDERS = frozenset(context_for("mentee", name="-", state=PartnershipState(partnership_id="p")).keys())
