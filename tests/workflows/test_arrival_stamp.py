"""Arrival from the client's receive stamp (issue 8): a command sent before a deadline while no worker runs counts
as of when it was sent, not when a worker got to it. Real Temporal dev server (real time), real records (SQLite),
the real facade; the worker is really stopped while the deadline passes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from activities.records.store import RecordStore
from contract import RECEIVED_AT_HEADER
from contract.partnership import PartnershipStatus
from tests import servers
from tests.workflows.conftest import seeded_store
from tests.workflows.harness import application, status, wait_for, wait_stage
from workers import arrival
from workers.arrival import ReceivedAtStamp, read_stamp, stamp_payload, stamped
from workers.partnerships import Partnerships
from workers.temporal import data_converter
from workers.worker import WORKER_INTERCEPTORS, WORKFLOW_RUNNER, WORKFLOWS, build_worker
from workflows.partnership import PartnershipWorkflow

pytestmark = pytest.mark.temporal

CADENCE = 20
GRACE = 1
ESCALATION = 2
"""The nudge falls due GRACE after the meeting, MEETING_LAPSED (attention, an e-mail to the coordinator)
ESCALATION after it."""
POLICY = {
    "signing_reminder": "PT60S",
    "signing_deadline": "PT120S",
    "meeting_cadence": f"PT{CADENCE}S",
    "lapse_grace": f"PT{GRACE}S",
    "escalation_after": f"PT{ESCALATION}S",
    "programme_length": "PT300S",
    "review_reminder": "PT60S",
    "review_window": "PT120S",
}
MEETING = {"kind": "pair", "minutes": 45}


@pytest.fixture(scope="module")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    async with servers.dev_server() as env:
        yield env


@dataclass
class Place:
    """A cohort's records (SQLite) and a task queue of its own, for one test."""

    store: RecordStore
    cohort: str
    task_queue: str


@pytest.fixture
async def place(tmp_path: Path) -> AsyncIterator[Place]:
    cohort = f"s{uuid.uuid4().hex[:6]}"
    store = await seeded_store(f"sqlite+aiosqlite:///{tmp_path / 'records.db'}", cohort)
    try:
        yield Place(store, cohort, f"tq-{uuid.uuid4().hex[:8]}")
    finally:
        await store.close()


async def _until(moment: datetime) -> None:
    await asyncio.sleep(max((moment - datetime.now(UTC)).total_seconds(), 0))


async def _active_then_no_worker(
    env: WorkflowEnvironment, store: RecordStore, cohort: str, task_queue: str
) -> tuple[Partnerships, WorkflowHandle[PartnershipWorkflow, PartnershipStatus], datetime]:
    """A pair matched and signed by a running worker, which is then stopped; the first meeting's due time."""
    facade = Partnerships(env.client, task_queue)
    async with build_worker(env.client, task_queue, store, mailer=None):
        handle = await facade.start(application(cohort, f"m{uuid.uuid4().hex[:5]}", policy=POLICY))
        await wait_stage(handle, "AWAITING_MATCH")
        await facade.update(handle.id, "match_proposed", {"mentor_id": "mr-1"})
        await facade.update(handle.id, "sign_agreement", {"party": "mentee"})
        active = await facade.update(handle.id, "sign_agreement", {"party": "mentor"})
        assert active.stage == "ACTIVE" and active.next_meeting_due is not None
        await wait_for(handle, lambda s: s.attention is None and s.stage == "ACTIVE", "settled", timeout=30)
    return facade, handle, active.next_meeting_due


