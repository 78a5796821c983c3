"""``entrypoint cohort start|status|approve|run-matching|report``: a coordinator runs an intake."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from domain.errors import problems
from workers.commands.common import RPC_TIMEOUT, note_without_worker, require_worker, temporal_client
from workers.errors import EXIT_REFUSED, CommandError, Refused
from workers.rendering import localize, when
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
        "OUT_DIR/cohort-ID.json and OUT_DIR/cohort-ID.html.",
    )
    report.add_argument("cohort_id", metavar="COHORT_ID")
    report.add_argument("--out-dir", type=Path, default=Path("var") / "reports", help="default: var/reports")
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


async def _report(args: argparse.Namespace) -> int:
    from activities.records.store import RecordStore
    from activities.reports.cohort import render_html, render_text
    from workers.cohorts import report_from_records

    async with RecordStore.from_url(settings().database_url) as store:
        report = await report_from_records(store, args.cohort_id)
    if report is None:
        raise CommandError(f"no partnerships recorded for cohort {args.cohort_id}")
    print(render_text(report))
    args.out_dir.mkdir(parents=True, exist_ok=True)
    stem = args.out_dir / f"cohort-{args.cohort_id}"
    stem.with_suffix(".json").write_text(report.model_dump_json(indent=2))
    stem.with_suffix(".html").write_text(render_html(report))
    print(f"\nwritten: {stem.with_suffix('.json')}, {stem.with_suffix('.html')}")
    return 0
