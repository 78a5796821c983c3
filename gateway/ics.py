"""A partnership's calendar as an RFC 5545 iCalendar feed, made with the ``icalendar`` package.

What the pair needs and nothing more: the next pair meeting due by the agreed cadence (an all-day event on the
date it is due), the gatherings either of them is registered or waitlisted for (timed, in UTC, with the
gathering's subject and place), and the closing-review window (all-day, from the programme's end to the date the
reviews are due). No names, e-mail addresses, notes or diary text; ids appear only hashed, in the UIDs.

UIDs are stable (the same event keeps its UID as the partnership moves on, so a calendar updates it in place),
``SEQUENCE`` grows as the event changes, times are UTC (``Z``) or plain dates, so no VTIMEZONE is needed.
Dates of all-day events are taken in the programme's time zone (``ENTRYPOINT_TIMEZONE``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from icalendar import Calendar, Event, vDuration
from pydantic import BaseModel, ConfigDict, ValidationError

from domain.gathering.events import parse_event
from domain.gathering.rules import fold, initial_state
from domain.gathering.state import GatheringStage, GatheringState
from domain.partnership.commands import GatheringKind
from domain.partnership.state import Stage
from domain.policy import Policy
from gateway.calendar_store import FeedSource

PRODID = "-//EntryPoint Engine//Partnership calendar 1.0//EN"
UID_DOMAIN = "entrypoint-engine"
REFRESH = timedelta(hours=1)
"""What the feed asks calendars to refresh by (``REFRESH-INTERVAL``, ``X-PUBLISHED-TTL``)."""
MEETING_STAGES = frozenset({Stage.ACTIVE})
"""A pair meeting is due only while the partnership is active (paused: no meeting is expected)."""
REVIEW_STAGES = frozenset({Stage.ACTIVE, Stage.PAUSED, Stage.CLOSING_REVIEW})


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Agreement(_Loose):
    meeting_cadence: timedelta
    starts_on: datetime | None = None
    ends_on: datetime | None = None


class _Window(_Loose):
    opened_at: datetime
    due: datetime


class _Policy(_Loose):
    review_window: timedelta = Policy().review_window


class _State(_Loose):
    """The parts of a partnership's recorded state the feed uses (read loosely: other fields may change)."""

    stage: Stage | None = None
    agreement: _Agreement | None = None
    next_meeting_due: datetime | None = None
    meetings_held: int = 0
    policy: _Policy = _Policy()
    review_window: _Window | None = None
    version: int = 0


def uid(kind: str, *ids: str) -> str:
    """A stable UID: the kind and a hash of the ids (no id appears in the feed)."""
    digest = hashlib.sha256("\x1f".join(ids).encode()).hexdigest()[:24]
    return f"{kind}-{digest}@{UID_DOMAIN}"


def _local_date(moment: datetime, zone: tzinfo) -> date:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(zone).date()


def _utc(moment: datetime) -> datetime:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).replace(microsecond=0)


def _event(uid_: str, stamp: datetime, summary: str, sequence: int, **properties: Any) -> Event:
    event = Event()
    event.add("uid", uid_)
    event.add("dtstamp", stamp)
    event.add("summary", summary)
    event.add("sequence", sequence)
    for name, value in properties.items():
        if value is not None:
            event.add(name.replace("_", "-"), value)
    return event


def _pair_meeting(partnership_id: str, state: _State, stamp: datetime, zone: tzinfo) -> Event | None:
    if state.stage not in MEETING_STAGES or state.next_meeting_due is None or state.agreement is None:
        return None
    due = _local_date(state.next_meeting_due, zone)
    days = state.agreement.meeting_cadence.days
    cadence = f"every {days} days" if days and days != 7 else "every week" if days == 7 else "as agreed"
    return _event(
        uid("pair-meeting", partnership_id),
        stamp,
        "EntryPoint pair meeting due",
        state.meetings_held,
        dtstart=due,
        dtend=due + timedelta(days=1),
        transp="TRANSPARENT",
        status="CONFIRMED",
        description=(
            f"Your next mentoring meeting is due by this date (the agreement says {cadence}). "
            "Arrange it with each other and log it once held; this date moves when a meeting is logged."
        ),
        categories=["EntryPoint"],
    )


