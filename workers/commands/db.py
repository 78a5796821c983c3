"""``entrypoint db``: the records database schema."""

from __future__ import annotations

import argparse
import logging

from workers.settings import settings

DESCRIPTION = (
    "Manage the schema of the records database (event logs, read models, people registry, outbox). "
    "The database is ENTRYPOINT_DATABASE_URL: sqlite+aiosqlite:///path/to/file.db (default var/records.db) "
    "or postgresql+asyncpg://user@host/db."
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("db", help="manage the records database schema", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="db_command", metavar="SUBCOMMAND", required=True)

    upgrade = commands.add_parser(
        "upgrade",
        help="create or migrate the schema to the newest revision (safe to run again)",
        description="Bring the records database to the newest schema revision, in one transaction. "
        "Creates the SQLite file and its directory when missing. Running it again changes nothing.",
    )
    upgrade.add_argument(
        "--revision", default="head", help="migrate to this revision instead of the newest (default: head)"
    )
    upgrade.set_defaults(handler=run_upgrade)

    current = commands.add_parser(
        "current",
        help="show the schema revision of the database and the newest one available",
        description="Print the database's schema revision and the newest revision this version ships. "
        "Exit status 1 when the database is behind.",
    )
    current.set_defaults(handler=run_current)


def _quiet_alembic() -> None:
    # We print what happened ourselves; Alembic's INFO lines would only repeat it on stderr.
    logging.getLogger("alembic").setLevel(logging.WARNING)


async def run_upgrade(args: argparse.Namespace) -> int:
    from activities.records import migrate  # here, not at the top: every command's start-up would pay for it

    _quiet_alembic()
    result = await migrate.upgrade(settings().database_url, args.revision)
    print(result.describe())
    return 0


async def run_current(args: argparse.Namespace) -> int:
    from activities.records import migrate
    from activities.records.engine import display_url

    _quiet_alembic()
    url = settings().database_url
    revision, newest = await migrate.current(url), migrate.head()
    print(f"{display_url(url)}: revision {revision or '(none: not migrated)'}; newest available {newest}")
    return 0 if revision == newest else 1
