"""Against the real Temporal dev server: visibility (search attributes) and a worker killed mid-lifecycle."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.testing import WorkflowEnvironment

from activities.notifications.claims import Claims
from contract import SearchAttributes
from tests import servers
from tests.smtp import SmtpSink
from tests.workflows.conftest import seeded_store
from tests.workflows.harness import application, start, status, update, wait_for, wait_stage
from workers.cli import main
from workers.partnerships import Partnerships
from workers.settings import settings
from workers.worker import build_worker
from workflows.partnership import PartnershipWorkflow

pytestmark = pytest.mark.temporal

FAST = {
    "signing_reminder": "PT20S",
    "signing_deadline": "PT40S",
    "meeting_cadence": "PT2S",
    "lapse_grace": "PT1S",
    "escalation_after": "PT2S",
    "programme_length": "PT30S",
    "review_reminder": "PT5S",
    "review_window": "PT30S",
}


@pytest.fixture(scope="module")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    async with servers.dev_server() as env:
        yield env


async def test_search_attributes_and_the_visibility_worklist_find_the_lapsed_pair(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    cohort = f"v{uuid.uuid4().hex[:6]}"
    store = await seeded_store(f"sqlite+aiosqlite:///{tmp_path / 'records.db'}", cohort)
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    try:
        async with build_worker(dev_env.client, task_queue, store, mailer=None):
            facade = Partnerships(dev_env.client, task_queue)
            lapsing = await facade.start(application(cohort, "lapser", policy=FAST))
            waiting = await facade.start(application(cohort, "waiter", policy=FAST))
            await wait_stage(lapsing, "AWAITING_MATCH")
            await facade.update(lapsing.id, "match_proposed", {"mentor_id": "mr-7"})
            await facade.update(lapsing.id, "sign_agreement", {"party": "mentee"})
            await facade.update(lapsing.id, "sign_agreement", {"party": "mentor"})
            await wait_for(lapsing, lambda s: s.attention == "MEETING_LAPSED", "lapse", timeout=30)
            await wait_stage(waiting, "AWAITING_MATCH")

            query = f"EpAttention='MEETING_LAPSED' AND EpCohort='{cohort}'"
            found: list[Any] = []
            for _ in range(100):
                found = [wf async for wf in dev_env.client.list_workflows(query)]
                if found:
                    break
                await asyncio.sleep(0.2)
            assert [wf.id for wf in found] == [lapsing.id]
            attrs = found[0].typed_search_attributes
            assert attrs.get(SearchAttributes.STAGE) == "ACTIVE"
            assert attrs.get(SearchAttributes.MENTOR_ID) == "mr-7"
            assert attrs.get(SearchAttributes.MENTEE_ID) == "lapser"
            assert attrs.get(SearchAttributes.MEETINGS_HELD) == 0
            assert attrs.get(SearchAttributes.INSTITUTION) == "uni-helsinki"

            worklist = [row async for row in facade.list(cohort=cohort, attention=True)]
            assert [(r.workflow_id, r.attention) for r in worklist] == [(lapsing.id, "MEETING_LAPSED")]
            everyone = [row async for row in facade.list(cohort=cohort)]
            assert {r.workflow_id for r in everyone} == {lapsing.id, waiting.id}

            description = await lapsing.describe()
            assert await description.static_summary() == f"Partnership · cohort {cohort} · mentee lapser"
            metadata = await lapsing.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
            assert "ACTIVE" in metadata.current_details and "ATTENTION MEETING_LAPSED" in metadata.current_details
            # No personal data in what visibility shows.
            shown = f"{found[0].search_attributes} {await description.static_summary()} {metadata.current_details}"
            assert "Test Mentee" not in shown and "@" not in shown

            met = await facade.update(lapsing.id, "log_meeting", {"kind": "pair", "minutes": 45})
            assert met.attention is None
    finally:
        await store.close()


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()


def _spawn_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "workers", "worker"],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


async def test_a_worker_killed_mid_lifecycle_loses_and_doubles_nothing(
    dev_env: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    cohort = f"k{uuid.uuid4().hex[:6]}"
    url = f"sqlite+aiosqlite:///{tmp_path / 'records.db'}"
    store = await seeded_store(url, cohort)
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "ENTRYPOINT_TASK_QUEUE": task_queue,
        "ENTRYPOINT_DATABASE_URL": url,
        "ENTRYPOINT_SMTP_URL": f"smtp://127.0.0.1:{smtp.port}?from=entrypoint@example.org",
    }
    log = tmp_path / "worker.log"
    kills: list[float] = []
    worker = _spawn_worker(env, log)
    try:
        policy = {**FAST, "meeting_cadence": "PT60S", "programme_length": "PT20S", "review_window": "PT60S"}
        policy["lapse_grace"], policy["escalation_after"] = "PT30S", "PT50S"
        handle = await start(dev_env.client, task_queue, application(cohort, "survivor", policy=policy))
        await wait_stage(handle, "AWAITING_MATCH", timeout=60)
        await handle.signal(PartnershipWorkflow.match_proposed, {"mentor_id": "mr-k"})
        await handle.signal(PartnershipWorkflow.sign_agreement, {"party": "mentee"})
        kills.append(time.monotonic())
        worker.send_signal(signal.SIGKILL)  # killed with signals in flight
        worker.wait()
        await handle.signal(PartnershipWorkflow.sign_agreement, {"party": "mentor"})
        await handle.signal(PartnershipWorkflow.log_meeting, {"kind": "pair", "minutes": 60, "topics": ["cv"]})
        worker = _spawn_worker(env, log)
        await wait_for(handle, lambda s: s.meetings_held == 1, "the meeting after the restart", timeout=60)
        kills.append(time.monotonic())
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        worker = _spawn_worker(env, log)
        await wait_stage(handle, "CLOSING_REVIEW", timeout=60)
        await update(handle, PartnershipWorkflow.submit_closing_review_update, {"party": "mentee", "rating": 5})
        await update(handle, PartnershipWorkflow.submit_closing_review_update, {"party": "mentor", "rating": 4})
        result = await handle.result()
        assert result.stage == "COMPLETED"
        await asyncio.sleep(0.5)
        scheduled = [
            e.activity_task_scheduled_event_attributes.activity_type.name
            async for e in handle.fetch_history_events()
            if e.HasField("activity_task_scheduled_event_attributes")
        ]
        # One activity per command: the notices went out with their events, never in an activity of their own.
        assert "record_and_deliver" in scheduled and "deliver_notifications" not in scheduled

        events = await store.read_log(handle.id)
        assert [e.version for e in events] == list(range(1, len(events) + 1))
        types = [e.type for e in events]
        assert types.count("agreement_signed") == 2 and types.count("meeting_logged") == 1
        assert types.count("partnership_completed") == 1
        assert (await store.verify()).ok
        outbox = await store.list_outbox(partnership_id=handle.id)
        sent = [m for m in outbox if m.status == "sent"]
        assert sent and all(m.status != "pending" for m in outbox)
        assert {m["Message-ID"] for m in smtp.messages} == {m.message_id for m in sent}
        by_id = {m.message_id: (m.key, m.sent_at) for m in sent if m.message_id}
        _, doubled = await Claims(store.database).second_copies(smtp.received, by_id, [(k, k) for k in kills])
        assert not doubled, "an e-mail was sent twice"
        assert "Test Mentee" not in log.read_text() and "mentee@example.org" not in log.read_text()
        assert (await status(handle)).stage == "COMPLETED"
    finally:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(10)
            except subprocess.TimeoutExpired:
                worker.kill()
        await store.close()


async def test_setup_twice_and_the_coordinator_commands(
    dev_env: WorkflowEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'records.db'}"
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("TEMPORAL_ADDRESS", dev_env.client.service_client.config.target_host)
    monkeypatch.setenv("ENTRYPOINT_DATABASE_URL", url)
    monkeypatch.setenv("ENTRYPOINT_TASK_QUEUE", task_queue)
    settings.cache_clear()
    try:
        assert await asyncio.to_thread(main, ["setup"]) == 0
        assert await asyncio.to_thread(main, ["setup"]) == 0  # safe to run twice
        out = capsys.readouterr().out
        assert "all registered already" in out and out.count("migrated to the latest revision") == 2

        cohort = f"cli{uuid.uuid4().hex[:5]}"
        store = await seeded_store(url, cohort)
        async with build_worker(dev_env.client, task_queue, store, mailer=None):
            facade = Partnerships(dev_env.client, task_queue)
            handle = await facade.start(application(cohort, "clim", policy=FAST))
            await wait_stage(handle, "AWAITING_MATCH")
            await facade.update(handle.id, "match_proposed", {"mentor_id": "mr-c"})
            await facade.update(handle.id, "sign_agreement", {"party": "mentee"})
            await facade.update(handle.id, "sign_agreement", {"party": "mentor"})
            await wait_for(handle, lambda s: s.attention == "MEETING_LAPSED", "lapse", timeout=30)
            listing = ""
            for _ in range(100):
                assert await asyncio.to_thread(main, ["partnerships", "list", "--cohort", cohort, "--attention"]) == 0
                listing = capsys.readouterr().out
                if "MEETING_LAPSED" in listing:
                    break
                await asyncio.sleep(0.2)
            assert handle.id in listing and "MEETING_LAPSED" in listing and "1 partnership(s)" in listing

            assert await asyncio.to_thread(main, ["partnerships", "show", handle.id]) == 0
            shown = capsys.readouterr().out
            assert "ATTENTION: MEETING_LAPSED" in shown and "mentor mr-c" in shown

            argv = ["intervene", handle.id, "reschedule", "--reason", "agreed by phone"]
            assert await asyncio.to_thread(main, argv) == 1  # reschedule needs a date
            assert "refused: reschedule needs a date" in capsys.readouterr().err
            argv = ["intervene", handle.id, "pause", "--reason", "parental leave"]
            assert await asyncio.to_thread(main, argv) == 0
            assert "accepted: pause" in capsys.readouterr().out
            assert (await status(handle)).stage == "PAUSED"
            assert await asyncio.to_thread(main, ["partnerships", "show", "partnership-nobody-x"]) == 2
            assert "no partnership partnership-nobody-x" in capsys.readouterr().err
        await store.close()
    finally:
        settings.cache_clear()
