"""Every ```sh block of README.md is either run here, as written, against a live dev server and worker, or marked
why not (``<!-- readme: skip (...) -->``). Runnable blocks are marked ``<!-- readme: run ... -->``; they compute
their dates in the shell, so they stay valid whenever they are run. Blocks run in order, like a reader does."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import textwrap
from pathlib import Path

import pytest

from domain.people import MentorProfile, Sector
from tests.cli.conftest import REPO, Live
from tests.servers import binary
from tests.workflows.harness import COORDINATOR_ID, application, wait_stage
from workers.partnerships import Partnerships

pytestmark = pytest.mark.temporal

BLOCK = re.compile(
    r"(?P<marker><!-- readme: (?P<kind>run|skip)[^>]*-->\n)?(?P<indent>[ \t]*)```sh\n(?P<body>.*?)```", re.S
)


def readme_blocks() -> list[tuple[str, str]]:
    """(kind, script) of every sh block; kind is run, skip, or unmarked."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = []
    for match in BLOCK.finditer(text):
        kind = match["kind"] or "unmarked"
        blocks.append((kind, textwrap.dedent(match["indent"] + match["body"])))
    return blocks


def test_every_readme_command_block_is_marked_run_or_skip() -> None:
    blocks = readme_blocks()
    assert blocks, "README.md has command blocks"
    unmarked = [script.splitlines()[0] for kind, script in blocks if kind == "unmarked"]
    assert not unmarked, f"mark these blocks <!-- readme: run --> or <!-- readme: skip (why) -->: {unmarked}"
    assert sum(kind == "run" for kind, _ in blocks) >= 6


SAMPLES = {
    "institutions.csv": "institution_id,name,partner\nuni-helsinki,University of Helsinki,true\naalto,Aalto,true\n",
    "mentors.csv": "mentor_id,organisation_id,sector,expertise,languages,capacity\n"
    "mentor-77,org-a,private,data science,en;fi,2\nmentor-78,org-b,public,economics,en,1\n",
    "mentors.json": json.dumps(
        [{"mentor_id": "mentor-77", "organisation_id": "org-a", "sector": "private", "languages": ["en", "fi"]}]
    ),
    "mentees.json": json.dumps(
        [
            {
                "mentee_id": "stu-1",
                "degree_level": "master",
                "institution_id": "uni-helsinki",
                "field": "data science",
                "languages": ["en"],
            }
        ]
    ),
}


async def test_the_readme_commands_run_as_written(live: Live) -> None:
    home = live.home / "readme"
    (home / ".venv" / "bin").mkdir(parents=True)
    entrypoint = home / ".venv" / "bin" / "entrypoint"
    entrypoint.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m workers "$@"\n')
    entrypoint.chmod(0o755)
    tools = home / "tools"
    tools.mkdir()
    (tools / "temporal").symlink_to(binary("temporal"))
    for name, content in SAMPLES.items():
        (home / name).write_text(content)
    await live.store.upsert_cohort("2026-spring", COORDINATOR_ID)
    # The mentor the README's match names is in the cohort's pool (`entrypoint mentors import`, further on).
    mentor = MentorProfile(mentor_id="mentor-77", organisation_id="org-a", sector=Sector.PRIVATE, languages=("fi",))
    await live.store.upsert_mentor(mentor, None, cohorts=["2026-spring"])

    facade = Partnerships(live.env.client, live.task_queue)  # the demo's partnerships, in the test's cohort
    first = await facade.start(application(live.cohort, "demo-01"))
    lapsing = await facade.start(application(live.cohort, "demo-04"))
    await wait_stage(lapsing, "AWAITING_MATCH")
    await facade.update(lapsing.id, "match_proposed", {"mentor_id": "mentor-4"})
    await wait_stage(first, "AWAITING_MATCH")

    env = {"PATH": f"{tools}{os.pathsep}{os.environ['PATH']}"}
    runnable = [script for kind, script in readme_blocks() if kind == "run"]
    for number, script in enumerate(runnable, start=1):
        script = re.sub(r"^C=demo-\d+", f"C={live.cohort}", script, flags=re.M)
        result = await _in(live, home, script, env)
        assert result.code == 0 and "Traceback" not in result.err, f"README block {number}:\n{script}\n{result}"
        if "temporal workflow start" in script:
            await wait_stage(facade.handle("partnership-2026-spring-stu-1042"), "AWAITING_MATCH")
        await asyncio.sleep(2)  # a reader between two blocks; the signals are handled meanwhile

    status = await facade.status("partnership-2026-spring-stu-1042")
    assert status.last_rejection is None, f"a README signal was rejected: {status.last_rejection}"
    # one meeting by signal (the update's example needs the codec server and is not run here)
    assert status.stage == "PAUSED" and status.meetings_held == 1 and status.diary_entries == 1


async def _in(live: Live, home: Path, script: str, env: dict[str, str]):  # type: ignore[no-untyped-def]
    saved = live.home
    live.home = home
    try:
        return await live.shell(script, env=env)
    finally:
        live.home = saved
