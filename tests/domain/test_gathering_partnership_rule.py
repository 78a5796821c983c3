"""A partnership counts each gathering once: a retried or repeated delivery of the same attendance is rejected."""

from __future__ import annotations

import pytest

from domain.partnership import PartnershipState, fold, initial_state
from domain.partnership import commands as c
from domain.partnership import events as e
from tests.domain.builders import PID, T0, active, awaiting_match, gathering


def test_attendance_at_a_gathering_already_recorded_is_rejected_and_counts_nothing() -> None:
    run = active()
    run.do(gathering(3.0, c.GatheringKind.GROUP, "visit-1"))
    assert run.state.attended_gathering_ids == ("visit-1",)
    message = run.reject(gathering(3.0, c.GatheringKind.GROUP, "visit-1"))
    assert message == "attendance at gathering visit-1 is already recorded"
    assert "already recorded" in run.reject(gathering(1.0, c.GatheringKind.COLLECTIVE, "visit-1")), "whatever the kind"
    assert (run.state.gatherings_attended, run.state.gathering_hours) == (1, 3.0)


def test_other_gatherings_still_count() -> None:
    run = awaiting_match()
    run.do(gathering(3.0, c.GatheringKind.COLLECTIVE, "orientation"))
    run.do(gathering(2.0, c.GatheringKind.GROUP, "visit-1"))
    assert run.state.attended_gathering_ids == ("orientation", "visit-1")
    assert (run.state.gatherings_attended, run.state.gathering_hours) == (2, 5.0)
    assert run.refold() == run.state


def test_a_state_recorded_before_the_rule_still_loads() -> None:
    run = active()
    run.do(gathering(2.0, c.GatheringKind.GROUP, "visit-1"))
    stored = run.state.model_dump(mode="json")
    del stored["attended_gathering_ids"]
    old = PartnershipState.model_validate(stored)
    assert old.attended_gathering_ids == () and old.gathering_hours == 2.0


def test_a_log_from_before_the_rule_with_a_repeated_gathering_folds_as_recorded() -> None:
    run = awaiting_match()
    repeated = e.GatheringAttended(at=T0, gathering_id="visit-1", kind=c.GatheringKind.GROUP, hours=2.0)
    state = fold(initial_state(PID), [*run.log, repeated, repeated])
    assert (state.gatherings_attended, state.gathering_hours) == (2, 4.0), "history is history"
    assert state.attended_gathering_ids == ("visit-1",)


@pytest.mark.parametrize("gid", ["visit-1", "orientation"])
def test_the_rejection_names_the_gathering(gid: str) -> None:
    run = active()
    run.do(gathering(gid=gid))
    assert gid in run.reject(gathering(gid=gid))
