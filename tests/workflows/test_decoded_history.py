"""A history kept to replay a failure (``make drill --keep-logs``) is decoded first: its payloads are encrypted
under the keyring and data keys of the run that made it, which a test run does not have. Decoded, it replays
with the default converter, as the recorded histories in ``tests/histories/`` do. On the time-skipping server."""

from __future__ import annotations

import dataclasses

from temporalio.api.history.v1 import History
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from tests.workflows.harness import application, start, wait_stage
from workers.codec import ENCODING, decode_in_place, encrypted_payloads
from workers.temporal import data_converter
from workers.worker import WORKER_INTERCEPTORS, WORKFLOW_RUNNER, WORKFLOWS
from workflows.partnership import PartnershipWorkflow

CANARY = "Canary Kettunen-Ahlgren"


async def test_a_kept_history_is_decoded_so_it_replays_without_the_keys(
    ts_env: WorkflowEnvironment, worker: Worker, cohort_id: str
) -> None:
    app = application(cohort_id, contact={"name": CANARY, "email": "canary@example.org"})
    handle = await start(ts_env.client, worker.task_queue, app)
    await wait_stage(handle, "AWAITING_MATCH")
    await handle.signal(PartnershipWorkflow.match_proposed, {"mentor_id": "mr-1"})
    await wait_stage(handle, "AWAITING_SIGNATURES")
    await handle.terminate("test over")
    history = await handle.fetch_history()
    assert CANARY not in history.to_json()
    encrypted = len(list(encrypted_payloads(history.events)))
    assert encrypted > 5

    copy = History.FromString(History(events=history.events).SerializeToString())
    decoded = WorkflowHistory(history.workflow_id, list(copy.events))
    codec = ts_env.client.data_converter.payload_codec
    assert codec is not None
    assert await decode_in_place(decoded.events, codec) == encrypted
    assert not list(encrypted_payloads(decoded.events))
    text = decoded.to_json()
    started = decoded.events[0].workflow_execution_started_event_attributes.input.payloads[0]
    assert CANARY in started.data.decode() and ENCODING.decode() not in text

    replayer = Replayer(
        workflows=list(WORKFLOWS),
        data_converter=dataclasses.replace(data_converter(), payload_codec=None),  # the keys of no run
        workflow_runner=WORKFLOW_RUNNER,
        interceptors=list(WORKER_INTERCEPTORS),
    )
    replayed = await replayer.replay_workflow(
        WorkflowHistory.from_json(history.workflow_id, text), raise_on_replay_failure=False
    )
    assert replayed.replay_failure is None, replayed.replay_failure
    undecoded = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert undecoded.replay_failure is not None  # what the drill used to keep: useless without the run's keys
