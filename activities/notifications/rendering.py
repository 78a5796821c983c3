"""Notification templates: one plain-text e-mail (subject and body) per template name that ``notices_for`` emits.

Templates are packaged files in ``templates/``: ``<template>.<role>.txt`` when the audiences of a notice
need different words (a mentor's withdrawal told to the mentee and to the coordinator), else
``<template>.txt``. The first line is ``Subject: ...``, then a blank line, then the body: one line per
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

from domain.partnership import Recipient, Stage
from domain.partnership import events as e
from domain.partnership.state import PartnershipState

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

STAGE_WORDS: dict[Stage, str] = {
    Stage.APPLIED: "application received",
    Stage.AWAITING_MATCH: "waiting for a mentor",
    Stage.AWAITING_SIGNATURES: "waiting for both signatures on the agreement",
    Stage.ACTIVE: "active",
    Stage.PAUSED: "paused",
    Stage.CLOSING_REVIEW: "closing review",
    Stage.COMPLETED: "completed",
    Stage.WITHDRAWN: "ended: the mentee withdrew",
    Stage.REJECTED: "application not accepted",
    Stage.ENDED_EARLY: "ended early",
}


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


def _files() -> dict[str, str]:
    root = resources.files(TEMPLATE_PACKAGE)
    return {
        entry.name.removesuffix(".txt"): entry.read_text(encoding="utf-8")
        for entry in root.iterdir()
        if entry.name.endswith(".txt")
    }


@cache
def _templates() -> dict[str, _Template]:
    parsed: dict[str, _Template] = {}
    for stem, text in _files().items():
        first, _, rest = text.partition("\n")
        if not first.startswith(SUBJECT_PREFIX) or not rest.startswith("\n"):
            raise ValueError(f"template {stem}: the first line must be 'Subject: ...', then a blank line")
        parsed[stem] = _Template(Template(first.removeprefix(SUBJECT_PREFIX).strip()), Template(rest[1:]))
    return parsed


def template_files() -> frozenset[str]:
    """The stems of the packaged templates: ``<template>`` or ``<template>.<role>``."""
    return frozenset(_templates())


def _lookup(template: str, role: str) -> _Template:
    templates = _templates()
    found = templates.get(f"{template}.{role}") or templates.get(template)
    if found is None:
        raise TemplateMissing(f"no notification template {template!r} for the {role}")
    return found


def has_template(template: str, role: Recipient | str) -> bool:
    try:
        _lookup(template, str(role))
    except TemplateMissing:
        return False
    return True


def placeholders(stem: str) -> frozenset[str]:
    """Every ``$name`` a packaged template uses (for tests: all must be known to :func:`context_for`)."""
    found = _templates()[stem]
    names: set[str] = set()
    for template in (found.subject, found.body):
        for match in template.pattern.finditer(template.template):
            name = match.group("named") or match.group("braced")
            if name:
                names.add(name)
    return frozenset(names)


def render(
    template: str,
    role: Recipient | str,
    *,
    name: str,
    state: PartnershipState,
    event: e.Event | None = None,
    counterpart_name: str | None = None,
) -> RenderedMessage:
    """The e-mail for one notice, addressed to ``name`` in ``role``. Raises TemplateMissing, KeyError."""
    role = str(role)
    found = _lookup(template, role)
    context = context_for(role, name=name, state=state, event=event, counterpart_name=counterpart_name)
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


def when(moment: datetime | None, missing: str = "not set") -> str:
    """A date for people: ``Mon 2 Mar 2026 10:00 (Finnish time)``."""
    if moment is None:
        return missing
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(PROGRAMME_TZ)
    return f"{local:%a} {local.day} {local:%b %Y %H:%M} ({PROGRAMME_TZ_NAME})"


def duration(span: timedelta) -> str:
    """``30 days``, ``1 day``, ``12 hours``, ``1.5 hours``, ``45 seconds``: the largest unit that fits."""
    seconds = span.total_seconds()
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = round(seconds / size, 1)
            return f"{count:g} {unit}{'' if count == 1 else 's'}"
    return f"{seconds:g} second{'' if seconds == 1 else 's'}"


def hours(value: float) -> str:
    return f"{value:g} h"


def _bullets(items: tuple[str, ...] | list[str], missing: str) -> str:
    return "\n".join(f"  - {item}" for item in items) if items else f"  - {missing}"


def _parties(parties: tuple[str, ...] | list[str]) -> str:
    words = [f"the {p}" for p in parties]
    if not words:
        return "nobody"
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _hours_progress(state: PartnershipState) -> str:
    low, high = state.policy.target_hours_min, state.policy.target_hours_max
    total = state.total_hours
    account = (
        f"So far {hours(state.meeting_hours)} of pair meetings ({state.meetings_held} "
        f"meeting{'' if state.meetings_held == 1 else 's'}) and {hours(state.gathering_hours)} at group and "
        f"collective meetings have been recorded: {hours(total)} in total, against the programme's target "
        f"of {low:g}-{high:g} h (about 2-3 working days)."
    )
    if total < low:
        return f"{account} That is {hours(round(low - total, 2))} short of the {low:g} h minimum."
    if total <= high:
        return f"{account} That is within the target."
    return f"{account} That is above the target: well done, and mind your own time too."


def _reason(state: PartnershipState, event: e.Event | None) -> str:
    if event is not None:
        reason = getattr(event, "reason", None)
        if isinstance(reason, str) and reason:
            return reason
        reasons = getattr(event, "reasons", None)
        if reasons:
            return "; ".join(reasons)
    if isinstance(event, e.RematchRequested | type(None)) and state.rematch_reasons and state.mentor_id is None:
        return state.rematch_reasons[-1]
    return state.ended_reason or "no reason was recorded"


def _next_step(state: PartnershipState, role: str) -> str:
    agreement = state.agreement
    if state.stage == Stage.AWAITING_SIGNATURES and agreement is not None:
        unsigned = state.unsigned
        if role in unsigned:
            return f"Next step: please sign the Mentoring Partnership Agreement by {when(agreement.signing_due)}."
        return (
            f"Next step: the agreement is waiting for {_parties(unsigned)} to sign, by {when(agreement.signing_due)}."
        )
    if state.stage == Stage.ACTIVE:
        return (
            f"Next step: hold your next pair meeting by {when(state.next_meeting_due)} and log it afterwards "
            "(date, length and the topics you covered)."
        )
    if state.stage == Stage.CLOSING_REVIEW:
        missing = state.reviews_missing
        review_due = when(state.review_window.due if state.review_window else None)
        if role in missing:
            return f"Next step: please submit your closing review by {review_due}."
        return f"Next step: the closing review is waiting for {_parties(missing)}, by {review_due}."
    if state.stage == Stage.PAUSED:
        return f"The partnership is paused {_pause_until(state)}; no meetings are expected until it resumes."
    if state.stage == Stage.AWAITING_MATCH:
        return "Next step: the programme coordinator is looking for a mentor; you will hear from us."
    return f"The partnership is now: {_stage(state)}."


def _pause_until(state: PartnershipState, event: e.Event | None = None) -> str:
    until = event.until if isinstance(event, e.PartnershipPaused) else state.pause.until if state.pause else None
    return f"until {when(until)}" if until else "until further notice from your coordinator"


def _stage(state: PartnershipState) -> str:
    return STAGE_WORDS.get(state.stage, "not started") if state.stage else "not started"


def _counterpart(role: str, counterpart_name: str | None) -> tuple[str, str]:
    other = {"mentee": "mentor", "mentor": "mentee"}.get(role, "pair")
    label = f"your {other}" if other != "pair" else "the pair"
    described = f"{counterpart_name} ({label})" if counterpart_name else label
    return label, described


def _checkin(state: PartnershipState, event: e.Event | None) -> dict[str, str]:
    """The check-in round a notice is about (the event's, else the latest), and a low answer in words (never the
    note: free text stays in the records)."""
    number = event.round if isinstance(event, e.CheckinRequested | e.CheckinAnswered | e.CheckinNudgeDue) else None
    rounds = [r for r in state.checkins if number is None or r.round == number]
    asked = rounds[-1] if rounds else None
    answer = ""
    if isinstance(event, e.CheckinAnswered):
        answer = (
            f"how it is going {event.score} of 5; meeting as planned: {'yes' if event.meeting_as_planned else 'no'}"
        )
    return {
        "checkin_round": str(number or (asked.round if asked else "not set")),
        "checkin_due": when(event.due if isinstance(event, e.CheckinRequested) else asked.due if asked else None),
        "checkin_asked": when(asked.asked_at if asked else None),
        "checkin_party": event.party.value if isinstance(event, e.CheckinAnswered) else "party",
        "checkin_answer": answer or "not set",
    }


def context_for(
    role: str,
    *,
    name: str,
    state: PartnershipState,
    event: e.Event | None = None,
    counterpart_name: str | None = None,
) -> dict[str, str]:
    """Every value a template may use, as text. Missing facts read ``not set`` rather than failing."""
    agreement = state.agreement
    summary = state.summary
    other, counterpart = _counterpart(role, counterpart_name)
    meeting_was_due = event.meeting_was_due if isinstance(event, e.MeetingNudgeDue | e.MeetingLapsed) else None
    amended_by = event.party.value if isinstance(event, e.AgreementAmended) else None
    paused_for = event.paused_for if isinstance(event, e.PartnershipResumed) else None
    if isinstance(event, e.CoordinatorIntervened):
        nudge_lead = (
            "Your programme coordinator asks us to remind you to keep your mentoring partnership moving, "
            f"with this note: {event.reason}"
        )
    else:
        nudge_lead = (
            f"A friendly reminder from EntryPoint: your next pair meeting with {counterpart} was due by "
            f"{when(meeting_was_due or state.next_meeting_due)}, and we have not seen it logged yet. If you have "
            "already met, please log the meeting (date, length and the topics you covered) so that it counts."
        )
    return {
        "name": name,
        "role": role,
        "other": other,
        "counterpart": counterpart,
        "partnership_id": state.partnership_id,
        "version": str(state.version),
        "stage": _stage(state),
        "cohort_id": state.cohort_id or "not set",
        "mentee_id": state.mentee_id or "not set",
        "mentor_id": state.mentor_id or (state.previous_mentor_ids[-1] if state.previous_mentor_ids else "none"),
        "field": state.mentee.field if state.mentee else "your field",
        "topics": _bullets(agreement.topics if agreement else (), "to be agreed together"),
        "meeting_cadence": f"every {duration(agreement.meeting_cadence)}" if agreement else "about once a month",
        "signing_due": when(agreement.signing_due if agreement else None),
        "unsigned": _parties(state.unsigned),
        "amended_by": f"the {amended_by}" if amended_by else "one of you",
        "starts_on": when(agreement.starts_on if agreement else None),
        "ends_on": when(agreement.ends_on if agreement else None),
        "programme_length": duration(state.policy.programme_length),
        "next_meeting_due": when(state.next_meeting_due, "not set"),
        "meeting_was_due": when(meeting_was_due or state.next_meeting_due),
        "lapse_grace": duration(state.policy.lapse_grace),
        "escalation_after": duration(state.policy.escalation_after),
        "meetings_held": str(summary.meetings_held if summary else state.meetings_held),
        "meeting_hours": hours(summary.meeting_hours if summary else state.meeting_hours),
        "gathering_hours": hours(summary.gathering_hours if summary else state.gathering_hours),
        "total_hours": hours(summary.total_hours if summary else state.total_hours),
        "target_min": f"{state.policy.target_hours_min:g}",
        "target_max": f"{state.policy.target_hours_max:g}",
        "hours_progress": _hours_progress(state),
        "diary_entries": str(state.diary_entries),
        "gatherings_attended": str(state.gatherings_attended),
        "pause_until": _pause_until(state, event),
        "paused_for": duration(paused_for) if paused_for else "the length of the pause",
        "review_due": when(state.review_window.due if state.review_window else None),
        "reviews_missing": _parties(state.reviews_missing),
        "reason": _reason(state, event),
        "nudge_lead": nudge_lead,
        "next_step": _next_step(state, role),
        "attention": state.attention.value if state.attention else "none",
        "intervene": f"entrypoint intervene {state.partnership_id}",
        **_checkin(state, event),
    }


KNOWN_PLACEHOLDERS = frozenset(context_for("mentee", name="-", state=PartnershipState(partnership_id="p")).keys())
