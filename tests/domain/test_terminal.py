"""Terminal stages: nothing more can be done, and timers stay silent."""

from collections.abc import Callable

import pytest

from domain.partnership import TERMINAL_STAGES, Stage, next_due
from domain.partnership import commands as c

from .builders import (
    DAY,
    MENTEE,
    MENTOR,
    A,
    Run,
    completed,
    coord,
    diary,
    ended_early,
    gathering,
    match,
    meeting,
    rejected,
    review,
    screen,
    sign,
    submit,
    withdraw,
    withdrawn,
)

TERMINAL_BUILDERS: dict[Stage, Callable[[], Run]] = {
    Stage.COMPLETED: completed,
    Stage.WITHDRAWN: withdrawn,
    Stage.REJECTED: rejected,
    Stage.ENDED_EARLY: ended_early,
}

EVERY_COMMAND: list[c.Command] = [
    submit(),
    screen(),
    match("mentor-9"),
    sign(MENTEE),
    meeting(),
    diary(),
    gathering(),
    *(coord(action, until=None) for action in A),
    withdraw(MENTEE),
    withdraw(MENTOR),
    review(MENTEE),
    review(MENTOR),
]


def test_every_terminal_stage_has_a_builder() -> None:
    assert set(TERMINAL_BUILDERS) == TERMINAL_STAGES
    for stage, builder in TERMINAL_BUILDERS.items():
        assert builder().state.stage == stage


@pytest.mark.parametrize("stage", sorted(TERMINAL_STAGES))
@pytest.mark.parametrize("command", EVERY_COMMAND, ids=lambda cmd: getattr(cmd, "action", cmd.type))
def test_terminal_stages_reject_everything_naming_the_stage(stage: Stage, command: c.Command) -> None:
    run = TERMINAL_BUILDERS[stage]()
    message = run.reject(command, at=run.now + DAY)
    assert "has ended" in message and f"({stage})" in message


@pytest.mark.parametrize("stage", sorted(TERMINAL_STAGES))
def test_terminal_stages_have_no_timers(stage: Stage) -> None:
    run = TERMINAL_BUILDERS[stage]()
    assert next_due(run.state) is None
    before = run.state
    assert run.tick(run.now + 400 * DAY) == []
    assert run.state == before
    assert run.state.attention is None
    assert run.state.summary is not None or stage == Stage.REJECTED