async def test_a_meeting_sent_before_the_lapse_while_no_worker_ran_counts_as_of_when_it_was_sent(
    dev_env: WorkflowEnvironment, place: Place
) -> None:
    store, cohort, task_queue = place.store, place.cohort, place.task_queue
    facade, handle, due = await _active_then_no_worker(dev_env, store, cohort, task_queue)
    lapse = due + timedelta(seconds=ESCALATION)
    # no worker runs now; the meeting is sent through the facade shortly before it falls due
    await _until(due - timedelta(seconds=4))
    sent_from = datetime.now(UTC)
    await facade.signal(handle.id, "log_meeting", MEETING)
    sent_by = datetime.now(UTC)
    assert sent_by < due, "the machine was too slow to send the meeting before it fell due"
    await _until(lapse + timedelta(seconds=3))  # the lapse passes while no worker runs

    async with build_worker(dev_env.client, task_queue, store, mailer=None):
        met = await wait_for(handle, lambda s: s.meetings_held == 1, "the meeting decided", timeout=60)
        assert met.attention is None, "no MEETING_LAPSED for a pair that met in time"
        assert met.attention_history == []
        assert met.last_meeting_at is not None
        assert sent_from <= met.last_meeting_at <= sent_by, "counted as of the client's receive stamp"
        assert met.next_meeting_due == met.last_meeting_at + timedelta(seconds=CADENCE)
        log = [entry.type for entry in await store.read_log(handle.id)]
        assert "meeting_lapsed" not in log and "meeting_nudge_due" not in log and "meeting_logged" in log, log
        assert (await status(handle)).attention is None
        await handle.terminate("test over")


async def test_a_signature_update_held_by_the_server_while_no_worker_ran_counts_before_the_signing_deadline(
    dev_env: WorkflowEnvironment, place: Place
) -> None:
    """As a party's client does it: an update (with an update id) sent before the signing deadline waits on the
    server while no worker runs; the deadline passes; a worker comes back: the signature counts, no
    SIGNATURE_OVERDUE."""
    store, cohort, task_queue = place.store, place.cohort, place.task_queue
    signing = {**POLICY, "signing_reminder": "PT4S", "signing_deadline": "PT8S"}
    facade = Partnerships(dev_env.client, task_queue)
    async with build_worker(dev_env.client, task_queue, store, mailer=None):
        handle = await facade.start(application(cohort, f"m{uuid.uuid4().hex[:5]}", policy=signing))
        await wait_stage(handle, "AWAITING_MATCH")
        matched = await facade.update(handle.id, "match_proposed", {"mentor_id": "mr-1"})
        await facade.update(handle.id, "sign_agreement", {"party": "mentee"})
    assert matched.agreement is not None and matched.agreement.signing_due is not None
    deadline = matched.agreement.signing_due
    sent_from = datetime.now(UTC)
    assert sent_from < deadline - timedelta(seconds=1), "the machine was too slow to sign in time"
    signing_update = asyncio.create_task(
        facade.update(handle.id, "sign_agreement", {"party": "mentor"}, update_id=f"{handle.id}-sign-mentor")
    )
    await _until(deadline + timedelta(seconds=3))  # the deadline passes while the update waits on the server
    assert not signing_update.done()

    async with build_worker(dev_env.client, task_queue, store, mailer=None):
        signed = await asyncio.wait_for(signing_update, timeout=60)
        assert signed.stage == "ACTIVE", signed
        assert signed.attention is None and signed.attention_history == [], "no SIGNATURE_OVERDUE"
        assert signed.agreement is not None and signed.agreement.starts_on is not None
        assert sent_from <= signed.agreement.starts_on < deadline, "signed as of the client's receive stamp"
        log = [entry.type for entry in await store.read_log(handle.id)]
        assert "signature_overdue" not in log, log
        await handle.terminate("test over")


async def test_a_raw_signal_without_the_stamp_counts_as_of_delivery_as_before(
    dev_env: WorkflowEnvironment, place: Place
) -> None:
    """Documented behaviour: a raw signal (``temporal workflow signal``, no receive stamp) arrives when a worker
    delivers it, so a deadline that passed meanwhile goes first."""
    store, cohort, task_queue = place.store, place.cohort, place.task_queue
    raw = Client(dev_env.client.service_client, namespace="default", data_converter=data_converter())
    _, handle, due = await _active_then_no_worker(dev_env, store, cohort, task_queue)
    lapse = due + timedelta(seconds=ESCALATION)
    await _until(due - timedelta(seconds=4))
    await raw.get_workflow_handle(handle.id).signal("log_meeting", MEETING)
    await _until(lapse + timedelta(seconds=3))
    restarted = datetime.now(UTC)

    async with build_worker(dev_env.client, task_queue, store, mailer=None):
        met = await wait_for(handle, lambda s: s.meetings_held == 1, "the meeting decided", timeout=60)
        assert [view.attention for view in met.attention_history][:1] == ["MEETING_LAPSED"], met.attention_history
        assert met.last_meeting_at is not None and met.last_meeting_at >= restarted, "as of delivery"
        await handle.terminate("test over")


