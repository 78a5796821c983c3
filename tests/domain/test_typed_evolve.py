"""``evolve`` builds each new state through the model's constructor: a misspelled or unknown field fails
instead of being silently dropped (as ``model_copy(update=...)`` did)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from domain.cohort.lifecycle import CohortState
from domain.frozen import Frozen
from domain.gathering import rules as gathering_rules
from domain.gathering.events import GatheringCancelled
from domain.gathering.state import GatheringState
from domain.partnership import events as e
from domain.partnership import evolve, initial_state, rules
from domain.partnership.state import Clock, Stage
from tests.domain.builders import T0, active, closing_review, paused


def _rule(changes: dict[str, object]) -> object:
    """An evolve rule as it would be written by mistake: it answers ``changes`` whatever the event."""
    return lambda event, state: changes


def test_an_evolve_rule_with_a_misspelled_field_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    state = active().state
    monkeypatch.setattr(rules, "_evolve", _rule({"stgae": Stage.ACTIVE}))
    with pytest.raises(TypeError, match="PartnershipState has no field stgae"):
        evolve(state, e.DiaryEntryAdded(at=T0, reflection="-"))


def test_an_evolve_rule_with_a_value_of_the_wrong_type_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    state = active().state
    monkeypatch.setattr(rules, "_evolve", _rule({"meetings_held": "many"}))
    with pytest.raises(ValidationError, match="meetings_held"):
        evolve(state, e.DiaryEntryAdded(at=T0, reflection="-"))


def test_a_nested_replace_with_a_misspelled_field_fails() -> None:
    agreement = active().state.agreement
    assert agreement is not None
    with pytest.raises(TypeError, match="Agreement has no field end_on"):
        agreement.replace(end_on=T0)


def test_replace_refuses_unknown_fields_on_every_domain_state() -> None:
    states: list[Frozen] = [
        initial_state("p-1"),
        GatheringState(gathering_key="gathering-c-g"),
        CohortState(cohort_id="c-1"),
        Clock(),
    ]
    for state in states:
        with pytest.raises(TypeError, match="has no field"):
            state.replace(not_a_field=1)


def test_replace_validates_values_and_leaves_the_original_as_it_was() -> None:
    state = active().state
    assert state.replace(meetings_held=3).meetings_held == 3
    assert state.meetings_held == 0
    with pytest.raises(ValidationError):
        state.replace(stage="NOT_A_STAGE")


def test_the_gathering_evolve_uses_the_checked_replace(monkeypatch: pytest.MonkeyPatch) -> None:
    state = GatheringState(gathering_key="gathering-c-g")
    monkeypatch.setattr(gathering_rules, "_evolve", _rule({"registred": ("a",)}))
    with pytest.raises(TypeError, match="GatheringState has no field registred"):
        gathering_rules.evolve(state, GatheringCancelled(at=T0, reason="-", notified=()))


def test_the_clocks_are_grouped_and_cleared_together() -> None:
    run = paused()
    assert run.state.pause is not None and run.state.pause.until is None
    review = closing_review().state
    assert review.review_window is not None and review.review_clock == Clock()
    assert review.pause is None and review.signing_clock == Clock(reminded=False, overdue=False)
