"""The coordinator's CLI against a live dev server and worker, run as a user runs it (a subprocess each time):
one line on stderr and a documented exit status for every expected failure, times in the programme's time zone,
the reasons of terminal stages, and no crash at exit (each command 50 times)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from domain.cohort import CohortPlan
from tests.cli.conftest import Live, Result, run_many
from tests.workflows.harness import application, wait_stage
from workers.cohorts import Cohorts
from workers.partnerships import Partnerships

pytestmark = pytest.mark.temporal

HELSINKI = ZoneInfo("Europe/Helsinki")


def one_line(result: Result, code: int, *words: str) -> str:
    """The failure is exactly one line on stderr, with these words, no traceback, and the exit status ``code``."""
    assert result.code == code, result
    assert len(result.err_lines) == 1, result.err
    line = result.err_lines[0]
    assert line.startswith("entrypoint: ") or line.startswith("refused: "), line
    assert "Traceback" not in result.err
    for word in words:
        assert word in line, line
    return line


@pytest.fixture(scope="module")
async def pairs(live: Live) -> dict[str, str]:
    """An active pair, a withdrawn one (its workflow has ended) and a rejected application."""
    facade = Partnerships(live.env.client, live.task_queue)
    active = await facade.start(application(live.cohort, "act"))
    gone = await facade.start(application(live.cohort, "gone"))
    rejected = await facade.start(application(live.cohort, "nope", institution_id="uni-unknown"))
    await wait_stage(active, "AWAITING_MATCH")
    await facade.update(active.id, "match_proposed", {"mentor_id": "mr-1"})
    await facade.update(active.id, "sign_agreement", {"party": "mentee"})
    await facade.update(active.id, "sign_agreement", {"party": "mentor"})
    await wait_stage(gone, "AWAITING_MATCH")
    await facade.update(gone.id, "withdraw", {"party": "mentee", "reason": "moved abroad"})
    await gone.result()
    await rejected.result()
    cohort = f"{live.cohort}-k"
    await Cohorts(live.env.client, live.task_queue).start(CohortPlan.model_validate(_plan(cohort)))
    return {"active": active.id, "withdrawn": gone.id, "rejected": rejected.id, "cohort": cohort}


def _plan(cohort_id: str, coordinator: bool = True) -> dict[str, Any]:
    now = datetime.now(UTC)
    plan: dict[str, Any] = {
        "cohort_id": cohort_id,
        "applications_close": (now + timedelta(days=1)).isoformat(),
        "matching_at": (now + timedelta(days=2)).isoformat(),
        "kickoff_at": (now + timedelta(days=3)).isoformat(),
        "programme_end": (now + timedelta(days=200)).isoformat(),
    }
    if coordinator:
        plan["coordinator_id"] = "coord-1"
    return plan


async def test_every_expected_failure_is_one_line_and_a_documented_exit_status(
    live: Live, pairs: dict[str, str], tmp_path: Path
) -> None:
    one_line(await live.run("partnerships", "show", "partnership-x-y"), 2, "no partnership partnership-x-y")
    one_line(
        await live.run("intervene", pairs["withdrawn"], "nudge", "--reason", "checking"), 1, "refused:", "has ended"
    )
    one_line(
        await live.run("intervene", pairs["active"], "reschedule", "--reason", "by phone"),
        1,
        "refused: reschedule needs a date",
    )
    one_line(await live.run("intervene", pairs["active"], "extend", "--reason", "x", "--until", "soon"), 2, "--until")

    app = tmp_path / "application.json"
    app.write_text(application(live.cohort, "act").model_dump_json())
    one_line(await live.run("partnerships", "start", str(app)), 1, "already started", pairs["active"])

    one_line(await live.run("cohort", "status", "nobody"), 2, "no cohort nobody")
    one_line(await live.run("cohort", "run-matching", "nobody"), 2, "no cohort nobody")
    one_line(await live.run("cohort", "approve", "nobody"), 2, "no cohort nobody")
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(_plan(f"{live.cohort}-p")))
    started = await live.run("cohort", "start", str(plan))
    assert started.code == 0 and f"started cohort-{live.cohort}-p" in started.out, started
    one_line(await live.run("cohort", "start", str(plan)), 1, "already started")
    plan.write_text(json.dumps(_plan(f"{live.cohort}-q", coordinator=False)))
    one_line(await live.run("cohort", "start", str(plan)), 2, "coordinator_id")

    no_server = {"TEMPORAL_ADDRESS": "127.0.0.1:1"}
    for argv in (["partnerships", "list"], ["partnerships", "show", pairs["active"]], ["cohort", "status", "c"]):
        one_line(await live.run(*argv, env=no_server), 1, "cannot reach Temporal at 127.0.0.1:1")
    no_worker = {"ENTRYPOINT_TASK_QUEUE": "nobody-polls-this"}
    for argv in (["partnerships", "show", pairs["active"]], ["intervene", pairs["active"], "nudge", "--reason", "x"]):
        one_line(await live.run(*argv, env=no_worker), 1, "no worker is polling task queue 'nobody-polls-this'")

    debug = await live.run("--debug", "partnerships", "show", "partnership-x-y")
    assert debug.code == 2 and "Traceback" in debug.err and debug.err_lines[-1].startswith("entrypoint: no partnership")
    later = await live.run("partnerships", "show", "partnership-x-y", "--debug")
    assert later.code == 2 and "Traceback" in later.err


async def test_times_are_shown_in_the_programme_time_zone_with_their_offset(live: Live, pairs: dict[str, str]) -> None:
    until = (
        (datetime.now(UTC) + timedelta(days=10))
        .astimezone(ZoneInfo("Asia/Dubai"))
        .replace(hour=9, minute=0, second=0, microsecond=0)
    )  # given at +04:00, shown in Helsinki's offset (+02:00 in winter, +03:00 in summer)
    result = await live.run(
        "intervene", pairs["active"], "reschedule", "--reason", "by phone", "--until", until.isoformat()
    )
    assert result.code == 0, result
    local = until.astimezone(HELSINKI)
    shown = f"{local:%Y-%m-%d %H:%M}{local:%z}"[:-2] + ":" + f"{local:%z}"[-2:]
    assert f"next due {shown}" in result.out, result.out

    utc = await live.run("partnerships", "show", pairs["active"], "--utc")
    in_utc = until.astimezone(UTC)
    assert f"next due {in_utc:%Y-%m-%d %H:%M}+00:00" in utc.out, utc.out

    # a time without an offset is a time in the programme's zone
    naive = (local + timedelta(days=1)).replace(tzinfo=None)
    result = await live.run(
        "intervene", pairs["active"], "reschedule", "--reason", "moved", "--until", naive.isoformat()
    )
    assert result.code == 0, result
    assert f"next due {naive:%Y-%m-%d %H:%M}" in result.out


async def test_show_names_the_reason_of_every_terminal_stage(live: Live, pairs: dict[str, str]) -> None:
    rejected = await live.run("partnerships", "show", pairs["rejected"])
    assert rejected.code == 0, rejected
    assert "stage        REJECTED: institution uni-unknown is not registered" in rejected.out
    withdrawn = await live.run("partnerships", "show", pairs["withdrawn"])
    assert withdrawn.code == 0, withdrawn
    assert "stage        WITHDRAWN: moved abroad" in withdrawn.out
    assert "next due" not in withdrawn.out and "next timer" not in withdrawn.out


async def test_outbox_and_records_print_no_alembic_lines_and_outbox_show_renders_a_message(
    live: Live, pairs: dict[str, str]
) -> None:
    listing = await live.run("outbox", "--json")
    assert listing.code == 0 and listing.err == "", listing
    keys = [json.loads(line)["key"] for line in listing.out.splitlines()]
    assert keys, "the partnerships have caused notifications"
    shown = await live.run("outbox", "show", keys[0])
    assert shown.code == 0 and shown.err == "", shown
    assert f"Key:       {keys[0]}" in shown.out and "Subject:   " in shown.out
    body = shown.out.split("Subject:", 1)[1]
    assert len(body.strip().splitlines()) > 2, "the rendered text, not only the template name"
    one_line(await live.run("outbox", "show", "no-such-key"), 2, "no notification no-such-key")
    records = await live.run("records", "show", pairs["active"])
    assert records.code == 0 and records.err == "", records


EXIT_RUNS = int(os.environ.get("ENTRYPOINT_CLI_EXIT_RUNS", "50"))
"""How often each command runs (the crash at exit came about once in ten calls)."""


async def test_every_command_exits_with_exactly_its_documented_status_every_time(
    live: Live, pairs: dict[str, str]
) -> None:
    commands: list[tuple[list[str], int]] = [
        (["partnerships", "list", "--cohort", live.cohort], 0),
        (["partnerships", "show", pairs["active"]], 0),
        (["partnerships", "show", "partnership-x-y"], 2),
        (["intervene", pairs["active"], "reschedule", "--reason", "x"], 1),
        (["cohort", "status", pairs["cohort"]], 0),
        (["cohort", "status", "nobody"], 2),
        (["outbox"], 0),
        (["records", "show", pairs["active"]], 0),
    ]
    calls = [argv for argv, _ in commands for _ in range(EXIT_RUNS)]
    results = await run_many(live, calls, batch=4)
    expected = [code for _, code in commands for _ in range(EXIT_RUNS)]
    wrong = [
        (argv, r.code, r.err[-300:]) for argv, r, code in zip(calls, results, expected, strict=True) if r.code != code
    ]
    assert not wrong, f"{len(wrong)} of {len(calls)} calls exited otherwise: {wrong[:3]}"