def test_the_stamp_is_an_iso_utc_time_kept_across_retries_and_ignored_when_malformed() -> None:
    at = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    headers = stamped({}, lambda: at)
    assert read_stamp(headers) == at
    assert headers[RECEIVED_AT_HEADER].data == b'"2026-03-01T10:00:00+00:00"'
    later = stamped(headers, lambda: at + timedelta(hours=1))
    assert read_stamp(later) == at, "a call already stamped keeps its stamp"
    assert read_stamp({}) is None
    for bad in (b"not json", b"42", b'"2026-03-01T10:00:00"', b'"yesterday"'):
        payload = stamp_payload(at)
        payload.data = bad
        assert read_stamp({RECEIVED_AT_HEADER: payload}) is None, bad


async def test_replay_reads_the_same_stamps_the_live_run_read(
    dev_env: WorkflowEnvironment, place: Place, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Determinism: the stamps are in the history (signal and update headers), so a replay hands the inbox the
    same stamps as the live run, and the history replays."""
    seen: list[datetime | None] = []
    real = arrival._hand_over

    def spy(headers: arrival.Headers) -> None:
        seen.append(read_stamp(headers))
        real(headers)

    monkeypatch.setattr(arrival, "_hand_over", spy)
    facade = Partnerships(dev_env.client, place.task_queue)
    async with build_worker(dev_env.client, place.task_queue, place.store, mailer=None):
        handle = await facade.start(application(place.cohort, f"m{uuid.uuid4().hex[:5]}", policy=POLICY))
        await wait_stage(handle, "AWAITING_MATCH")
        await facade.update(handle.id, "match_proposed", {"mentor_id": "mr-1"})
        await facade.signal(handle.id, "sign_agreement", {"party": "mentee"})
        await facade.update(handle.id, "sign_agreement", {"party": "mentor"})
        await facade.update(handle.id, "log_meeting", MEETING)
        await handle.terminate("test over")
    live, seen[:] = list(seen), []
    assert len(live) == 4 and all(stamp is not None for stamp in live), live

    replayer = Replayer(
        workflows=list(WORKFLOWS),
        data_converter=data_converter(),
        workflow_runner=WORKFLOW_RUNNER,
        interceptors=list(WORKER_INTERCEPTORS),
    )
    result = await replayer.replay_workflow(await handle.fetch_history(), raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure
    assert seen == live


async def test_two_calls_delivered_together_count_in_the_order_their_clients_received_them(
    dev_env: WorkflowEnvironment, place: Place
) -> None:
    """Two parties' calls held by the server while no worker ran are delivered in one workflow task, the later
    one first; the deadline between them: the earlier one is decided before the deadline, the later one after
    (the client's clock is set, so the order is the test's)."""
    signing = {**POLICY, "signing_reminder": "PT4S", "signing_deadline": "PT8S"}
    facade = Partnerships(dev_env.client, place.task_queue)
    async with build_worker(dev_env.client, place.task_queue, place.store, mailer=None):
        handle = await facade.start(application(place.cohort, f"m{uuid.uuid4().hex[:5]}", policy=signing))
        await wait_stage(handle, "AWAITING_MATCH")
        matched = await facade.update(handle.id, "match_proposed", {"mentor_id": "mr-1"})
    assert matched.agreement is not None
    deadline = matched.agreement.signing_due
    stamps = iter([deadline + timedelta(seconds=1), deadline - timedelta(seconds=1)])
    config = {**dev_env.client.config(), "interceptors": [ReceivedAtStamp(lambda: next(stamps))]}
    parties = Partnerships(Client(**config), place.task_queue)
    await parties.signal(handle.id, "sign_agreement", {"party": "mentor"})  # received after the deadline
    await parties.signal(handle.id, "sign_agreement", {"party": "mentee"})  # received before it, sent second
    await _until(deadline + timedelta(seconds=3))

    async with build_worker(dev_env.client, place.task_queue, place.store, mailer=None):
        active = await wait_for(handle, lambda s: s.stage == "ACTIVE", "both signed", timeout=60)
        overdue = [view for view in active.attention_history if view.attention == "SIGNATURE_OVERDUE"]
        assert [view.parties for view in overdue] == [["mentor"]], "only the party who signed late was overdue"
        await handle.terminate("test over")
