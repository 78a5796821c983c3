"""Coordinator commands: ``partnerships list|show|start`` and ``intervene``."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from contract.partnership import PartnershipStatus
from domain.errors import problems
from domain.partnership.commands import CoordinatorActionKind
from domain.partnership.state import Stage
from workers.commands.common import temporal_client
from workers.errors import CommandError
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
        "institution_id, degree_level, field, interests, languages, goals, optional contact and policy).",
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
        "--until", help="date or date-time (ISO 8601): for reschedule, extend and an optional end of a pause"
    )
    intervene.set_defaults(handler=_intervene)


async def _facade() -> Any:
    from workers.partnerships import Partnerships

    return Partnerships(await temporal_client(), settings().task_queue)


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)) for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


async def _list(args: argparse.Namespace) -> int:
    facade = await _facade()
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
            r.last_meeting_at.strftime("%Y-%m-%d") if r.last_meeting_at else "-",
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
        status = await facade.status(args.partnership_id)
    except NotFound as error:
        raise CommandError(str(error)) from None
    if args.json:
        print(status.model_dump_json(indent=2))
        return 0
    print(render_status(status))
    return 0


def render_status(status: PartnershipStatus) -> str:
    lines = [
        f"Partnership {status.partnership_id}",
        f"  stage        {status.stage}" + (f"   ATTENTION: {status.attention}" if status.attention else ""),
        f"  now          {status.waiting_for}",
        f"  cohort       {status.cohort_id}   institution {status.institution_id}",
        f"  mentee       {status.mentee_id}   mentor {status.mentor_id or '-'}",
    ]
    if status.agreement:
        a = status.agreement
        signed = ", ".join(sorted(a.signatures)) or "nobody yet"
        lines.append(f"  agreement    topics: {', '.join(a.topics)}; signed by {signed}")
        if a.starts_on and a.ends_on:
            lines.append(f"               runs {a.starts_on:%Y-%m-%d} to {a.ends_on:%Y-%m-%d}")
    last = status.last_meeting_at.strftime("%Y-%m-%d") if status.last_meeting_at else "none yet"
    nxt = status.next_meeting_due.strftime("%Y-%m-%d") if status.next_meeting_due else "-"
    lines.append(f"  meetings     {status.meetings_held} held; last {last}; next due {nxt}")
    h = status.hours
    lines.append(
        f"  hours        {h.total:.1f} of the {h.target_min:.0f}-{h.target_max:.0f} h target "
        f"(meetings {h.meetings:.1f}, gatherings {h.gatherings:.1f})"
    )
    lines.append(f"  diary        {status.diary_entries} entries; gatherings attended {status.gatherings_attended}")
    if status.next_deadline:
        lines.append(
            f"  next timer   {status.next_deadline.waiting_for} at {status.next_deadline.at:%Y-%m-%d %H:%M} UTC"
        )
    if status.last_rejection:
        r = status.last_rejection
        lines.append(f"  last refused {r.command}: {r.reason}")
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

    facade = await _facade()
    try:
        handle = await facade.start(app)
    except AlreadyExists:
        raise CommandError(
            f"partnership {app.workflow_id} already exists (running or closed); a partnership id is used once: "
            "apply under another cohort or mentee id"
        ) from None
    print(f"started {handle.id}")
    return 0


def _parse_until(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--until {value!r} is not an ISO 8601 date or date-time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.isoformat()


async def _intervene(args: argparse.Namespace) -> int:
    from workers.partnerships import NotFound, Rejected

    payload: dict[str, Any] = {"action": args.action, "reason": args.reason}
    until = _parse_until(args.until)
    if until:
        payload["until"] = until
    facade = await _facade()
    try:
        status = await facade.update(args.partnership_id, "coordinator_action", payload)
    except Rejected as rejection:
        print(f"refused: {rejection.message}")
        return 1
    except (NotFound, ValueError) as error:
        raise CommandError(str(error)) from None
    print(f"accepted: {args.action}")
    print(render_status(status))
    return 0
