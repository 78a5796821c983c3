"""The limits table (issue 15, findings 2 and 3): every list and text is bounded, refusals name the limit,
control characters are refused, and a partnership takes only so many diary entries and meetings a day."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from contract.partnership import MESSAGES as SIGNAL_COMMANDS
from contract.partnership import Application
from domain import limits
from domain.errors import from_payload
from domain.partnership import commands as c
from tests.domain import builders as b

README = Path(__file__).resolve().parents[2] / "README.md"


def refusal(name: str, payload: dict[str, Any]) -> str:
    with pytest.raises(ValueError) as caught:
        from_payload(SIGNAL_COMMANDS[name], name, payload)
    return str(caught.value)


def test_a_huge_list_is_refused_naming_the_limit() -> None:
    # Finding 2: 7,000 goals of 199 characters each, every one within its own limit.
    message = refusal("add_diary_entry", {"reflection": "ok", "goals": ["g" * 199] * 7000})
    assert "the message is 1414029 bytes; at most 65536 (limit PAYLOAD_BYTES)" in message
    message = refusal("add_diary_entry", {"reflection": "ok", "goals": ["ggg"] * 7000})  # small enough a message
    assert "goals: at most 20 items (limit LIST_ITEMS), not 7000" in message
    assert "ggg" not in message  # never the input values


def test_match_proposed_reasons_are_capped() -> None:
    message = refusal("match_proposed", {"mentor_id": "mr-1", "reasons": ["r" * 180] * 8000})
    assert "limit PAYLOAD_BYTES" in message  # 1.5 MB: refused before anything else is validated
    message = refusal("match_proposed", {"mentor_id": "mr-1", "reasons": ["shared field"] * 21})
    assert "reasons: at most 20 items (limit LIST_ITEMS), not 21" in message
    assert from_payload(c.ProposeMatch, "match_proposed", {"mentor_id": "mr-1", "reasons": ["a"] * 20})


@pytest.mark.parametrize(
    ("name", "payload", "where", "limit"),
    [
        ("add_diary_entry", {"reflection": "x" * 4001}, "reflection", "TEXT_CHARS"),
        ("add_diary_entry", {"reflection": "ok", "actions": ["a" * 201]}, "actions.0", "LINE_CHARS"),
        ("log_meeting", {"minutes": 60, "notes": "n" * 10001}, "notes", "NOTES_CHARS"),
        ("log_meeting", {"minutes": 60, "topics": ["t"] * 21}, "topics", "LIST_ITEMS"),
        ("sign_agreement", {"party": "mentee", "topics": ["t"] * 21}, "topics", "LIST_ITEMS"),
        ("sign_agreement", {"party": "mentee", "signature_ref": "s" * 201}, "signature_ref", "LINE_CHARS"),
        ("coordinator_action", {"action": "nudge", "reason": "r" * 4001}, "reason", "TEXT_CHARS"),
        ("withdraw", {"party": "mentee", "reason": "r" * 4001}, "reason", "TEXT_CHARS"),
        ("submit_closing_review", {"party": "mentor", "rating": 4, "comments": "c" * 4001}, "comments", "TEXT_CHARS"),
    ],
)
def test_every_field_is_bounded_and_the_refusal_names_the_limit(
    name: str, payload: dict[str, Any], where: str, limit: str
) -> None:
    message = refusal(name, payload)
    assert re.search(rf"{re.escape(where)}: at most \d+ \w+ \(limit {limit}\)", message), message


def test_a_message_larger_than_the_payload_limit_is_refused() -> None:
    message = refusal("log_meeting", {"minutes": 60, "notes": "n" * 9000, "padding": "p" * limits.PAYLOAD_BYTES})
    assert message.startswith("invalid log_meeting: the message is ") and "(limit PAYLOAD_BYTES)" in message


@pytest.mark.parametrize("bad", ["\u0000", "\u0001", "\u001b", "\u000b", "\r"])
def test_nul_and_other_control_characters_are_refused(bad: str) -> None:
    # Finding 3: NUL wedged record-keeping on PostgreSQL. Refused (not stripped), in every text field.
    for name, payload in [
        ("add_diary_entry", {"reflection": f"before{bad}after"}),
        ("add_diary_entry", {"reflection": "ok", "goals": [f"a{bad}b"]}),
        ("log_meeting", {"minutes": 60, "notes": f"before{bad}after"}),
        ("log_meeting", {"minutes": 60, "topics": [f"a{bad}b"]}),
        ("coordinator_action", {"action": "nudge", "reason": f"a{bad}b"}),
        ("submit_closing_review", {"party": "mentor", "rating": 4, "comments": f"a{bad}b"}),
    ]:
        message = refusal(name, payload)
        assert f"must not contain control characters such as U+{ord(bad):04X}" in message, message
        assert "before" not in message


def test_tab_and_newline_are_kept_in_multi_line_text_and_crlf_reads_as_newline() -> None:
    entry = from_payload(c.AddDiaryEntry, "add_diary_entry", {"reflection": "one\tline\r\ntwo\nthree"})
    assert entry.reflection == "one\tline\ntwo\nthree"
    assert "U+000A" in refusal("add_diary_entry", {"reflection": "ok", "goals": ["one\ntwo"]})  # lines are one line


def test_the_application_and_its_contact_are_bounded_too() -> None:
    base = {"cohort_id": "c1", "mentee_id": "m1", "institution_id": "u1", "degree_level": "master", "field": "x"}
    for extra, words in [
        ({"interests": ["i"] * 21}, "interests\n  at most 20 items (limit LIST_ITEMS)"),
        ({"field": "data\u0000science"}, "field\n  must not contain control characters such as U+0000"),
        ({"contact": {"name": "A\u0000B"}}, "contact.name\n  must not contain control characters"),
        ({"contact": {"name": "Eve\nBcc: all@example.org"}}, "contact.name\n  must not contain control characters"),
        ({"policy": {f"k{i}": 1 for i in range(21)}}, "policy\n  at most 20 items (limit POLICY_OVERRIDES)"),
    ]:
        with pytest.raises(ValidationError) as caught:
            Application.model_validate(base | extra)
        assert words in str(caught.value)


def test_diary_entries_a_day_are_limited() -> None:
    run = b.active()
    for _ in range(limits.DIARY_ENTRIES_PER_DAY):
        run.do(c.AddDiaryEntry(reflection="today"))
    assert run.reject(c.AddDiaryEntry(reflection="one more")) == (
        "at most 10 diary entries a day (limit DIARY_ENTRIES_PER_DAY); try again tomorrow (UTC)"
    )
    run.do(c.AddDiaryEntry(reflection="tomorrow"), at=run.now + timedelta(days=1))
    assert run.state.diary_entries == limits.DIARY_ENTRIES_PER_DAY + 1


def test_meetings_logged_a_day_are_limited() -> None:
    run = b.active()
    start = run.now
    for hours in range(limits.MEETINGS_PER_DAY):
        run.do(c.LogMeeting(minutes=60, held_on=start - timedelta(hours=hours)))
    assert "limit MEETINGS_PER_DAY" in run.reject(c.LogMeeting(minutes=60))
    run.do(c.LogMeeting(minutes=60), at=start + timedelta(days=1))


def test_the_readme_lists_every_limit_with_its_value() -> None:
    text = README.read_text()
    for name, value in limits.TABLE.items():
        assert f"| `{name}` | {value} |" in text, f"README's limits table: {name} = {value}"


def test_only_the_records_context_lets_a_sealed_string_past_a_line_limit() -> None:
    """The records store validates its own stored JSON with a context naming what it sealed (a sealed goal is
    longer than the 200 characters the goal had); nothing else is let past any limit by it."""
    from domain import DegreeLevel, MenteeProfile

    sealed = "sealed:" + "A" * 300
    data = {
        "mentee_id": "m-1",
        "degree_level": DegreeLevel.MASTER,
        "institution_id": "uni-1",
        "field": "physics",
        "goals": [sealed],
    }
    context = {limits.SEALED_CONTEXT_KEY: lambda value: value.startswith("sealed:")}
    assert MenteeProfile.model_validate(data, context=context).goals == (sealed,)
    with pytest.raises(ValidationError, match="LINE_CHARS"):
        MenteeProfile.model_validate(data)  # an application: the limit holds
    with pytest.raises(ValidationError, match="LINE_CHARS"):
        MenteeProfile.model_validate(data | {"goals": ["x" * 300]}, context=context)  # not sealed: the limit holds
    with pytest.raises(ValidationError, match="LINE_CHARS"):
        MenteeProfile.model_validate(data, context={"other": True})
