"""Logs and states written by the release before typed evolve (``tests/fixtures/release_states.json``) still
fold and load: the stored JSON of a state is read by every later release, whatever its shape became."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from domain.partnership import PartnershipState, fold, initial_state, next_due
from domain.partnership.commands import Party
from domain.partnership.events import PartyWithdrew, parse_event
from domain.partnership.state import ADDED_SINCE_RELEASE

RAISES = {"signature_overdue", "meeting_lapsed", "review_overdue"}
"""The events that raise an attention by themselves (and the mentor's withdrawal)."""
RELEASE = json.loads((Path(__file__).parents[1] / "fixtures" / "release_states.json").read_text())


@pytest.mark.parametrize("name", sorted(RELEASE))
def test_a_released_log_folds_to_the_state_it_was_stored_with(name: str) -> None:
    record: dict[str, Any] = RELEASE[name]
    events = [parse_event(data) for data in record["events"]]
    folded = fold(initial_state(record["state"]["partnership_id"]), events)
    loaded = PartnershipState.model_validate(record["state"])
    absent = {name for name in ADDED_SINCE_RELEASE if name not in record["state"]}  # later bookkeeping
    assert folded.model_dump(exclude=absent) == loaded.model_dump(exclude=absent)
    raised = [
        event.type
        for event in events
        if event.type in RAISES or (isinstance(event, PartyWithdrew) and event.party == Party.MENTOR)
    ]
    assert [r.raised_by for r in folded.attention_history] == raised, "each attention the log raised is kept"
    assert folded.version == len(events) == record["state"]["version"]
    assert next_due(folded) == next_due(loaded)


@pytest.mark.parametrize("name", sorted(RELEASE))
def test_a_released_state_loads_and_dumps_to_what_loads_again(name: str) -> None:
    loaded = PartnershipState.model_validate(RELEASE[name]["state"])
    assert PartnershipState.model_validate(loaded.model_dump(mode="json")) == loaded
    assert PartnershipState.model_validate_json(loaded.model_dump_json()) == loaded
