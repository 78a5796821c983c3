"""The ICS feed as made from recorded state and gathering events (no server): RFC 5545, what it holds, and what
it must not (names, e-mail addresses, ids)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from domain.gathering import GatheringPlan
from domain.gathering import commands as gc
from domain.gathering.events import event_json
from domain.gathering.rules import decide, evolve, initial_state
from domain.partnership.commands import GatheringKind
from gateway.calendar_store import FeedSource
from gateway.ics import build, uid
from tests.gateway.ics_rules import check_rfc5545

HELSINKI = ZoneInfo("Europe/Helsinki")
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
PID = "partnership-2026-spring-stu-1042"


def gathering(key: str, *commands: Any, **plan: Any) -> list[dict[str, Any]]:
    """A gathering's recorded events: scheduled by ``plan``, then ``commands``, decided by the pure domain."""
    fields: dict[str, Any] = {
        "cohort_id": "2026-spring",
        "gathering_id": key,
        "kind": GatheringKind.GROUP,
        "subject": "Data careers",
        "starts_at": NOW + timedelta(days=10),
        "duration_hours": 2,
        "place": "Helsinki, Otaniemi",
        "capacity": 1,
    } | plan
    state = initial_state(f"gathering-2026-spring-{key}")
    rows = []
    for command in (gc.Schedule(plan=GatheringPlan(**fields)), *commands):
        for event in decide(state, command, NOW):
            state = evolve(state, event)
            rows.append(event_json(event))
    return rows


def state(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "partnership_id": PID,
        "stage": "ACTIVE",
        "version": 7,
        "meetings_held": 2,
        "next_meeting_due": "2026-12-16T21:30:00+00:00",  # 23:30 in Helsinki: still the 16th there
        "agreement": {
            "topics": ["CV"],
            "meeting_cadence": "P14D",
            "signing_due": "2026-09-01T00:00:00Z",
            "starts_on": "2026-09-01T00:00:00Z",
            "ends_on": "2027-03-01T00:00:00Z",
        },
        "policy": {"review_window": "P14D"},
    }
    return base | overrides


def feed(**overrides: Any) -> bytes:
    gatherings = {
        "gathering-2026-spring-a": gathering("a", gc.Register(registrant_id=PID)),
        "gathering-2026-spring-b": gathering(
            "b",
            gc.Register(registrant_id="partnership-x"),
            gc.Register(registrant_id=f"{PID}:mentor"),
            subject="A collective meeting with a subject long enough that its SUMMARY line has to be folded twice "
            "over, as RFC 5545 says, at 75 octets, ääkköset included",
            kind=GatheringKind.COLLECTIVE,
        ),
        "gathering-2026-spring-c": gathering("c", gc.Register(registrant_id="partnership-x")),
        "gathering-2026-spring-d": gathering(
            "d", gc.Register(registrant_id=PID), gc.CancelGathering(reason="room flooded")
        ),
        "gathering-2026-spring-e": gathering(
            "e", gc.Register(registrant_id=PID), gc.CancelRegistration(registrant_id=PID)
        ),
    }
    source = FeedSource(partnership={"id": PID}, state=state(**overrides), gatherings=gatherings)
    return build(source, NOW, HELSINKI)


def events_by_uid(raw: bytes) -> dict[str, Any]:
    return {str(e["UID"]): e for e in check_rfc5545(raw).walk("VEVENT")}


