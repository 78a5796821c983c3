"""Canaries: distinctive personal data driven through a whole partnership on the real dev server.

None of it may appear in Temporal's history (``temporal workflow show -o json``, without the codec), in
``describe`` (memo, search attributes), in the dev server's database file, or in the worker's log; all of it
must appear through the codec server, over real HTTP, with a valid token (a gateway token with ops:read). The
records database file holds none of it either (names sealed per person, free text per partnership), while the
CLI's reading path (``records show``) opens it; after erasure nothing yields it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.keys import load_keyring
from domain.people import Contact
from gateway.store import GatewayStore
from tests.privacy.codec_http import running_codec_server
from tests.servers import binary, dev_server
from tests.workflows.conftest import seeded_store
from tests.workflows.harness import application, wait_stage
from workers.cli import main
from workers.codec import EncryptionCodec
from workers.codec_server import gateway_tokens, static_token
from workers.partnerships import Partnerships
from workers.settings import settings
from workers.temporal import default_data_keys

pytestmark = pytest.mark.temporal

TOKEN = "canary-codec-token-0123456789abcdef"
NAME = "Quillon Vantablack-Sørensen"
EMAIL = "quillon.vantablack@example.org"
DIARY = "canary-diary: the heron over Lauttasaari taught me patience"
NOTES = "canary-notes: talked through the Nokia offer and my visa"
MENTEE_COMMENTS = "canary-comments-mentee: Ilmari changed how I see work"
MENTOR_COMMENTS = "canary-comments-mentor: Quillon will go far"
CHECKIN_NOTE = "canary-checkin-note: we keep missing each other in Espoo"
CANARIES = (NAME, EMAIL, DIARY, NOTES, MENTEE_COMMENTS, MENTOR_COMMENTS, CHECKIN_NOTE)

POLICY = {
    "signing_reminder": "PT20S",
    "signing_deadline": "PT40S",
    "meeting_cadence": "PT60S",
    "lapse_grace": "PT30S",
    "escalation_after": "PT50S",
    "programme_length": "PT6S",
    "review_reminder": "PT20S",
    "review_window": "PT60S",
    "checkin_first": "PT1S",
}


def readable(blob: bytes | str) -> str:
    """Everything a reader could get out of some JSON without a key: its text, and each base64 string decoded."""
    text = blob.decode("utf-8", errors="replace") if isinstance(blob, bytes) else blob
    found = [text]

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str) and len(value) >= 8:
            with contextlib.suppress(binascii.Error, ValueError):
                found.append(base64.b64decode(value, validate=True).decode("utf-8", errors="replace"))

    with contextlib.suppress(ValueError):
        walk(json.loads(text))
    return "\n".join(found)


def leaked(text: str) -> list[str]:
    return [canary for canary in CANARIES if canary in text]


def file_bytes(path: Path) -> str:
    """A database file and its WAL/journal siblings, as text (bytes decoded leniently)."""
    parts = [p.read_bytes() for p in sorted(path.parent.glob(path.name + "*")) if p.is_file()]
    return b"\n".join(parts).decode("utf-8", errors="replace")


@pytest.fixture(scope="module")
def server_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("temporal") / "temporal.db"


@pytest.fixture(scope="module")
async def dev_env(server_db: Path) -> AsyncIterator[WorkflowEnvironment]:
    async with dev_server(server_db) as env:
        yield env


@pytest.fixture
def worker_log(tmp_path: Path) -> Path:
    return tmp_path / "worker.log"


@pytest.fixture
def worker_env(dev_env: WorkflowEnvironment, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "ENTRYPOINT_TASK_QUEUE": f"tq-{uuid.uuid4().hex[:8]}",
        "ENTRYPOINT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'records.db'}",
        "ENTRYPOINT_LOG_LEVEL": "DEBUG",
    }


@pytest.fixture
def worker(worker_env: dict[str, str], worker_log: Path) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "workers", "worker"],
        env=worker_env,
        stdout=worker_log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()


async def temporal_cli(address: str, *args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        binary("temporal"),
        *args,
        "--address",
        address,
        "-o",
        "json",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode()


async def drive_a_whole_partnership(facade: Partnerships, cohort: str, mentee: str = "canary-mentee") -> str:
    handle = await facade.start(application(cohort, mentee, policy=POLICY, contact={"name": NAME, "email": EMAIL}))
    await wait_stage(handle, "AWAITING_MATCH", timeout=60)
    await facade.update(handle.id, "match_proposed", {"mentor_id": "canary-mentor"})
    await facade.update(handle.id, "sign_agreement", {"party": "mentee"})
    await facade.update(handle.id, "sign_agreement", {"party": "mentor"})
    await facade.update(handle.id, "log_meeting", {"kind": "pair", "minutes": 50, "notes": NOTES})
    await facade.update(handle.id, "add_diary_entry", {"reflection": DIARY})
    for _ in range(600):  # the first check-in, a second after the start
        if (await facade.status(handle.id)).checkins:
            break
        await asyncio.sleep(0.05)
    await facade.update(
        handle.id, "answer_checkin", {"party": "mentee", "score": 2, "meeting_as_planned": True, "note": CHECKIN_NOTE}
    )
    await wait_stage(handle, "CLOSING_REVIEW", timeout=60)
    await facade.update(
        handle.id, "submit_closing_review", {"party": "mentee", "rating": 5, "comments": MENTEE_COMMENTS}
    )
    await facade.update(
        handle.id, "submit_closing_review", {"party": "mentor", "rating": 5, "comments": MENTOR_COMMENTS}
    )
    assert (await handle.result()).stage == "COMPLETED"
    return handle.id


async def test_no_canary_reaches_temporal_or_the_logs_and_the_codec_server_reads_them_all(
    dev_env: WorkflowEnvironment,
    worker_env: dict[str, str],
    worker: subprocess.Popen[bytes],
    worker_log: Path,
    server_db: Path,
) -> None:
    cohort = f"canary{uuid.uuid4().hex[:5]}"
    store = await seeded_store(worker_env["ENTRYPOINT_DATABASE_URL"], cohort)
    address = worker_env["TEMPORAL_ADDRESS"]
    try:
        facade = Partnerships(dev_env.client, worker_env["ENTRYPOINT_TASK_QUEUE"])
        workflow_id = await drive_a_whole_partnership(facade, cohort)

        history = await temporal_cli(address, "workflow", "show", "-w", workflow_id)
        assert "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED" in history
        assert leaked(readable(history)) == []
        # Every payload of the partnership is under its own data key (what erasure destroys).
        subject = f"dk:partnership:{workflow_id}"
        assert subject in readable(history)
        described = await temporal_cli(address, "workflow", "describe", "-w", workflow_id)
        assert "EpMenteeId" in described and leaked(readable(described)) == []
        description = await dev_env.client.get_workflow_handle(workflow_id).describe()
        assert leaked(str(description.raw_description)) == []
        assert leaked(file_bytes(server_db)) == []
        log = worker_log.read_text()
        assert "worker started" in log and leaked(log) == []

        records_file = Path(worker_env["ENTRYPOINT_DATABASE_URL"].removeprefix("sqlite+aiosqlite:///"))
        assert leaked(file_bytes(records_file)) == []

        keyring = load_keyring()
        codec = EncryptionCodec(keyring, default_data_keys(keyring))
        tokens = GatewayStore.from_url(worker_env["ENTRYPOINT_DATABASE_URL"])
        staff = await tokens.create_token(f"staff-{uuid.uuid4().hex[:6]}", ["ops:read"])
        async with running_codec_server(codec, gateway_tokens(tokens)) as url:
            refused = await asyncio.create_subprocess_exec(
                binary("temporal"),
                "workflow",
                "show",
                "-w",
                workflow_id,
                "--address",
                address,
                "-o",
                "json",
                "--codec-endpoint",
                url,
                "--codec-auth",
                "Bearer not-the-token-0123456789",
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            out, _ = await refused.communicate()
            assert leaked(readable(out)) == []
            decoded = await temporal_cli(
                address,
                "workflow",
                "show",
                "-w",
                workflow_id,
                "--codec-endpoint",
                url,
                "--codec-auth",
                f"Bearer {staff}",
            )
        await tokens.close()
        assert sorted(leaked(readable(decoded))) == sorted(CANARIES)
    finally:
        await store.close()


async def test_after_erasure_nothing_yields_the_canaries_not_even_the_codec_server_with_a_valid_token(
    dev_env: WorkflowEnvironment,
    worker_env: dict[str, str],
    worker: subprocess.Popen[bytes],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    cohort = f"erase{uuid.uuid4().hex[:5]}"
    url = worker_env["ENTRYPOINT_DATABASE_URL"]
    records_file = Path(url.removeprefix("sqlite+aiosqlite:///"))
    store = await seeded_store(url, cohort)
    address = worker_env["TEMPORAL_ADDRESS"]
    for name in ("TEMPORAL_ADDRESS", "ENTRYPOINT_DATABASE_URL", "ENTRYPOINT_TASK_QUEUE"):
        monkeypatch.setenv(name, worker_env[name])
    settings.cache_clear()
    try:
        facade = Partnerships(dev_env.client, worker_env["ENTRYPOINT_TASK_QUEUE"])
        open_one = await facade.start(application(cohort, "still-open", policy=POLICY))
        await wait_stage(open_one, "AWAITING_MATCH", timeout=60)
        argv = ["people", "erase", "still-open", "--reason", "GDPR request 2026-41"]
        assert await asyncio.to_thread(main, argv) == 1
        refused = capsys.readouterr().out
        assert f"refused: person still-open is in open partnership(s) {open_one.id}" in refused
        assert "entrypoint intervene PARTNERSHIP_ID end_early" in refused
        assert await store.get_contact("still-open") is not None  # nothing was erased

        workflow_id = await drive_a_whole_partnership(facade, cohort, "erase-mentee")
        assert (await store.get_contact("erase-mentee")) == Contact(name=NAME, email=EMAIL)
        assert leaked(file_bytes(records_file)) == []  # names sealed per person, free text per partnership
        assert await asyncio.to_thread(main, ["records", "show", workflow_id]) == 0
        shown = capsys.readouterr().out  # the CLI's reading path opens the free text
        assert sorted(leaked(shown)) == sorted([DIARY, NOTES, MENTEE_COMMENTS, MENTOR_COMMENTS, CHECKIN_NOTE])

        argv = ["people", "erase", "erase-mentee", "--reason", "GDPR request 2026-42"]
        assert await asyncio.to_thread(main, argv) == 0
        out = capsys.readouterr().out
        assert "erased person erase-mentee (mentee): 2 data key(s) destroyed, 1 partnership(s)" in out

        keyring = load_keyring()
        keys = default_data_keys(keyring)
        keys.forget()  # this process held the key in memory (for up to 30 s): as if that time had passed
        codec = EncryptionCodec(keyring, keys)
        async with running_codec_server(codec, static_token(TOKEN)) as codec_url:
            decoded = await temporal_cli(
                address,
                "workflow",
                "show",
                "-w",
                workflow_id,
                "--codec-endpoint",
                codec_url,
                "--codec-auth",
                f"Bearer {TOKEN}",
            )
        assert leaked(readable(decoded)) == []
        assert '"erased"' in readable(decoded)
        assert await store.get_contact("erase-mentee") is None
        assert leaked(file_bytes(records_file)) == []
        assert await asyncio.to_thread(main, ["records", "show", workflow_id]) == 0
        shown = capsys.readouterr().out
        assert leaked(shown) == [] and '"erased"' in shown

        assert await asyncio.to_thread(main, ["people", "show", "erase-mentee"]) == 0
        shown = capsys.readouterr().out
        assert "name:  erased" in shown and "email: erased" in shown and NAME not in shown
        assert await asyncio.to_thread(main, ["records", "verify"]) == 0
        capsys.readouterr()
        out_dir = tmp_path / "reports"
        assert await asyncio.to_thread(main, ["cohort", "report", cohort, "--out-dir", str(out_dir)]) == 0
        report = json.loads((out_dir / f"cohort-{cohort}.json").read_text())
        assert report["partnerships"] == 2  # the erased person still counts
        assert leaked(json.dumps(report)) == []

        assert await asyncio.to_thread(main, ["partnerships", "show", workflow_id]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "erased" in err and "Traceback" not in err

        argv = ["people", "erase", "erase-mentee", "--reason", "again", "--delete-workflows"]
        assert await asyncio.to_thread(main, argv) == 0
        assert "1 workflow execution(s) deleted" in capsys.readouterr().out
    finally:
        settings.cache_clear()
        await store.close()
