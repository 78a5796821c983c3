"""``entrypoint cohort report ID --csv DIR``: partnerships.csv and the report's tables as CSV (read back with the
csv module), the HTML report's generation date and partnerships table, no personal data anywhere, and a clear
one-line error when DIR cannot be written."""

from __future__ import annotations

import asyncio
import csv
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from activities.records.migrate import upgrade
from activities.records.store import RecordStore
from activities.reports.cohort import summary_rows
from activities.reports.tables import PARTNERSHIP_COLUMNS, report_tables
from domain import Contact
from domain.cohort.report import build_report
from domain.partnership import commands as c
from tests.domain import builders as b
from workers.cli import main
from workers.commands.cohort import CSV_TABLES
from workers.settings import settings

COHORT = "cohort-2026"
CANARIES = (
    "Canary Person",
    "canary@example.org",
    "CANARY-DIARY reflection",
    "CANARY-NOTES, of a meeting",
    "CANARY-COMMENT on the review",
    "CANARY-REASON for the coordinator",
    "CANARY-TOPIC to work on",
    "CANARY-WITHDRAWAL moved away",
)


def _completed() -> b.Run:
    run = b.awaiting_signatures()
    run.do(b.sign(b.MENTEE, topics=("CANARY-TOPIC to work on",)), at=b.T0 + 2 * b.DAY)
    run.do(b.sign(b.MENTOR))
    run.do(c.LogMeeting(minutes=90, topics=("cv",), notes="CANARY-NOTES, of a meeting"), at=run.now + 20 * b.DAY)
    run.do(c.AddDiaryEntry(reflection="CANARY-DIARY reflection", goals=("apply",)))
    run.tick_due()
    run.tick_due()  # nudged, then lapsed: the coordinator is needed
    run.do(b.coord(b.A.ACKNOWLEDGE, "CANARY-REASON for the coordinator"), at=run.now + b.DAY)
    agreement = run.state.agreement
    assert agreement is not None and agreement.ends_on is not None
    run.tick(agreement.ends_on)
    mentee_review = c.SubmitClosingReview(
        party=b.MENTEE, rating=5, outcome=c.MenteeOutcome.EMPLOYED_IN_FIELD, comments="CANARY-COMMENT on the review"
    )
    run.do(mentee_review, at=run.now + b.DAY)
    run.do(b.review(b.MENTOR, 4))
    return run


def _withdrawn() -> b.Run:
    run = b.active()
    run.do(b.withdraw(b.MENTEE, "CANARY-WITHDRAWAL moved away"), at=run.now + b.DAY)
    return run


@pytest.fixture
async def records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[dict[str, b.Run]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'records.db'}"
    await upgrade(url)
    monkeypatch.setenv("ENTRYPOINT_DATABASE_URL", url)
    monkeypatch.setenv("ENTRYPOINT_TIMEZONE", "Europe/Helsinki")
    settings.cache_clear()
    runs = {"partnership-cohort-2026-a": _completed(), "partnership-cohort-2026-b": _withdrawn()}
    runs["partnership-cohort-2026-c"] = b.awaiting_match()
    async with RecordStore.from_url(url) as store:
        await store.register_person(b.MENTEE_ID, "mentee", CANARY_CONTACT)  # in the registry, never in a report
        for pid, run in runs.items():
            await store.append(pid, 0, run.log)
    yield runs
    settings.cache_clear()


CANARY_CONTACT = Contact(name="Canary Person", email="canary@example.org", preferred_language="fi")


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


async def _run(argv: list[str]) -> int:
    return await asyncio.to_thread(main, argv)


