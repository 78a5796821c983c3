"""The worker's outbox sweep: what waited while the mail server was down goes out once it is back, once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from activities.notifications.smtp import SmtpMailer
from activities.notifications.sweep import OutboxSweep
from activities.records.models import OutboxStatus
from activities.records.store import RecordStore
from tests.notifications.conftest import MailServer
from tests.notifications.seed import Cast, record, seed_people

INTERVAL = 0.2
PATIENCE = 60.0
"""How long to wait for something that must happen (a bound against hanging, not a timing assertion)."""


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    try:
        async with asyncio.timeout(PATIENCE):
            while not await check():
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"not seen within {PATIENCE:g} s: {what}") from None


async def statuses(store: RecordStore, cast: Cast) -> dict[str, tuple[OutboxStatus, int]]:
    return {m.key: (m.status, m.attempts) for m in await store.list_outbox(partnership_id=cast.pid)}


async def test_rows_left_pending_by_an_smtp_outage_go_out_once_when_it_is_back(store: RecordStore) -> None:
    server = MailServer().start()
    server.stop()  # the mail server goes down, and notices are written meanwhile
    cast = Cast.new()
    await seed_people(store, cast)
    recorded = await record(store, cast.started())
    assert len(recorded.outbox_keys) == 5
    sweep = OutboxSweep(store, SmtpMailer.from_url(server.url), interval=INTERVAL)

    async with sweep:

        async def tried() -> bool:
            return sweep.failed_passes >= 2

        await eventually(tried, "passes that fail against the stopped server")
        assert all(status == OutboxStatus.PENDING for status, _ in (await statuses(store, cast)).values())
        server.start()  # back, on the same port

        async def delivered() -> bool:
            return all(status == OutboxStatus.SENT for status, _ in (await statuses(store, cast)).values())

        await eventually(delivered, "every row sent")
        passes = sweep.passes
        await eventually(lambda: _after(sweep, passes + 3), "three more passes")
    server.stop()

    mine = [m for m in server.messages if str(m["X-EntryPoint-Notice"]).startswith(f"{cast.pid}:")]
    assert sorted(str(m["X-EntryPoint-Notice"]) for m in mine) == sorted(recorded.outbox_keys)
    assert len({m["Message-ID"] for m in mine}) == 5


async def _after(sweep: OutboxSweep, passes: int) -> bool:
    return sweep.passes >= passes


async def test_two_sweeps_at_once_send_each_message_once(store: RecordStore, mail_server: MailServer) -> None:
    mail_server.delay = 0.05  # widen the race between the two
    cast = Cast.new()
    await seed_people(store, cast)
    recorded = await record(store, cast.started())
    first = OutboxSweep(store, SmtpMailer.from_url(mail_server.url), interval=INTERVAL)
    second = OutboxSweep(store, SmtpMailer.from_url(mail_server.url), interval=INTERVAL)

    await asyncio.gather(first.sweep_once(), second.sweep_once())

    mine = [m for m in mail_server.messages if str(m["X-EntryPoint-Notice"]).startswith(f"{cast.pid}:")]
    assert sorted(str(m["X-EntryPoint-Notice"]) for m in mine) == sorted(recorded.outbox_keys)


def test_the_interval_must_be_positive(store: RecordStore) -> None:
    with pytest.raises(ValueError, match="positive"):
        OutboxSweep(store, SmtpMailer.from_url("smtp://127.0.0.1:25"), interval=0)


def test_the_interval_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from workers.settings import Settings

    assert Settings().outbox_sweep_interval == 60.0
    monkeypatch.setenv("ENTRYPOINT_OUTBOX_SWEEP_INTERVAL", "5")
    assert Settings().outbox_sweep_interval == 5.0
