"""RFC 5545 rules a produced feed must keep, checked on its bytes and on what ``icalendar`` parses of it, plus
what Google Calendar and Outlook need to import it (a shared helper of the calendar tests)."""

from __future__ import annotations

import re
from datetime import date, datetime

from icalendar import Calendar

CONTENT_LINE = re.compile(rb"^[A-Za-z0-9-]+(;[^\r\n]*)?:[^\r\n]*$")


def unfolded(raw: bytes) -> list[bytes]:
    """The content lines (RFC 5545 3.1: a line starting with a space or a tab continues the one before)."""
    lines: list[bytes] = []
    for physical in raw.split(b"\r\n")[:-1]:
        if physical[:1] in (b" ", b"\t"):
            lines[-1] += physical[1:]
        else:
            lines.append(physical)
    return lines


def check_rfc5545(raw: bytes) -> Calendar:
    """Assert the rules, and return the parsed calendar."""
    assert raw.endswith(b"\r\n"), "the last line ends with CRLF"
    assert b"\n" not in raw.replace(b"\r\n", b""), "every line ends with CRLF (no bare LF)"
    assert b"\r" not in raw.replace(b"\r\n", b""), "no bare CR"
    for physical in raw.split(b"\r\n")[:-1]:
        assert len(physical) <= 75, f"a line longer than 75 octets: {physical[:40]!r}…"
    raw.decode("utf-8")  # the feed is UTF-8
    lines = unfolded(raw)
    assert lines[0] == b"BEGIN:VCALENDAR" and lines[-1] == b"END:VCALENDAR"
    for line in lines:
        assert CONTENT_LINE.match(line), f"not a content line: {line[:60]!r}"

    calendar = Calendar.from_ical(raw)
    assert calendar.name == "VCALENDAR"
    assert calendar.get("VERSION") == "2.0"
    assert calendar.get("PRODID"), "PRODID is required"
    assert len([line for line in lines if line.startswith(b"PRODID")]) == 1
    events = calendar.walk("VEVENT")
    uids = [str(event["UID"]) for event in events]
    assert len(uids) == len(set(uids)), f"UIDs repeat: {uids}"
    for event in events:
        for required in ("UID", "DTSTAMP", "DTSTART", "SUMMARY"):
            assert required in event, f"{required} missing from {event.get('SUMMARY')}"
        stamp = event.decoded("DTSTAMP")
        assert isinstance(stamp, datetime) and stamp.utcoffset() is not None and not stamp.utcoffset()
        start, end = event.decoded("DTSTART"), event.decoded("DTEND")
        assert type(start) is type(end), "DTSTART and DTEND are both dates or both date-times"
        if isinstance(start, datetime):  # no floating times, no TZID without a VTIMEZONE: UTC
            for moment in (start, end):
                assert moment.utcoffset() is not None and not moment.utcoffset(), "a time not in UTC"
        else:
            assert isinstance(start, date)
        assert end > start, "DTEND after DTSTART"
        assert "TZID" not in event["DTSTART"].params
    for line in lines:  # every date-time is UTC ("Z"), every date a plain date
        name = line.split(b":", 1)[0]
        if name.startswith((b"DTSTART", b"DTEND", b"DTSTAMP")):
            value = line.split(b":", 1)[1]
            assert value.endswith(b"Z") or (b"VALUE=DATE" in name and len(value) == 8), line
    return calendar
