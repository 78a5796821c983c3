"""``entrypoint partnerships show``: the check-in rounds, scores and yes/no only (a note stays in the records)."""

from __future__ import annotations

from domain import Policy
from domain.partnership import commands as c
from tests.domain.builders import DAY, MENTEE, active, meeting
from workers.commands.partnerships import render_status
from workers.rendering import use_utc
from workflows.status import describe


def test_show_lists_each_round_its_answers_and_who_it_waits_for() -> None:
    use_utc(True)
    try:
        _show()
    finally:
        use_utc(False)


def _show() -> None:
    run = active(Policy(checkin_first=30 * DAY))
    run.do(meeting(), at=run.now + 29 * DAY)
    run.tick_due()  # round 1 asked
    run.do(c.AnswerCheckin(party=MENTEE, score=2, meeting_as_planned=False, note="secret-note"), at=run.now + DAY)
    shown = render_status(describe(run.state))
    assert "  check-ins    round 1 asked 2026-02-06, due 2026-02-20: mentee 2/5, NOT meeting as planned;" in shown
    assert "waiting for mentor; LOW" in shown
    assert "               next round 2026-04-07" in shown
    assert "CHECKIN_LOW: a low check-in answer from the mentee" in shown and "by a check-in answer" in shown
    assert "secret-note" not in shown
