"""``entrypoint outbox`` and ``entrypoint outbox deliver``, run through ``workers.cli.main`` on a temp SQLite file."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from activities.records.migrate import upgrade
from activities.records.store import RecordStore
from domain import Contact
from tests.notifications.conftest import MailServer
from tests.notifications.seed import MENTOR, PERSONAL, Cast, record, seed_people
from tests.smtp import free_port
from workers.cli import main
from workers.settings import settings


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'records.db'}"
    monkeypatch.setenv("ENTRYPOINT_DATABASE_URL", url)
    monkeypatch.delenv("ENTRYPOINT_SMTP_URL", raising=False)
    monkeypatch.setattr("workers.cli.configure", lambda level: None)  # leave structlog as the tests set it
    settings.cache_clear()
    yield url
    settings.cache_clear()


def last_line(capsys: pytest.CaptureFixture[str]) -> str:
    """The command's own last line (structlog, unconfigured here, also prints to stdout)."""
    return capsys.readouterr().out.strip().splitlines()[-1]


def smtp(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("ENTRYPOINT_SMTP_URL", url)
    settings.cache_clear()


def seeded(url: str) -> Cast:
    """A started partnership whose mentee has no e-mail address: 3 notices for her, 2 for the mentor."""

    async def run() -> Cast:
        await upgrade(url)
        async with RecordStore.from_url(url) as store:
            cast = Cast.new()
            await seed_people(store, cast, mentee=Contact(name="Priya Raman"))
            await record(store, cast.started())
            return cast

    return asyncio.run(run())


def test_outbox_lists_notifications_without_contact_data(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    cast = seeded(database)
    assert main(["outbox"]) == 0
    out = capsys.readouterr().out
    header, rule, *rows = out.splitlines()[:7]
    assert header.split() == ["KEY", "TEMPLATE", "ROLE", "RECIPIENT", "STATUS", "ATTEMPTS", "CREATED", "REASON"]
    assert set(rule) == {"-", " "}
    assert rows[0].split()[:6] == [
        cast.key(2, "mentee"),
        "application_accepted",
        "mentee",
        cast.mentee_id,
        "pending",
        "0",
    ]
    assert cast.key(6, "mentor") in out and "mentoring_toolkit" in out
    assert out.rstrip().endswith("5 notification(s): 5 pending, 0 sent, 0 undeliverable")
    assert not any(secret in out for secret in PERSONAL)

    assert main(["outbox", "list", "--status", "sent"]) == 0
    assert capsys.readouterr().out.strip() == "the outbox has no notifications that match"


def test_outbox_deliver_sends_and_the_listing_shows_the_outcome(
    database: str, mail_server: MailServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cast = seeded(database)
    other = seeded(database)
    smtp(monkeypatch, mail_server.url)

    assert main(["outbox", "deliver", "--partnership", cast.pid]) == 0
    assert last_line(capsys) == "sent 2, undeliverable 3, still pending 0"
    assert [rcpts for _, rcpts in mail_server.envelopes] == [[str(MENTOR.email)]] * 2

    assert main(["outbox", "--status", "undeliverable", "--partnership", cast.pid]) == 0
    out = capsys.readouterr().out
    assert out.count(f"person {cast.mentee_id} has no e-mail address") == 3
    assert other.pid not in out

    assert main(["outbox", "--partnership", other.pid, "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {row["status"] for row in rows} == {"pending"} and len(rows) == 5  # the other partnership was left

    assert main(["outbox", "deliver"]) == 0  # everything that is pending
    assert last_line(capsys) == "sent 2, undeliverable 3, still pending 0"
    assert main(["outbox", "deliver"]) == 0
    assert last_line(capsys) == "sent 0, undeliverable 0, still pending 0"
    assert len(mail_server.messages) == 4


def test_outbox_deliver_needs_a_usable_smtp_url(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seeded(database)
    assert main(["outbox", "deliver"]) == 2
    assert "ENTRYPOINT_SMTP_URL is not set, so nothing can be sent" in capsys.readouterr().err

    smtp(monkeypatch, "smtp://user:hunter2@mail.example.org:25?from=nobody")
    assert main(["outbox", "deliver"]) == 2
    err = capsys.readouterr().err
    assert "ENTRYPOINT_SMTP_URL: bad SMTP URL: from= must be an e-mail address" in err
    assert "hunter2" not in err


def test_outbox_deliver_with_the_mail_server_down_keeps_everything_pending(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cast = seeded(database)
    smtp(monkeypatch, f"smtp://127.0.0.1:{free_port()}?from=entrypoint@example.org")
    assert main(["outbox", "deliver"]) == 2
    err = capsys.readouterr().err
    assert "cannot talk to the mail server at smtp://127.0.0.1:" in err and "stays pending" in err
    assert main(["outbox", "--partnership", cast.pid, "--status", "pending"]) == 0
    assert "3 pending" in capsys.readouterr().out  # the mentee's first two were settled before the failure


def test_outbox_needs_a_migrated_database(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["outbox"]) == 2
    assert "run `entrypoint db upgrade` first" in capsys.readouterr().err


def test_outbox_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["outbox", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "Without ENTRYPOINT_SMTP_URL the worker sends nothing" in " ".join(out.split())
    assert "deliver pending notifications now" in out