def test_the_feed_keeps_rfc_5545_and_holds_the_pairs_calendar() -> None:
    raw = feed()
    events = events_by_uid(raw)
    meeting = events[uid("pair-meeting", PID)]
    assert meeting.decoded("DTSTART") == date(2026, 12, 16)  # the date in the programme's zone
    assert meeting.decoded("DTEND") == date(2026, 12, 17)
    assert str(meeting["SUMMARY"]) == "EntryPoint pair meeting due" and meeting["SEQUENCE"] == 2
    assert "every 14 days" in str(meeting["DESCRIPTION"])

    group = events[uid("gathering", "gathering-2026-spring-a")]
    assert str(group["SUMMARY"]) == "EntryPoint group meeting: Data careers"
    assert str(group["LOCATION"]) == "Helsinki, Otaniemi" and str(group["STATUS"]) == "CONFIRMED"
    assert group.decoded("DTSTART") == NOW + timedelta(days=10)
    assert group.decoded("DTEND") == NOW + timedelta(days=10, hours=2)
    waitlisted = events[uid("gathering", "gathering-2026-spring-b")]
    assert str(waitlisted["STATUS"]) == "TENTATIVE" and "mentor" in str(waitlisted["DESCRIPTION"])
    assert "ääkköset" in str(waitlisted["SUMMARY"])
    cancelled = events[uid("gathering", "gathering-2026-spring-d")]
    assert str(cancelled["STATUS"]) == "CANCELLED"
    assert uid("gathering", "gathering-2026-spring-c") not in events  # another pair's
    assert uid("gathering", "gathering-2026-spring-e") not in events  # registration cancelled

    review = events[uid("closing-review", PID)]
    assert review.decoded("DTSTART") == date(2027, 3, 1) and review.decoded("DTEND") == date(2027, 3, 16)
    assert len(events) == 5
    assert max(len(line) for line in raw.split(b"\r\n")) == 75  # the long subject was folded
    assert b"\r\nREFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in raw and b"\r\nX-PUBLISHED-TTL:PT1H\r\n" in raw


def test_uids_stay_as_the_partnership_moves_on_and_the_sequence_grows() -> None:
    before = events_by_uid(feed())
    after = events_by_uid(feed(meetings_held=3, next_meeting_due="2026-12-30T10:00:00+00:00"))
    assert before.keys() == after.keys()
    moved = after[uid("pair-meeting", PID)]
    assert moved.decoded("DTSTART") == date(2026, 12, 30) and moved["SEQUENCE"] == 3


def test_no_names_emails_or_ids_are_in_the_feed() -> None:
    raw = feed()
    for secret in (PID.encode(), b"stu-1042", b"partnership-x", b"@example", b"mentor-77"):
        assert secret not in raw


def test_what_a_stage_shows() -> None:
    paused = events_by_uid(feed(stage="PAUSED"))
    assert uid("pair-meeting", PID) not in paused and uid("closing-review", PID) in paused
    review = events_by_uid(
        feed(
            stage="CLOSING_REVIEW",
            next_meeting_due=None,
            review_window={"opened_at": "2027-03-01T00:00:00Z", "due": "2027-03-25T00:00:00Z"},  # rearmed
        )
    )
    window = review[uid("closing-review", PID)]
    assert window.decoded("DTEND") == date(2027, 3, 26) and uid("pair-meeting", PID) not in review
    done = events_by_uid(feed(stage="COMPLETED"))
    assert uid("pair-meeting", PID) not in done and uid("closing-review", PID) not in done
    waiting = events_by_uid(feed(stage="AWAITING_SIGNATURES", agreement=None, next_meeting_due=None))
    assert set(waiting) == {uid("gathering", k) for k in ("gathering-2026-spring-a", "gathering-2026-spring-b",
                                                           "gathering-2026-spring-d")}  # fmt: skip


def test_a_state_it_cannot_read_gives_the_gatherings_only() -> None:
    events = events_by_uid(feed(stage="NOT A STAGE"))
    assert all(u.startswith("gathering-") for u in events) and len(events) == 3


def test_the_rule_checker_refuses_what_breaks_rfc_5545() -> None:
    raw = feed()
    meeting_uid = uid("pair-meeting", PID).encode()
    review_uid = uid("closing-review", PID).encode()
    broken = {
        "bare LF": raw.replace(b"\r\n", b"\n"),
        "unfolded": raw.replace(b"\r\n ", b""),
        "UID twice": raw.replace(review_uid, meeting_uid),
        "no DTSTAMP": re.sub(rb"DTSTAMP:[0-9TZ]+\r\n", b"", raw, count=1),
        "floating time": raw.replace(b"T120000Z", b"T120000", 1),
    }
    for what, bad in broken.items():
        with pytest.raises(AssertionError):
            check_rfc5545(bad)
        assert bad != raw, what
