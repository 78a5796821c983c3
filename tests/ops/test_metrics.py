"""The worker's /metrics after a short lifecycle: the engine's own series with exactly the commands sent,
beside the SDK's; the programme gauges from the records."""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.testing import WorkflowEnvironment

from activities.records.store import RecordStore
from tests.ops.scrape import scrape, scrape_until, value
from tests.servers import binary
from tests.workflows.harness import application, matched_and_signed, start, update, wait_for
from workers.metrics import GaugeRefresher
from workers.setup import register_search_attributes
from workers.temporal import data_converter
from workers.worker import build_worker

pytestmark = pytest.mark.temporal


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def metered() -> AsyncIterator[tuple[WorkflowEnvironment, Runtime, str]]:
    address = f"127.0.0.1:{free_port()}"
    rt = Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(bind_address=address, counters_total_suffix=True, durations_as_seconds=True)
        )
    )
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary("temporal-test-server"), data_converter=data_converter(), runtime=rt
    )
    await register_search_attributes(env.client, "default")
    try:
        yield env, rt, f"http://{address}/metrics"
    finally:
        await env.shutdown()


async def test_metrics_count_exactly_the_commands_sent(
    metered: tuple[WorkflowEnvironment, Runtime, str], records: RecordStore, cohort_id: str
) -> None:
    env, rt, url = metered
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    async with build_worker(env.client, task_queue, records, mailer=None):
        handle = await start(env.client, task_queue, application(cohort_id))
        await matched_and_signed(handle)  # match_proposed, then sign_agreement twice
        await update(handle, "log_meeting", {"kind": "pair", "minutes": 60})
        await handle.signal("log_meeting", {"kind": "pair", "minutes": "an hour"})  # malformed: rejected
        await wait_for(handle, lambda s: s.last_rejection is not None, "the rejection")
        await env.sleep(timedelta(days=60))  # past cadence + escalation: MEETING_LAPSED
        await wait_for(handle, lambda s: s.attention == "MEETING_LAPSED", "the lapse")
        await update(handle, "log_meeting", {"kind": "pair", "minutes": 45})  # clears it

        def ready(text: str) -> bool:
            return value(text, "entrypoint_attention_cleared_total", kind="MEETING_LAPSED") is not None

        text = await scrape_until(url, ready)

        def commands(command: str, outcome: str) -> float | None:
            return value(text, "entrypoint_commands_total", workflow="Partnership", command=command, outcome=outcome)

        assert commands("match_proposed", "accepted") == 1
        assert commands("sign_agreement", "accepted") == 2
        assert commands("log_meeting", "accepted") == 2
        assert commands("log_meeting", "rejected") == 1
        assert commands("add_diary_entry", "accepted") is None
        assert value(text, "entrypoint_events_recorded_total", event="agreement_signed") == 2
        assert value(text, "entrypoint_events_recorded_total", event="partnership_started") == 1
        assert value(text, "entrypoint_rejections_recorded_total", command="log_meeting") == 1
        assert value(text, "entrypoint_attention_raised_total", kind="MEETING_LAPSED") == 1
        assert value(text, "entrypoint_attention_cleared_total", kind="MEETING_LAPSED") == 1
        assert (value(text, "entrypoint_notifications_queued_total") or 0) >= 3  # match, start, lapse
        # The SDK's own series, for the dashboard's panels, come from the same endpoint.
        assert value(text, "temporal_workflow_task_schedule_to_start_latency_count") is not None
        assert value(text, "temporal_worker_task_slots_available") is not None
        assert "partnership-" not in text and "Test Mentee" not in text  # kinds only: no ids, no names

        gauges = await GaugeRefresher(records, rt.metric_meter).refresh()
        assert gauges.stages.get("ACTIVE") == 1 and gauges.outbox_pending >= 3
        text = scrape(url)
        assert value(text, "entrypoint_partnerships", stage="ACTIVE") == 1
        assert value(text, "entrypoint_partnerships", stage="COMPLETED") == 0
        assert value(text, "entrypoint_outbox_pending") == gauges.outbox_pending
        assert (value(text, "entrypoint_outbox_oldest_seconds") or 0) >= 0
        assert value(text, "entrypoint_attention_waiting", kind="MEETING_LAPSED") == 0
