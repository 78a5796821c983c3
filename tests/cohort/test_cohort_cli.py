"""``entrypoint cohort report``: the report from the records, as a table, JSON and HTML."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from activities.records.migrate import upgrade
from activities.records.store import RecordStore
from tests.domain.builders import MENTEE, MENTOR, active, closing_review, review
from workers.cli import main
from workers.settings import settings


@pytest.fixture
async def records_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'records.db'}"
    await upgrade(url)
    monkeypatch.setenv("ENTRYPOINT_DATABASE_URL", url)
    settings.cache_clear()
    return url


async def test_the_report_is_printed_and_written_as_json_and_html(
    records_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    done = closing_review()
    done.do(review(MENTEE, 5, outcome="employed_in_field"), at=done.now)
    done.do(review(MENTOR, 4), at=done.now)
    async with RecordStore.from_url(records_url) as store:
        await store.append("partnership-cohort-2026-a", 0, done.log)
        await store.append("partnership-cohort-2026-b", 0, active().log)
    out_dir = tmp_path / "reports"

    assert await _run(["cohort", "report", "cohort-2026", "--out-dir", str(out_dir)]) == 0
    printed = capsys.readouterr().out
    assert "Cohort cohort-2026" in printed and "outcome employed_in_field" in printed
    data = json.loads((out_dir / "cohort-cohort-2026.json").read_text())
    assert data["partnerships"] == 2 and data["by_stage"] == {"ACTIVE": 1, "COMPLETED": 1}
    page = (out_dir / "cohort-cohort-2026.html").read_text()
    assert page.startswith("<!doctype html>") and "<svg" in page and "Partnerships by stage" in page


async def test_an_unknown_cohort_is_a_clear_error(records_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert await _run(["cohort", "report", "nobody"]) == 2
    assert "no partnerships recorded for cohort nobody" in capsys.readouterr().err


async def _run(argv: list[str]) -> int:
    import asyncio

    return await asyncio.to_thread(main, argv)
