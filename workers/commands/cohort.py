"""``entrypoint cohort start|status|approve|run-matching|report``: a coordinator runs an intake."""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from domain.errors import problems
from workers.commands.common import RPC_TIMEOUT, note_without_worker, require_worker, temporal_client
from workers.errors import EXIT_REFUSED, CommandError, Refused
from workers.rendering import localize, when, zone
from workers.settings import settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = subparsers.add_parser("cohort", help="run a cohort: matching rounds, approval, report")
    sub = group.add_subparsers(dest="cohort_command", metavar="COMMAND", required=True)

    start = sub.add_parser(
        "start",
        help="start the Cohort workflow from a plan (JSON)",
        description="Start the Cohort workflow (id cohort-{cohort_id}) from a plan: cohort_id, coordinator_id, "
        "applications_close, matching_at, kickoff_at, programme_end (ISO 8601 with a time zone), auto_approve, "
        "gatherings [{gathering_id, kind, subject, starts_at, hours, place, capacity}], group_subjects_at.",
    )
    start.add_argument("file", type=Path, metavar="FILE")
    start.set_defaults(handler=_start)

    status = sub.add_parser("status", help="the cohort's stage and matching rounds")
    status.add_argument("cohort_id", metavar="COHORT_ID")
    status.set_defaults(handler=_status)

    approve = sub.add_parser(
        "approve",
        help="approve the matching round awaiting approval (optionally with pins and exclusions)",
        description="Approve the current matching round. With --pins or --exclusions (JSON lists of "
        '{"mentee_id": ..., "mentor_id": ...}) the round is first recomputed with them, then approved.',
    )
    approve.add_argument("cohort_id", metavar="COHORT_ID")
    approve.add_argument("--round", dest="round_id", help="the round id (default: the one awaiting approval)")
    approve.add_argument("--pins", type=Path, help="JSON file: pairs to match whatever the score")
    approve.add_argument("--exclusions", type=Path, help="JSON file: pairs never to match")
    approve.set_defaults(handler=_approve)

    rerun = sub.add_parser("run-matching", help="run another matching round (late applicants, rematches)")
    rerun.add_argument("cohort_id", metavar="COHORT_ID")
    rerun.add_argument("--reason", default="requested by a coordinator")
    rerun.set_defaults(handler=_run_matching)

    report = sub.add_parser(
        "report",
        help="the cohort report from the records: a table, plus JSON and HTML files",
        description="Compute the cohort report from the records database (stages, meetings per pair, hours "
        "against the 16-24 h target, lapses and interventions, ratings and outcomes); print it and write "
        "OUT_DIR/cohort-ID.json and OUT_DIR/cohort-ID.html (with its generation date, in ENTRYPOINT_TIMEZONE, "
        "and a table of the partnerships). With --csv, also write CSV files to DIR: partnerships.csv (one row "
        "per partnership: ids, stage, dates, meetings, hours, attention history, ratings, outcome) and one file "
        "per table of the report (" + ", ".join(f"{name}.csv" for name in CSV_TABLES) + "). CSV files are UTF-8 "
        "with a header row and RFC 4180 quoting; dates are ISO 8601 in UTC. No file holds personal data: no "
        "names, e-mail addresses, diary text, notes, comments or reasons.",
        epilog="Example: entrypoint cohort report 2026-spring --csv exports/2026-spring",
    )
    report.add_argument("cohort_id", metavar="COHORT_ID")
    report.add_argument("--out-dir", type=Path, default=Path("var") / "reports", help="default: var/reports")
    report.add_argument(
        "--csv",
        type=Path,
        metavar="DIR",
        help="also write partnerships.csv and the report's tables as CSV files to DIR (made if missing)",
    )
    report.set_defaults(handler=_report)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except OSError as error:
        raise CommandError(f"cannot read {path}: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise CommandError(f"{path} is not JSON: {error.msg} (line {error.lineno})") from None


async def _cohorts(need_worker: bool = True) -> Any:
    """The facade; with ``need_worker``, refused at once (exit 1) when no worker would answer."""
    from workers.cohorts import Cohorts

    client = await temporal_client()
    task_queue = settings().task_queue
    if need_worker:
        await require_worker(client, task_queue)
    else:
        await note_without_worker(client, task_queue)
    return Cohorts(client, task_queue)


def _unknown(error: Exception) -> CommandError:
    return CommandError(f"{error}; start it with `entrypoint cohort start PLAN.json`")


async def _start(args: argparse.Namespace) -> int:
    from domain.cohort import CohortPlan

    try:
        plan = CohortPlan.model_validate(_read_json(args.file))
    except ValidationError as error:
        raise CommandError(f"{args.file} is not a valid cohort plan: {problems(error)}") from None
    if plan.coordinator_id is None:
        raise CommandError(
            f"{args.file} is not a valid cohort plan: coordinator_id: the coordinator who gets "
            "the cohort's escalations is required"
        )
    from workers.cohorts import AlreadyExists

    cohorts = await _cohorts(need_worker=False)
    try:
        handle = await cohorts.start(plan)
    except AlreadyExists:
        raise Refused(
            f"cohort {plan.cohort_id} was already started; see it with `entrypoint cohort status {plan.cohort_id}` "
            "(a cohort id is used once)"
        ) from None
    print(f"started {handle.id}")
    print(
        f"  matching at {when(plan.matching_at)}, kickoff {when(plan.kickoff_at)}, "
        f"programme end {when(plan.programme_end)}"
    )
    return 0


async def _status(args: argparse.Namespace) -> int:
    from workers.cohorts import NotFound

    try:
        status = await (await _cohorts()).status(args.cohort_id, rpc_timeout=RPC_TIMEOUT)
    except NotFound as error:
        raise _unknown(error) from None
    print(f"Cohort {status.cohort_id}: {status.stage} ({localize(status.waiting_for)})")
    for r in status.rounds:
        print(
            f"  round {r.number} ({r.round_id}): {r.matched} matched, {r.unmatched} unmatched, "
            f"mean score {r.mean_score:.2f}, top-3 {r.top3_share:.0%}, "
            f"{'approved' if r.approved else 'awaiting approval'}, {r.delivered} delivered"
        )
    print(f"  kicked off: {'yes' if status.kicked_off else 'no'}; gatherings started: {status.gatherings_started}")
    if status.last_rejection is not None:  # malformed or unknown signals: nothing changed for them
        last = status.last_rejection
        when = f"{last.at:%Y-%m-%d %H:%M} UTC"
        print(f"  signals rejected: {status.rejections}; the last, {last.command} at {when}: {last.reason}")
    return 0


async def _approve(args: argparse.Namespace) -> int:
    from contract.cohort import MatchingApproval
    from workers.cohorts import NotFound, Rejected

    try:
        approval = MatchingApproval(
            round_id=args.round_id,
            pins=_read_json(args.pins) if args.pins else (),
            exclusions=_read_json(args.exclusions) if args.exclusions else (),
        )
    except ValidationError as error:
        raise CommandError(f"invalid pins or exclusions: {problems(error)}") from None
    try:
        status = await (await _cohorts()).approve(args.cohort_id, approval, rpc_timeout=RPC_TIMEOUT)
    except Rejected as rejection:
        print(f"refused: {rejection.message}", file=sys.stderr)
        return EXIT_REFUSED
    except NotFound as error:
        raise _unknown(error) from None
    current = status.rounds[-1]
    print(f"approved round {current.number}: {current.matched} matches are being delivered")
    return 0


async def _run_matching(args: argparse.Namespace) -> int:
    from workers.cohorts import NotFound, Rejected

    try:
        await (await _cohorts(need_worker=False)).run_matching(args.cohort_id, args.reason)
    except NotFound as error:
        raise _unknown(error) from None
    except Rejected as rejection:
        raise Refused(rejection.message) from None
    print("a new matching round was requested")
    return 0


CSV_TABLES = (
    "summary",
    "by_stage",
    "meetings_distribution",
    "hours",
    "outcomes",
    "open_attention",
    "attention_raised",
    "attention_history",
    "ratings",
)
"""The report's tables written as CSV besides partnerships.csv (``activities.reports.tables.report_tables``)."""


def _writable_dir(path: Path, what: str) -> Path:
    """``path`` as a directory this process can write to (made if missing), or a one-line error (exit 1)."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CommandError(f"cannot write {what} to {path}: {error.strerror or error}", 1) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise CommandError(f"cannot write {what} to {path}: permission denied", 1)
    return path


def _write(path: Path, text: str, what: str) -> None:
    """Write ``text`` to ``path`` whole or not at all (a temporary file renamed into place)."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        with partial.open("w", encoding="utf-8", newline="") as file:
            file.write(text)
        os.replace(partial, path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise CommandError(f"cannot write {what} {path}: {error.strerror or error}", 1) from None


def csv_text(header: tuple[str, ...], rows: tuple[tuple[str, ...], ...]) -> str:
    """RFC 4180: CRLF line ends, fields quoted when they hold a comma, a quote or a line break."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


async def _report(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from activities.records.store import RecordStore
    from activities.reports.cohort import render_html, render_text, summary_rows
    from activities.reports.tables import partnerships_table, report_tables
    from domain.cohort.report import build_report

    csv_dir = _writable_dir(args.csv, "CSV files") if args.csv is not None else None
    async with RecordStore.from_url(settings().database_url) as store:
        states = await store.list_states(args.cohort_id)
    if not states:
        raise CommandError(f"no partnerships recorded for cohort {args.cohort_id}")
    report = build_report(args.cohort_id, states)
    print(render_text(report))
    out_dir = _writable_dir(args.out_dir, "the report")
    stem = out_dir / f"cohort-{args.cohort_id}"
    generated = f"{when(datetime.now(UTC))} ({'UTC' if str(zone()) == 'UTC' else settings().timezone})"
    shown = partnerships_table(states, lambda moment: when(moment, empty=""))
    _write(stem.with_suffix(".json"), report.model_dump_json(indent=2), "the report")
    _write(stem.with_suffix(".html"), render_html(report, generated_at=generated, partnerships=shown), "the report")
    print(f"\nwritten: {stem.with_suffix('.json')}, {stem.with_suffix('.html')}")
    if csv_dir is not None:
        tables = [partnerships_table(states), *report_tables(report, summary_rows(report))]
        for table in tables:
            _write(csv_dir / f"{table.name}.csv", csv_text(table.header, table.rows), "the CSV file")
        print(f"CSV files in {csv_dir}: " + ", ".join(f"{table.name}.csv" for table in tables))
    return 0
