"""``entrypoint mentors import|list|withdraw`` and ``entrypoint institutions import``: the mentor pool and the
partner institutions in the records database.

Imports validate every row with the domain's models: bad rows are reported with their line and reason and
left out, good rows are stored (exit status 1 when any row was bad). Names and e-mail addresses go to the
people registry and are never printed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter, ValidationError

from domain import Contact, Institution, MentorProfile
from domain.people import Id
from workers.commands.matching import (
    MENTOR_LISTS,
    Record,
    describe,
    problems_text,
    read_records,
    required_fields,
    validate,
)
from workers.errors import CommandError
from workers.settings import settings

if TYPE_CHECKING:
    from activities.records import RecordStore

MENTOR_FILE = """\
The file is JSON (a list of objects) or CSV (a header row; list fields separated by ';'). Fields:
mentor_id, organisation_id, sector (private|public|third), expertise, interests, languages, capacity (1-3,
default 1), conflicts (institution or organisation ids the mentor declares a conflict of interest with),
and optionally cohorts (ids the mentor is available for), name, email and preferred_language (en, fi or
sv: the language of the mentor's e-mails; default en) (or, in JSON, contact: {name, email,
preferred_language}), which go to the people registry only. A mentor already in the pool is updated (a
preferred_language left empty keeps the one stored); a withdrawn one stays withdrawn."""

INSTITUTION_FILE = """\
The file is JSON (a list of objects) or CSV (a header row). Fields: institution_id, name, partner (true or
false, default true). An institution already registered is updated."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    mentors = subparsers.add_parser(
        "mentors", help="the mentor pool: import, list, withdraw", description="The mentor pool."
    )
    sub = mentors.add_subparsers(dest="mentors_command", metavar="COMMAND", required=True)

    importing = sub.add_parser(
        "import",
        help="add or update mentors from a JSON or CSV file",
        description="Add mentors to the pool or update them. Every row is checked; bad rows are reported "
        "with their line number and reason and skipped, good rows are stored. Exit status 1 when any row "
        "was bad, 0 otherwise.\n\n" + MENTOR_FILE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Example: entrypoint mentors import mentors.csv --cohort 2026-spring",
    )
    importing.add_argument("file", type=Path, metavar="FILE")
    importing.add_argument("--cohort", metavar="COHORT", help="make every imported mentor available for this cohort")
    importing.set_defaults(handler=import_mentors)

    listing = sub.add_parser(
        "list",
        help="list the pool (no personal data)",
        description="List the mentors in the pool by id: organisation, sector, capacity, languages, expertise "
        "and cohorts; with --cohort only those available for it, and how many of their slots the cohort's "
        "partnerships already use. Names and e-mail addresses are never shown.",
    )
    listing.add_argument("--cohort", metavar="COHORT", help="only mentors available for this cohort")
    listing.add_argument("--withdrawn", action="store_true", help="include withdrawn mentors")
    listing.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    listing.set_defaults(handler=list_mentors)

    withdraw = sub.add_parser(
        "withdraw",
        help="take a mentor out of the pool",
        description="Take a mentor out of the pool: they are no longer offered in matching rounds (their "
        "record is kept). Partnerships they are already in are not changed: for those, send the "
        "partnership a withdraw signal (party mentor), or a coordinator rematch.",
    )
    withdraw.add_argument("mentor_id", metavar="MENTOR_ID")
    withdraw.set_defaults(handler=withdraw_mentor)

    institutions = subparsers.add_parser(
        "institutions", help="partner institutions: import", description="Partner institutions."
    )
    isub = institutions.add_subparsers(dest="institutions_command", metavar="COMMAND", required=True)
    iimport = isub.add_parser(
        "import",
        help="add or update institutions from a JSON or CSV file",
        description="Register institutions (screening accepts mentees of partner institutions only). Bad "
        "rows are reported with their line number and reason and skipped, good rows are stored. Exit status "
        "1 when any row was bad, 0 otherwise.\n\n" + INSTITUTION_FILE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    iimport.add_argument("file", type=Path, metavar="FILE")
    iimport.set_defaults(handler=import_institutions)


@asynccontextmanager
async def _store() -> AsyncIterator[RecordStore]:
    from sqlalchemy.exc import SQLAlchemyError

    from activities.records.engine import display_url
    from workers.commands.records import open_store

    try:
        async with open_store() as store:
            yield store
    except (SQLAlchemyError, OSError) as error:
        raise CommandError(
            f"cannot use the records database {display_url(settings().database_url)} ({type(error).__name__}); "
            "is it reachable?"
        ) from None


def _report(path: Path, imported: int, bad: list[tuple[int, str]]) -> int:
    if bad:
        print(problems_text(path, sorted(bad)), file=sys.stderr)
    print(f"imported {imported}, rejected {len(bad)}")
    return 1 if bad else 0


def _contact(record: Record) -> Contact | None:
    """The row's contact data (name and email columns, or a JSON contact object), or None when it has none."""
    values = record.values.get("contact")
    if values is None:
        values = {key: record.values[key] for key in CONTACT_COLUMNS if key in record.values}
    if not values:
        return None
    if not isinstance(values, dict):
        raise ValueError("contact: expected an object with name and email")
    if not values.get("name"):
        given = "an email address" if values.get("email") else "a preferred_language"
        raise ValueError(f"contact: a name is needed with {given}")
    if isinstance(values.get("preferred_language"), str):
        values = {**values, "preferred_language": values["preferred_language"].strip().lower()}
    try:
        return Contact.model_validate(values)
    except ValidationError as error:
        raise ValueError("contact: " + describe(error)) from None


CONTACT_COLUMNS = ("name", "email", "preferred_language")
"""The columns of a mentor row that go to the people registry (a JSON row may give them as ``contact``)."""

_COHORT_IDS = TypeAdapter(list[Id])


def _cohorts(record: Record, extra: str | None) -> list[str]:
    given = record.values.get("cohorts") or []
    if isinstance(given, str):
        given = [given]
    cohorts = [*given, *([extra] if extra else [])]
    return _COHORT_IDS.validate_python(cohorts)


async def import_mentors(args: argparse.Namespace) -> int:
    from activities.records import PersonErased  # here: the records are imported only by commands that use them

    good, bad = validate(
        read_records(args.file, MENTOR_LISTS, required_fields(MentorProfile)),
        MentorProfile,
        ignored=(*CONTACT_COLUMNS, "contact", "cohorts"),
        key="mentor_id",
    )
    rows: list[tuple[Record, MentorProfile, Contact | None, list[str]]] = []
    for record, profile in good:
        try:
            rows.append((record, profile, _contact(record), _cohorts(record, args.cohort)))
        except ValidationError as error:
            bad.append((record.line, "cohorts: " + describe(error)))
        except ValueError as error:
            bad.append((record.line, str(error)))
    imported, still_withdrawn = 0, []
    async with _store() as store:
        for record, profile, contact, cohorts in rows:
            try:
                await store.upsert_mentor(profile, contact, cohorts)
            except PersonErased:
                bad.append((record.line, f"{profile.mentor_id} was erased from the people registry; use a new id"))
                continue
            imported += 1
            stored = await store.get_mentor_record(profile.mentor_id)
            if stored is not None and stored.withdrawn_at is not None:
                still_withdrawn.append(profile.mentor_id)
    for mentor_id in still_withdrawn:
        print(f"note: {mentor_id} is withdrawn and stays out of the pool")
    return _report(args.file, imported, bad)


async def import_institutions(args: argparse.Namespace) -> int:
    good, bad = validate(
        read_records(args.file, required=required_fields(Institution)), Institution, key="institution_id"
    )
    async with _store() as store:
        for _, institution in good:
            await store.upsert_institution(institution)
    return _report(args.file, len(good), bad)


def _table(rows: list[list[str]], header: list[str]) -> str:
    from workers.commands.outbox import table

    return table(rows, header)


async def list_mentors(args: argparse.Namespace) -> int:
    async with _store() as store:
        records = await store.list_mentor_records(args.cohort, include_withdrawn=args.withdrawn)
        load = await store.mentor_load(args.cohort) if args.cohort else {}
    if args.json:
        for r in records:
            line: dict[str, Any] = r.profile.model_dump(mode="json")
            line |= {"cohorts": list(r.cohorts), "withdrawn_at": r.withdrawn_at.isoformat() if r.withdrawn_at else None}
            if args.cohort:
                line["used"] = load.get(r.profile.mentor_id, 0)
            print(json.dumps(line, ensure_ascii=False, sort_keys=True))
        return 0
    if not records:
        print("no mentors in the pool" + (f" available for {args.cohort}" if args.cohort else ""))
        return 0
    header = ["MENTOR", "ORGANISATION", "SECTOR", "CAPACITY", "LANGUAGES", "EXPERTISE", "COHORTS", "WITHDRAWN"]
    if args.cohort:
        header.insert(4, "USED")
    rows = []
    for r in records:
        p = r.profile
        row = [
            p.mentor_id,
            p.organisation_id,
            p.sector.value,
            str(p.capacity),
            ",".join(p.languages) or "-",
            "; ".join(p.expertise) or "-",
            ",".join(r.cohorts) or "-",
            r.withdrawn_at.strftime("%Y-%m-%d") if r.withdrawn_at else "",
        ]
        if args.cohort:
            row.insert(4, str(load.get(p.mentor_id, 0)))
        rows.append(row)
    print(_table(rows, header))
    withdrawn = sum(1 for r in records if r.withdrawn_at)
    print(f"\n{len(records)} mentor(s)" + (f", {withdrawn} withdrawn" if withdrawn else ""))
    return 0


async def withdraw_mentor(args: argparse.Namespace) -> int:
    async with _store() as store:
        before = await store.get_mentor_record(args.mentor_id)
        if before is None:
            raise CommandError(f"no mentor {args.mentor_id} in the pool")
        await store.withdraw_mentor(args.mentor_id)
    if before.withdrawn_at is not None:
        print(f"mentor {args.mentor_id} was already withdrawn on {before.withdrawn_at:%Y-%m-%d}")
        return 0
    print(
        f"mentor {args.mentor_id} withdrawn from the pool; partnerships they are already in are unchanged "
        "(send those a withdraw signal with party mentor, or intervene ... rematch)"
    )
    return 0
