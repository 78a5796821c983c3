"""``entrypoint simulate`` as a coordinator runs it: a past cohort read from a real records database (SQLite),
a synthetic programme, and the errors a person can make."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from activities.records.migrate import upgrade
from activities.records.store import RecordStore
from bench.domainlife import lifecycle


def entrypoint(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ENTRYPOINT_DATABASE_URL": database_url, "ENTRYPOINT_LOG_LEVEL": "WARNING"}
    return subprocess.run(
        [sys.executable, "-m", "workers", *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


async def test_a_recorded_cohort_is_replayed_under_its_own_policy_and_another(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'records.db'}"
    await upgrade(url)
    store = RecordStore.from_url(url)
    recorded_nudges = 0
    try:
        for index in range(6):
            pid = f"partnership-past-{index}"
            batches, _ = lifecycle(pid, "past", index)
            version = 0
            for batch in batches:
                await store.append(pid, version, batch)
                version += len(batch)
                recorded_nudges += sum(event.type == "meeting_nudge_due" for event in batch)
    finally:
        await store.close()
    lenient = tmp_path / "lenient.json"
    lenient.write_text(json.dumps({"lapse_grace": "P20D", "escalation_after": "P40D"}))

    run = entrypoint("simulate", "--cohort", "past", "--policy", str(lenient), "--json", database_url=url)
    assert run.returncode == 0, run.stderr
    baseline, other = json.loads(run.stdout)
    assert baseline["policy"] == "cohort past's policy" and other["policy"] == "lenient"
    assert baseline["pairs"] == other["pairs"] == 6
    assert baseline["nudges"] == recorded_nudges == 2  # the records, replayed, give what really happened
    assert other["nudges"] == 0  # 16 days late is within a 20-day grace
    assert baseline["completions"] == other["completions"] == 6

    table = entrypoint("simulate", "--cohort", "past", "--policy", str(lenient), database_url=url)
    assert table.returncode == 0 and "nudges and reminders" in table.stdout and "lenient" in table.stdout


def test_a_synthetic_programme_and_the_mistakes_a_person_can_make(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'none.db'}"
    run = entrypoint("simulate", "--synthetic", "200", "--seed", "3", "--json", database_url=url)
    assert run.returncode == 0, run.stderr
    (baseline,) = json.loads(run.stdout)
    assert baseline["pairs"] == 200

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"escalation_after": "P2D"}))
    refused = entrypoint("simulate", "--synthetic", "5", "--policy", str(bad), database_url=url)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines()[-1].startswith("entrypoint: ")
    assert "lapse_grace must be shorter than escalation_after" in refused.stderr
    assert "Traceback" not in refused.stderr

    missing = entrypoint("simulate", "--synthetic", "5", "--policy", str(tmp_path / "nope.json"), database_url=url)
    assert missing.returncode == 2 and "policy file not found" in missing.stderr

    both = entrypoint("simulate", "--synthetic", "5", "--cohort", "x", database_url=url)
    assert both.returncode == 2 and "not allowed with argument" in both.stderr
