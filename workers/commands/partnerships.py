"""Coordinator commands: ``partnerships list|show|start`` and ``intervene``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from contract.partnership import AttentionView, PartnershipStatus
from domain.errors import problems
from domain.partnership.commands import CoordinatorActionKind
from domain.partnership.state import Stage
from workers.commands.common import RPC_TIMEOUT, note_without_worker, require_worker, temporal_client
from workers.errors import EXIT_REFUSED, CommandError, Refused
from workers.rendering import day, local, localize, table, when, zone
from workers.settings import settings

STAGES = [stage.value for stage in Stage]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = subparsers.add_parser("partnerships", help="list, show and start partnerships")
    sub = group.add_subparsers(dest="partnerships_command", metavar="COMMAND", required=True)

    listing = sub.add_parser(
        "list",
        help="the worklist: partnerships from Temporal visibility",
        description="List partnerships from Temporal visibility. --attention shows only those that need a "
        "coordinator (signature overdue, meeting lapsed, review overdue, mentor withdrew).",
    )
    listing.add_argument("--cohort", help="only this cohort id")
    listing.add_argument("--stage", choices=STAGES, type=str.upper, help="only this stage")
    listing.add_argument("--attention", action="store_true", help="only partnerships that need a coordinator")
    listing.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    listing.set_defaults(handler=_list)

    show = sub.add_parser("show", help="a partnership's status, readable by a person")
    show.add_argument("partnership_id", metavar="PARTNERSHIP_ID")
    show.add_argument("--json", action="store_true", help="the raw status as JSON")
    show.set_defaults(handler=_show)

    start = sub.add_parser(
        "start",
        help="start a partnership from an application JSON file",
        description="Start the Partnership workflow for one application (JSON: cohort_id, mentee_id, "
        "institution_id, degree_level, field, interests, languages, goals, optional contact {name, email, "
        "preferred_language: en, fi or sv; default en} and policy).",
    )
    start.add_argument("file", type=Path, metavar="FILE")
    start.set_defaults(handler=_start)

    intervene = subparsers.add_parser(
        "intervene",
        help="a coordinator's action on a partnership",
        description="Send a coordinator action as an update and print the accepted status or the reason it "
        "was refused. Actions: " + ", ".join(a.value for a in CoordinatorActionKind) + ".",
    )
    intervene.add_argument("partnership_id", metavar="PARTNERSHIP_ID")
    intervene.add_argument("action", choices=[a.value for a in CoordinatorActionKind], metavar="ACTION")
    intervene.add_argument("--reason", required=True, help="why (kept in the record)")
    intervene.add_argument(
        "--until",
        help="date or date-time (ISO 8601): for reschedule, extend and an optional end of a pause; without an "
        "offset it is taken in ENTRYPOINT_TIMEZONE (a date alone: its start)",
    )
    intervene.set_defaults(handler=_intervene)


async def _facade(need_worker: bool = True) -> Any:
    """The facade; with ``need_worker``, refused at once (exit 1) when no worker would answer."""
    from workers.partnerships import Partnerships

    client = await temporal_client()
    task_queue = settings().task_queue
    if need_worker:
        await require_worker(client, task_queue)
    return Partnerships(client, task_queue)


def _table(rows: list[list[str]], header: list[str]) -> str:
    return table(rows, header)


async def _list(args: argparse.Namespace) -> int:
    facade = await _facade(need_worker=False)  # visibility alone: no worker needed
    rows = [row async for row in facade.list(args.cohort, args.stage, args.attention)]
    if args.json:
        for row in rows:
            print(row.model_dump_json())
        return 0
    if not rows:
        print("no partnerships match")
        return 0
    header = ["PARTNERSHIP", "STAGE", "ATTENTION", "MENTEE", "MENTOR", "MEETINGS", "LAST MEETING", "WORKFLOW"]
    body = [
        [
            r.workflow_id,
            r.stage or "-",
            r.attention or "-",
            r.mentee_id or "-",
            r.mentor_id or "-",
            str(r.meetings_held if r.meetings_held is not None else "-"),
            day(r.last_meeting_at),
            r.status,
        ]
        for r in rows
    ]
    print(_table(body, header))
    print(f"\n{len(rows)} partnership(s)")
    return 0


async def _show(args: argparse.Namespace) -> int:
    from workers.partnerships import NotFound

    facade = await _facade()
    try:
        status = await facade.status(args.partnership_id, rpc_timeout=RPC_TIMEOUT)
    except NotFound as error:
        raise CommandError(f"{error}; `entrypoint partnerships list` shows the ids") from None
    if args.json:
        print(status.model_dump_json(indent=2))
        return 0
    print(render_status(status))
    return 0


TERMINAL = {"COMPLETED", "WITHDRAWN", "REJECTED", "ENDED_EARLY"}
CLEARED_BY = {
    "attention_acknowledged": "a coordinator (acknowledge)",
    "meeting_rescheduled": "a coordinator (reschedule)",
    "partnership_paused": "a coordinator (pause)",
    "rematch_requested": "a coordinator (rematch)",
    "partnership_ended_early": "a coordinator (end_early)",
    "partnership_completed": "the partnership's completion",
    "meeting_logged": "a logged meeting",
    "partnership_started": "both signatures",
    "match_proposed": "a new match",
    "programme_ended": "the end of the programme",
    "party_withdrew": "a withdrawal",
}
RAISED_BY = {
    "signature_overdue": "the signing deadline",
    "meeting_lapsed": "the meeting clock",
    "review_overdue": "the review deadline",
    "party_withdrew": "the mentor's withdrawal",
    "checkin_answered": "a check-in answer",
}


def attention_lines(history: Sequence[AttentionView]) -> list[str]:
    """The attention history, one line each, times in the display zone."""
    from domain.partnership.attention import describe
    from domain.partnership.state import AttentionRecord

    lines = []
    for view in history:
        record = AttentionRecord.model_validate(view.model_dump())
        raised = f"raised {when(record.raised_at)} by {RAISED_BY.get(record.raised_by, record.raised_by)}"
        line = f"{record.attention}: {describe(record, when)}; {raised}"
        if record.cleared_at is None:
            line += "; OPEN"
        else:
            by = CLEARED_BY.get(record.cleared_by or "", record.cleared_by or "?")
            line += f"; cleared {when(record.cleared_at)} by {by}"
            if record.cleared_reason:
                line += f" ({record.cleared_reason})"
        lines.append(line)
    return lines


def checkin_lines(status: PartnershipStatus, ended: bool) -> list[str]:
    """The check-in rounds, one line each (scores and yes/no only: a note is in the records)."""
    lines = []
    for r in status.checkins:
        answers = [
            f"{party} {a.score}/5, {'meeting as planned' if a.meeting_as_planned else 'NOT meeting as planned'}"
            for party, a in sorted(r.answers.items())
        ]
        line = f"round {r.round} asked {day(r.asked_at)}, due {day(r.due)}: " + ("; ".join(answers) or "no answers")
        if r.waiting_for:
            line += f"; waiting for {', '.join(r.waiting_for)}" + (" (nudged)" if r.nudged else "")
        lines.append(line + ("; LOW" if r.low else ""))
    if status.next_checkin_due and not ended:
        lines.append(f"next round {day(status.next_checkin_due)}")
    return [("  check-ins    " if i == 0 else "               ") + line for i, line in enumerate(lines)]


def render_status(status: PartnershipStatus) -> str:
    ended = status.stage in TERMINAL
    stage = f"  stage        {status.stage}"
    if ended and status.ended_reason:
        stage += f": {status.ended_reason}"
    if status.attention:
        stage += f"   ATTENTION: {status.attention}" + (
            f" ({status.attention_reason})" if status.attention_reason else ""
        )
    lines = [
        f"Partnership {status.partnership_id}",
        stage,
        f"  now          {localize(status.waiting_for)}",
        f"  cohort       {status.cohort_id}   institution {status.institution_id}",
        f"  mentee       {status.mentee_id}   mentor {status.mentor_id or '-'}",
    ]
    if status.agreement:
        a = status.agreement
        signed = ", ".join(sorted(a.signatures)) or "nobody yet"
        lines.append(f"  agreement    topics: {', '.join(a.topics)}; signed by {signed}")
        if a.starts_on and a.ends_on:
            lines.append(f"               runs {day(a.starts_on)} to {day(a.ends_on)}")
    last = when(status.last_meeting_at, empty="none yet")
    meetings = f"  meetings     {status.meetings_held} held; last {last}"
    if not ended:
        meetings += f"; next due {when(status.next_meeting_due)}"
    lines.append(meetings)
    h = status.hours
    lines.append(
        f"  hours        {h.total:.1f} of the {h.target_min:.0f}-{h.target_max:.0f} h target "
        f"(meetings {h.meetings:.1f}, gatherings {h.gatherings:.1f})"
    )
    lines.append(f"  diary        {status.diary_entries} entries; gatherings attended {status.gatherings_attended}")
    lines.extend(checkin_lines(status, ended))
    if status.next_deadline and not ended:
        lines.append(f"  next timer   {status.next_deadline.waiting_for} at {when(status.next_deadline.at)}")
    history = attention_lines(status.attention_history)
    if history:
        lines.append("  attention    " + history[0])
        lines.extend("               " + line for line in history[1:])
    if status.last_rejection:
        r = status.last_rejection
        lines.append(f"  last refused {r.command} at {when(r.at)}: {r.reason}")
    if status.summary:
        lines.append(f"  summary      {json.dumps(status.summary.model_dump(mode='json'))}")
    return "\n".join(lines)


async def _start(args: argparse.Namespace) -> int:
    from contract.partnership import Application

    try:
        app = Application.model_validate_json(args.file.read_text())
    except OSError as error:
        raise CommandError(f"cannot read {args.file}: {error.strerror}") from None
    except ValidationError as error:
        raise CommandError(f"{args.file} is not a valid application: {problems(error)}") from None
    from workers.partnerships import AlreadyExists

    facade = await _facade(need_worker=False)
    await note_without_worker(facade.client, facade.task_queue)
    try:
        handle = await facade.start(app)
    except AlreadyExists:
        raise Refused(
            f"partnership {app.workflow_id} was already started (one workflow per mentee and cohort); "
            f"see it with `entrypoint partnerships show {app.workflow_id}`"
        ) from None
    print(f"started {handle.id}")
    return 0


def parse_until(value: str | None) -> str | None:
    """An ISO 8601 date or date-time; without an offset it is a time in the display zone."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"--until {value!r} is not an ISO 8601 date or date-time (for example 2026-04-10 or "
            "2026-04-10T09:00:00+03:00)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone())
    return parsed.isoformat()


async def _intervene(args: argparse.Namespace) -> int:
    from workers.partnerships import NotFound, Rejected

    payload: dict[str, Any] = {"action": args.action, "reason": args.reason}
    until = parse_until(args.until)
    if until:
        payload["until"] = until
    try:
        facade = await _facade()
        facade.check("coordinator_action", payload)
    except ValueError as error:
        raise CommandError(str(error)) from None
    try:
        status = await facade.update(args.partnership_id, "coordinator_action", payload, rpc_timeout=RPC_TIMEOUT)
    except Rejected as rejection:
        print(f"refused: {rejection.message}", file=sys.stderr)
        return EXIT_REFUSED
    except NotFound as error:
        raise CommandError(f"{error}; `entrypoint partnerships list` shows the ids") from None
    print(f"accepted: {args.action}" + (f" (until {when(local(datetime.fromisoformat(until)))})" if until else ""))
    print(render_status(status))
    return 0
