"""``entrypoint db`` and ``entrypoint records``, run through ``workers.cli.main`` against a temp SQLite file."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from activities.records import RecordStore
from tests.records.helpers import HEAD, Pair
from workers.cli import main
from workers.settings import settings


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "var" / "records.db"
    monkeypatch.setenv("ENTRYPOINT_DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    settings.cache_clear()
    yield path
    settings.cache_clear()


def _lifecycle(path: Path) -> Pair:
    async def run() -> Pair:
        async with RecordStore.from_url(f"sqlite+aiosqlite:///{path}") as store:
            pair = Pair(store)
            await pair.live_through()
            return pair

    return asyncio.run(run())


def test_db_upgrade_creates_the_schema_and_is_idempotent(database: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade"]) == 0
    out = capsys.readouterr().out
    assert f"migrated from an empty database to revision {HEAD}" in out and "0001: Initial schema" in out
    assert database.is_file()

    assert main(["db", "upgrade"]) == 0
    assert f"already at revision {HEAD}; nothing to do" in capsys.readouterr().out

    assert main(["db", "current"]) == 0
    assert f"revision {HEAD}; newest available {HEAD}" in capsys.readouterr().out


def test_db_current_on_an_empty_database_says_it_is_behind(database: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "current"]) == 1
    assert "not migrated" in capsys.readouterr().out


def test_records_commands_need_a_migrated_database(database: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["records", "verify"]) == 2
    assert "run `entrypoint db upgrade` first" in capsys.readouterr().err


def test_records_show_prints_the_log_as_json_lines(database: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade"]) == 0
    pair = _lifecycle(database)
    capsys.readouterr()

    assert main(["records", "show", pair.pid]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["version"] for line in lines] == list(range(1, pair.state.version + 1))
    assert set(lines[0]) == {"version", "type", "occurred_at", "recorded_at", "data"}
    assert lines[0]["type"] == "application_submitted" == lines[0]["data"]["type"]
    assert lines[0]["occurred_at"] == "2026-03-02T09:00:00+00:00"
    assert lines[-1]["type"] == "partnership_completed"
    [diary] = [line["data"] for line in lines if line["type"] == "diary_entry_added"]
    assert diary["reflection"] == "I learnt to pitch."  # opened

    assert main(["records", "show", pair.pid, "--sealed"]) == 0
    stored = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    [sealed] = [line["data"] for line in stored if line["type"] == "diary_entry_added"]
    assert sealed["reflection"].startswith("enc1:") and "pitch" not in json.dumps(stored)


def test_records_show_of_an_unknown_partnership_is_an_error(database: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade"]) == 0
    assert main(["records", "show", "p-nobody"]) == 2
    captured = capsys.readouterr()
    assert "no events recorded for partnership p-nobody" in captured.err


def test_records_verify_and_rebuild(database: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade"]) == 0
    pair = _lifecycle(database)
    other = _lifecycle(database)
    capsys.readouterr()

    assert main(["records", "verify"]) == 0
    out = capsys.readouterr().out
    assert f"checked 2 partnerships, {2 * pair.state.version} events" in out and "agrees" in out

    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE partnerships SET meetings_held = 99 WHERE id = ?", (pair.pid,))
    assert main(["records", "verify"]) == 1
    out = capsys.readouterr().out
    assert "1 disagreements in 1 partnerships" in out
    assert f"{pair.pid}:\n  - partnerships.meetings_held: expected 2, found 99" in out
    assert other.pid not in out

    assert main(["records", "rebuild", "--batch-size", "1"]) == 0
    captured = capsys.readouterr()
    assert "rebuilt 1/2 partnerships" in captured.err and "rebuilt 2/2 partnerships" in captured.err
    assert "rebuilt the read models of 2 partnerships" in captured.out

    assert main(["records", "verify"]) == 0


@pytest.mark.parametrize(
    "argv",
    [
        ["db", "--help"],
        ["db", "upgrade", "--help"],
        ["records", "--help"],
        ["records", "show", "--help"],
        ["records", "verify", "--help"],
        ["records", "rebuild", "--help"],
    ],
)
def test_every_subcommand_has_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: entrypoint " + argv[0]) and len(out.splitlines()) > 5
