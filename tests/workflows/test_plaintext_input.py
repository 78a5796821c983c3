"""The rule for an unencrypted start input from outside (a tool without --codec-endpoint): accepted and flagged."""

from __future__ import annotations

import logging

import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.records import RecordStore
from contract.partnership import WORKFLOW_TYPE
from tests.workflows.harness import application, wait_stage
from workers.codec import EncryptionCodec

pytestmark = pytest.mark.temporal


async def test_a_plaintext_start_input_is_accepted_and_flagged_in_the_log(
    ts_env: WorkflowEnvironment,
    worker: Worker,
    records: RecordStore,
    cohort_id: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    outsider = Client(ts_env.client.service_client, namespace="default", data_converter=pydantic_data_converter)
    app = application(cohort_id, "from-outside")
    with caplog.at_level(logging.WARNING, logger="workers.codec"):
        await outsider.start_workflow(WORKFLOW_TYPE, app, id=app.workflow_id, task_queue=worker.task_queue)
        handle = ts_env.client.get_workflow_handle(app.workflow_id)
        await wait_stage(handle, "AWAITING_MATCH")
    flagged = [r for r in caplog.records if r.getMessage() == "plaintext_payload_decoded"]
    assert flagged and all("Test Mentee" not in str(r.__dict__) for r in flagged)
    codec = ts_env.client.data_converter.payload_codec
    assert isinstance(codec, EncryptionCodec)
    assert await records.get_contact("from-outside") is not None  # the application was taken