def _review_window(partnership_id: str, state: _State, stamp: datetime, zone: tzinfo) -> Event | None:
    if state.stage not in REVIEW_STAGES:
        return None
    if state.review_window is not None:
        opens, due = state.review_window.opened_at, state.review_window.due
    elif state.agreement is not None and state.agreement.ends_on is not None:
        opens, due = state.agreement.ends_on, state.agreement.ends_on + state.policy.review_window
    else:
        return None
    first, last = _local_date(opens, zone), _local_date(due, zone)
    return _event(
        uid("closing-review", partnership_id),
        stamp,
        "EntryPoint closing review window",
        state.version if state.review_window is not None else 0,
        dtstart=first,
        dtend=max(last, first) + timedelta(days=1),
        transp="TRANSPARENT",
        status="CONFIRMED",
        description=(
            f"The programme ends on {first.isoformat()}. Each of you submits the closing review by "
            f"{last.isoformat()}: a rating of the partnership and, for the mentee, the outcome."
        ),
        categories=["EntryPoint"],
    )


def gathering_states(gatherings: dict[str, list[dict[str, Any]]]) -> list[GatheringState]:
    """Each gathering's state, folded from its recorded events (one that cannot be read is left out)."""
    states = []
    for key, rows in sorted(gatherings.items()):
        try:
            states.append(fold(initial_state(key), (parse_event(row) for row in rows)))
        except (ValidationError, ValueError):
            continue
    return states


def _gathering(partnership_id: str, state: GatheringState, stamp: datetime) -> Event | None:
    plan = state.plan
    if plan is None:
        return None
    parties = (("mentee", partnership_id), ("mentor", f"{partnership_id}:mentor"))
    registered = [name for name, rid in parties if rid in state.registered or rid in state.notified]
    waiting = [name for name, rid in parties if rid in state.waitlist]
    if not registered and not waiting:
        return None
    kind = "collective meeting" if plan.kind == GatheringKind.COLLECTIVE else "group meeting"
    if state.stage == GatheringStage.CANCELLED:
        summary, status = f"Cancelled: EntryPoint {kind}: {plan.subject}", "CANCELLED"
        description = f"Cancelled: this EntryPoint {kind} will not take place."
    elif registered:
        summary, status = f"EntryPoint {kind}: {plan.subject}", "CONFIRMED"
        description = f"EntryPoint {kind} for the cohort. Registered: {' and '.join(registered)}."
    else:
        summary, status = f"EntryPoint {kind}: {plan.subject} (waitlist)", "TENTATIVE"
        description = (
            f"EntryPoint {kind} for the cohort. On the waitlist: {' and '.join(waiting)}; "
            "you are told if a place opens."
        )
    return _event(
        uid("gathering", state.gathering_key),
        stamp,
        summary,
        state.version,
        dtstart=_utc(plan.starts_at),
        dtend=_utc(plan.ends_at),
        location=plan.place,
        status=status,
        transp="OPAQUE",
        description=description,
        categories=["EntryPoint"],
    )


def build(source: FeedSource, now: datetime, zone: tzinfo) -> bytes:
    """The feed (bytes, CRLF line endings, lines folded at 75 octets, as ``icalendar`` writes them)."""
    partnership_id = str(source.partnership["id"])
    try:
        state = _State.model_validate(source.state)
    except ValidationError:
        state = _State()
    stamp = _utc(now)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", "EntryPoint mentoring")
    calendar.add("x-wr-caldesc", "Your EntryPoint partnership: meetings due, gatherings, the closing review.")
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(REFRESH))
    events: Iterable[Event | None] = (
        _pair_meeting(partnership_id, state, stamp, zone),
        *(_gathering(partnership_id, g, stamp) for g in gathering_states(source.gatherings)),
        _review_window(partnership_id, state, stamp, zone),
    )
    for event in events:
        if event is not None:
            calendar.add_component(event)
    return calendar.to_ical()


__all__ = ["PRODID", "build", "gathering_states", "uid"]
