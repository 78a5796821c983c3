"""The README's curl examples, run as they are written (bash and curl) against the live gateway."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from contract.gathering import gathering_workflow_id
from domain.gathering import GatheringPlan
from domain.partnership.commands import GatheringKind
from domain.people import MentorProfile, Sector
from tests.gateway.conftest import Live
from tests.workflows.harness import record_gathering

pytestmark = pytest.mark.temporal

README = Path(__file__).resolve().parents[2] / "README.md"
W = "partnership-2026-spring-stu-1042"

EXPECTED = [
    ("POST /v1/applications", {201}),
    ("GET partnership", {200}),
    ("GET list", {200}),
    ("match_proposed", {200}),
    ("sign_agreement mentee", {200}),
    ("sign_agreement mentor", {200}),
    ("log_meeting", {200}),
    ("add_diary_entry", {200}),
    ("gathering_attended", {200}),
    ("coordinator_action", {200}),
    ("withdraw", {200}),
    ("submit_closing_review", {409}),  # withdrawn, as the README says
    ("answer_checkin", {409}),  # withdrawn too
    ("POST /v1/cohorts", {201}),
    ("GET cohort", {200}),
    ("approve", {200, 409}),  # 409 until the first round awaits approval
    ("run-matching", {202}),
    ("report", {200}),
    ("GET gathering", {200}),
    ("register", {200}),
    ("cancel_registration", {200}),
    ("record_attendance", {409}),  # not held yet
    ("cancel_gathering", {200}),
    ("webhook esign", {409}),  # verified (not 401); the partnership has been withdrawn
]

WRAPPER = r"""
set -u
curl() {
  code=$(command curl -s -o /dev/null -w '%{http_code}' "$@")
  echo "$code" >> "$STATUSES"
  case "$*" in
    *"/v1/applications"*)  # let the application be registered before the next step
      for _ in $(seq 100); do
        command curl -s -H "Authorization: Bearer $T" "$B/v1/partnerships/$W" | grep -q AWAITING_MATCH && break
        sleep 0.1
      done;;
  esac
}
"""


def blocks() -> tuple[str, str]:
    text = README.read_text()
    section = text[text.index("**Every endpoint with curl**") :]
    found = re.findall(r"```sh\n(.*?)```", section, re.S)
    return found[0], found[1]


@pytest.mark.skipif(shutil.which("curl") is None or shutil.which("openssl") is None, reason="needs curl and openssl")
async def test_the_readme_curl_examples_work_against_the_gateway(live: Live, tmp_path: Path) -> None:
    if live.database_url.startswith("postgresql"):
        pytest.skip("once is enough (the README's ids are fixed)")
    endpoints, webhook = blocks()
    assert endpoints.count("curl ") == len(EXPECTED) - 1 and webhook.count("curl ") == 1
    token = await live.store.create_token(
        "readme-" + os.urandom(3).hex(), ["coordinator", "esign", "calendar", "ops:read", f"participant:{W}"]
    )
    plan = GatheringPlan(
        cohort_id="2026-spring",
        gathering_id="orientation",
        kind=GatheringKind.COLLECTIVE,
        subject="Orientation",
        starts_at=datetime.now(UTC) + timedelta(days=20),
        duration_hours=3,
        place="Helsinki",
        capacity=100,
    )
    await live.client.start_workflow(
        "Gathering", plan, id=gathering_workflow_id("2026-spring", "orientation"), task_queue=live.task_queue
    )
    # The kickoff as its Gathering would have recorded it, the pair present: what gathering_attended counts.
    await record_gathering(live.records, "2026-spring", "kickoff", "collective", [W], 3)
    # The mentor the README's match names, in the cohort's pool (`entrypoint mentors import ... --cohort 2026-spring`).
    mentor = MentorProfile(mentor_id="mentor-77", organisation_id="org-a", sector=Sector.PRIVATE, languages=("fi",))
    await live.records.upsert_mentor(mentor, None, cohorts=["2026-spring"])
    script = (
        WRAPPER
        + endpoints.replace("B=http://127.0.0.1:8000;", f"B={live.url};")
        + webhook.replace("SECRET=whsec_...;", f"SECRET={live.webhook_secrets['esign'][0]};")
    )
    statuses = tmp_path / "statuses"
    (tmp_path / "readme.sh").write_text(script)
    process = await asyncio.create_subprocess_exec(
        "bash",
        str(tmp_path / "readme.sh"),
        env={**os.environ, "T": token, "STATUSES": str(statuses)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    got = statuses.read_text().split()
    assert len(got) == len(EXPECTED), (got, err.decode())
    wrong = [(what, code) for (what, allowed), code in zip(EXPECTED, got, strict=True) if int(code) not in allowed]
    assert not wrong, wrong
