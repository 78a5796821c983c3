"""``entrypoint``: the one entry point, with subcommands. Each subcommand group lives in workers/commands/.

Exit status: 0 done; 1 refused or not possible now; 2 usage (see workers/errors.py). Every expected failure is
one line on stderr that says what to do next; ``--debug`` adds the traceback. When a command ends, its Temporal
clients and runtime are released before the event loop closes (workers/temporal.py says why).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import sys
import traceback
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from pydantic import ValidationError

from workers.errors import EXIT_REFUSED, EXIT_USAGE, CommandError, Refused, explain
from workers.logging import configure
from workers.settings import settings

__all__ = ["COMMANDS", "COMMAND_MODULES", "CommandError", "Refused", "build_parser", "command_module", "main"]

# Each module of workers/commands has ``register(subparsers)``; a parser's ``handler`` is ``async def (args) -> int``.
COMMANDS = {
    "db": "db",
    "records": "records",
    "worker": "worker",
    "setup": "worker",
    "dev": "worker",
    "partnerships": "partnerships",
    "intervene": "partnerships",
    "cohort": "cohort",
    "outbox": "outbox",
    "matching": "matching",
    "mentors": "pool",
    "institutions": "pool",
    "api": "api",
    "tokens": "api",
    "webhook-secret": "api",
    "calendar-feed": "calendar",
    "doctor": "doctor",
    "keys": "keys",
    "codec-server": "codec",
    "people": "people",
    "simulate": "simulate",
}
"""Each command → the module that registers it, in the order of the help (tests/cli/test_commands.py checks it
against what the modules register). A command line imports only the module of its command: ``matching run``
then never imports Temporal, SQLAlchemy or FastAPI, which other commands' modules do."""
COMMAND_MODULES = tuple(dict.fromkeys(COMMANDS.values()))


def command_module(name: str) -> Any:
    """``workers.commands.<name>``, imported."""
    return importlib.import_module(f"workers.commands.{name}")


Handler = Callable[[argparse.Namespace], Coroutine[Any, Any, int]]

EPILOG = (
    "Configuration comes from the environment: ENTRYPOINT_DATABASE_URL, TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, "
    "ENTRYPOINT_TASK_QUEUE, ENTRYPOINT_SMTP_URL, ENTRYPOINT_LOG_LEVEL, ENTRYPOINT_TIMEZONE (times are shown in "
    "it, default Europe/Helsinki; --utc for UTC). Exit status: 0 done; 1 refused or not possible now (the reason "
    "on stderr); 2 usage: a bad argument, file or id."
)


def _global_options(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument(
        "--debug", action="store_true", default=default, help="show the traceback of a failure (for bug reports)"
    )
    parser.add_argument(
        "--utc", action="store_true", default=default, help="show times in UTC instead of ENTRYPOINT_TIMEZONE"
    )


def _leaves(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                found.append(sub)
                found.extend(_leaves(sub))
    return found


def _named_module(argv: Sequence[str]) -> str | None:
    """The module of the command ``argv`` names, or None (none named, an unknown one, or an option such as
    ``--help`` before it: then the parser needs every command)."""
    for arg in argv:
        if arg not in ("--debug", "--utc"):
            return COMMANDS.get(arg)
    return None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser of every command; given the command line, only of the command it names (when it names one)."""
    named = None if argv is None else _named_module(argv)
    parser = argparse.ArgumentParser(
        prog="entrypoint",
        description="EntryPoint Engine: durable six-month mentoring partnerships on Temporal.",
        epilog=EPILOG,
    )
    _global_options(parser, default=False)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES if named is None else (named,):
        command_module(name).register(subparsers)
    # --debug and --utc anywhere on the line: `entrypoint partnerships show X --utc` as well as before it.
    for sub in _leaves(parser):
        _global_options(sub, default=argparse.SUPPRESS)
    return parser


def _fail(error: BaseException, debug: bool) -> int:
    """Print the one line (and with --debug the traceback) for a failure; its exit status."""
    if debug:
        traceback.print_exception(error, file=sys.stderr)
    from activities.keys import KeyringError

    if isinstance(error, KeyringError):
        error = CommandError(str(error))
    elif not isinstance(error, CommandError):
        error = explain(error, settings().temporal_address) or Refused(
            f"unexpected error ({type(error).__name__}: {str(error).splitlines()[0] if str(error) else '-'}); "
            "run again with --debug for the details"
        )
    print(f"entrypoint: {error}", file=sys.stderr)
    return error.exit_code if isinstance(error, CommandError) else EXIT_REFUSED


async def _run(handler: Handler, args: argparse.Namespace) -> int:
    try:
        try:
            return await handler(args)
        except Exception as error:
            return _fail(error, args.debug)
    finally:
        # The command's clients, then the runtime's threads, while the interpreter is fully alive. A command that
        # never connected (matching run, db, pool) never imported workers.temporal: nothing to release, and no
        # import of Temporal and the records (about a second) on its way out.
        if "workers.temporal" in sys.modules:
            sys.modules["workers.temporal"].release()


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    from workers.rendering import use_utc

    use_utc(args.utc)
    try:
        log_level = settings().log_level
    except ValidationError as error:  # a bad ENTRYPOINT_* / TEMPORAL_* variable: one line, not a traceback
        from domain.errors import problems  # here only: importing the domain costs every command line ~0.1 s

        print(f"entrypoint: invalid settings: {problems(error)}", file=sys.stderr)
        return EXIT_USAGE
    configure(log_level)
    if not args.debug:
        # Commands print what happened themselves; Alembic's INFO lines (a schema check before every
        # `outbox` or `records`) would only clutter stderr.
        logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        return asyncio.run(_run(handler, args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
