"""The limits table: how much any one message may carry, and how much a partnership takes in a day.

Every list and text field of a command, an application, a profile or a plan is one of the annotated
types below, so the limit is checked where the model is validated (the workflow, the CLI, the gateway)
and a refusal names the limit, e.g. ``goals: at most 20 items (limit LIST_ITEMS)``. The README's
"Limits" table lists these constants; a test keeps the two in step.

Text rejects control characters: NUL and every other C0 control character (U+0000-U+001F) is refused,
except tab and newline in multi-line text (a CR LF line ending is read as a newline first). They are
rejected, not stripped, so that nothing a person wrote is silently changed, and the caller learns why.
PostgreSQL cannot store NUL in text at all, so this is also what keeps every database able to record
what the workflow accepted.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Final

from pydantic import AfterValidator, BeforeValidator, ValidationInfo
from pydantic_core import PydanticCustomError

# ---------------------------------------------------------------------------------------------- the table

LINE_CHARS: Final = 200
"""A one-line text: a topic, goal, action, interest, reason, field of study, name, subject, place, reference."""
TEXT_CHARS: Final = 4000
"""A paragraph: a diary reflection, a coordinator's or withdrawal reason, a review comment."""
NOTES_CHARS: Final = 10000
"""Meeting notes."""
LIST_ITEMS: Final = 20
"""Items in any list of lines: topics, goals, actions, interests, languages, expertise, match reasons."""
ID_LIST_ITEMS: Final = 50
"""Ids in a profile's list of ids (a mentor's conflicts of interest)."""
PINS: Final = 1000
"""Pins, and exclusions, in one ``approve_matching`` (each)."""
ATTENDEES: Final = 500
"""Registrants in one ``record_attendance``."""
PLAN_GATHERINGS: Final = 100
"""Gatherings in one cohort plan."""
POLICY_OVERRIDES: Final = 20
"""Keys in an application's policy overrides."""
PAYLOAD_BYTES: Final = 64 * 1024
"""The size of one message (a signal's, an update's or an application's JSON, UTF-8)."""
DIARY_ENTRIES_PER_DAY: Final = 10
"""Learning diary entries one partnership may add in a day (UTC)."""
MEETINGS_PER_DAY: Final = 10
"""Pair meetings one partnership may log in a day (UTC), whenever they were held."""

TABLE: Final[dict[str, int]] = {
    name: value for name, value in dict(globals()).items() if name.isupper() and isinstance(value, int)
}
"""Every limit by name (the README's table)."""

# ---------------------------------------------------------------------------------------------- checks

_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b-\x1f]")
_CONTROL_LINE = re.compile(r"[\x00-\x1f]")


def _text(limit: str, chars: int, *, multiline: bool, required: bool) -> Any:
    """One check for a text field: trimmed, not empty (when ``required``), at most ``chars``, no control
    characters (tab and newline allowed in multi-line text)."""
    pattern = _CONTROL_MULTILINE if multiline else _CONTROL_LINE

    def check(value: str, info: ValidationInfo) -> str:
        if _stored_sealed(value, info):
            return value
        if multiline:
            value = value.replace("\r\n", "\n")
        value = value.strip()
        if required and not value:
            raise PydanticCustomError("string_too_short", "must not be empty (at least 1 character)")
        if len(value) > chars:
            raise PydanticCustomError(
                "too_long",
                "at most {chars} characters (limit {limit}), not {given}",
                {"chars": chars, "limit": limit, "given": len(value)},
            )
        found = pattern.search(value)
        if found is not None:
            allowed = " (tab and newline are allowed)" if multiline else ""
            raise PydanticCustomError(
                "control_character",
                "must not contain control characters such as U+{code}{allowed}",
                {"code": f"{ord(found.group()):04X}", "allowed": allowed},
            )
        return value

    return AfterValidator(check)


SEALED_CONTEXT_KEY: Final = "sealed"
"""A validation context key: a predicate telling which strings are sealed text as stored (see ``_text``)."""


def _stored_sealed(value: str, info: ValidationInfo) -> bool:
    """Whether ``value`` is what the records store sealed (its context says so, ``{"sealed": predicate}``).

    A sealed string stands for text that was checked against its limit before it was sealed; it is longer
    than that text, so it is taken as it is. Only the records layer passes that context, when it reads its
    own stored JSON back; commands, applications and everything a caller sends are validated without it."""
    context = info.context
    if not isinstance(context, dict):
        return False
    predicate = context.get(SEALED_CONTEXT_KEY)
    return callable(predicate) and bool(predicate(value))


def _at_most(limit: str, items: int) -> Any:
    """Checked before the items are: a list of 10,000 is refused without validating 10,000 items."""

    def check(value: Any) -> Any:
        if isinstance(value, list | tuple | set | frozenset | dict) and len(value) > items:
            raise PydanticCustomError(
                "too_many_items",
                "at most {items} items (limit {limit}), not {given}",
                {"items": items, "limit": limit, "given": len(value)},
            )
        return value

    return check


def at_most(limit: str) -> Any:
    """A validator (for ``Annotated``) that refuses a list or dict with more items than ``TABLE[limit]``."""
    return BeforeValidator(_at_most(limit, TABLE[limit]))


Line = Annotated[str, _text("LINE_CHARS", LINE_CHARS, multiline=False, required=True)]
"""One line of text, 1 to LINE_CHARS characters (trimmed), no control characters."""
OptionalLine = Annotated[str, _text("LINE_CHARS", LINE_CHARS, multiline=False, required=False)]
"""One line of text, possibly empty."""
Text = Annotated[str, _text("TEXT_CHARS", TEXT_CHARS, multiline=True, required=True)]
"""A paragraph, 1 to TEXT_CHARS characters (trimmed); tab and newline allowed."""
OptionalText = Annotated[str, _text("TEXT_CHARS", TEXT_CHARS, multiline=True, required=False)]
"""A paragraph, possibly empty."""
Notes = Annotated[str, _text("NOTES_CHARS", NOTES_CHARS, multiline=True, required=False)]
"""Meeting notes, up to NOTES_CHARS characters; tab and newline allowed."""
Lines = Annotated[tuple[Line, ...], at_most("LIST_ITEMS")]
"""A list of up to LIST_ITEMS lines."""


def payload_problem(payload: Any) -> str | None:
    """Why ``payload`` (a decoded JSON value) is too large to take as one message, or None."""
    try:
        size = len(json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str).encode())
    except (TypeError, ValueError):
        return None
    if size > PAYLOAD_BYTES:
        return f"the message is {size} bytes; at most {PAYLOAD_BYTES} (limit PAYLOAD_BYTES)"
    return None


__all__ = [
    "ATTENDEES",
    "DIARY_ENTRIES_PER_DAY",
    "ID_LIST_ITEMS",
    "LINE_CHARS",
    "LIST_ITEMS",
    "MEETINGS_PER_DAY",
    "NOTES_CHARS",
    "PAYLOAD_BYTES",
    "PINS",
    "PLAN_GATHERINGS",
    "POLICY_OVERRIDES",
    "SEALED_CONTEXT_KEY",
    "TABLE",
    "TEXT_CHARS",
    "Line",
    "Lines",
    "Notes",
    "OptionalLine",
    "OptionalText",
    "Text",
    "at_most",
    "payload_problem",
]