async def test_partnerships_and_every_report_table_are_written_as_csv(
    records: dict[str, b.Run], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, exports = tmp_path / "reports", tmp_path / "exports" / "2026"  # made, parents and all
    assert await _run(["cohort", "report", COHORT, "--out-dir", str(out), "--csv", str(exports)]) == 0
    printed = capsys.readouterr().out
    assert f"CSV files in {exports}: partnerships.csv, summary.csv" in printed
    assert sorted(p.name for p in exports.iterdir()) == sorted(f"{n}.csv" for n in ("partnerships", *CSV_TABLES))

    raw = (exports / "partnerships.csv").read_bytes()
    assert raw.count(b"\r\n") == 4 and b"\n" not in raw.replace(b"\r\n", b"")  # RFC 4180 line ends
    with (exports / "partnerships.csv").open(encoding="utf-8", newline="") as file:
        assert tuple(next(csv.reader(file))) == PARTNERSHIP_COLUMNS
    rows = {row["partnership_id"]: row for row in _read(exports / "partnerships.csv")}
    assert list(rows) == sorted(records)
    done, left, waiting = rows.values()
    assert (done["stage"], left["stage"], waiting["stage"]) == ("COMPLETED", "WITHDRAWN", "AWAITING_MATCH")
    state = records["partnership-cohort-2026-a"].state
    assert done["meetings_held"] == "1" and done["meeting_hours"] == "1.5" and done["total_hours"] == "1.5"
    assert done["diary_entries"] == "1" and done["lapses"] == "2" and done["interventions"] == "1"
    assert done["mentee_rating"] == "5" and done["mentor_rating"] == "4" and done["outcome"] == "employed_in_field"
    assert state.agreement is not None and state.agreement.starts_on is not None
    assert done["starts_on"] == state.agreement.starts_on.isoformat(timespec="seconds")
    assert done["mentee_id"] == state.mentee_id and done["mentor_id"] == state.mentor_id
    assert done["attention"] == "" and done["attention_raised"] == "2"
    first, second = done["attention_history"].split("; ")
    assert first.startswith("MEETING_LAPSED raised 20") and first.endswith("by attention_acknowledged")
    assert "by meeting_lapsed, cleared" in first and second.endswith("by programme_ended")
    assert b'"MEETING_LAPSED raised' in raw  # a field with a comma is quoted
    assert waiting["starts_on"] == "" and waiting["meetings_held"] == "0" and waiting["outcome"] == ""

    by_stage = {row["stage"]: row["partnerships"] for row in _read(exports / "by_stage.csv")}
    assert by_stage == {"AWAITING_MATCH": "1", "COMPLETED": "1", "WITHDRAWN": "1"}
    summary = {row["measure"]: row["value"] for row in _read(exports / "summary.csv")}
    assert summary["partnerships"] == "3" and summary["closing reviews received"] == "2"
    history = _read(exports / "attention_history.csv")
    assert [(r["partnership_id"], r["attention"], r["cleared_by"]) for r in history] == [
        ("partnership-cohort-2026-a", "MEETING_LAPSED", "attention_acknowledged"),
        ("partnership-cohort-2026-a", "MEETING_LAPSED", "programme_ended"),
    ]
    assert _read(exports / "outcomes.csv") == [{"outcome": "employed_in_field", "mentees": "1"}]
    assert {r["band"]: r["pairs"] for r in _read(exports / "hours.csv")} == {"below": "2", "within": "0", "above": "0"}

    for path in [*exports.iterdir(), *out.iterdir()]:
        text = path.read_text(encoding="utf-8")
        assert not [canary for canary in CANARIES if canary in text], path.name


async def test_the_html_report_has_its_generation_date_and_a_table_of_the_partnerships(
    records: dict[str, b.Run], tmp_path: Path
) -> None:
    out = tmp_path / "reports"
    assert await _run(["cohort", "report", COHORT, "--out-dir", str(out)]) == 0
    page = (out / f"cohort-{COHORT}.html").read_text(encoding="utf-8")
    assert "<p>Generated 20" in page and "(Europe/Helsinki)" in page
    assert "<h2>Partnerships (3)</h2>" in page and "<th>attention_history</th>" in page
    assert "<td>partnership-cohort-2026-b</td><td>cohort-2026</td>" in page
    data = json.loads((out / f"cohort-{COHORT}.json").read_text())
    assert data["partnerships"] == 3
    assert not (tmp_path / "exports").exists()  # no CSV unless asked for


@pytest.mark.parametrize("where", ["a-file", "a-file/below"])
async def test_a_csv_dir_that_cannot_be_written_is_one_line_and_exit_1(
    records: dict[str, b.Run], tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    target = tmp_path / where
    assert await _run(["cohort", "report", COHORT, "--out-dir", str(tmp_path / "r"), "--csv", str(target)]) == 1
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert f"cannot write CSV files to {target}" in captured.err
    assert captured.out == ""  # refused before anything was computed or written


def test_the_csv_tables_are_the_reports_tables() -> None:
    report = build_report(COHORT, [b.completed().state])
    assert [t.name for t in report_tables(report, summary_rows(report))] == list(CSV_TABLES)
