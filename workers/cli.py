"""``entrypoint``: the one entry point, with subcommands. Each subcommand group lives in workers/commands/.

Exit status: 0 done; 1 refused or not possible now; 2 usage (see workers/errors.py). Every expected failure is
one line on stderr that says what to do next; ``--debug`` adds the traceback. When a command ends, its Temporal
clients and runtime are released before the event loop closes (workers/temporal.py says why).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import traceback
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from workers.commands import (
    api,
    calendar,
    codec,
    cohort,
    db,
    doctor,
    keys,
    matching,
    outbox,
    partnerships,
    people,
    pool,
    records,
    simulate,
    worker,
)
from workers.errors import EXIT_REFUSED, CommandError, Refused, explain
from workers.logging import configure
from workers.settings import settings

__all__ = ["COMMAND_MODULES", "CommandError", "Refused", "build_parser", "main"]

# Each module has ``register(subparsers)``; a parser's ``handler`` is ``async def (args) -> int``.
COMMAND_MODULES = (
    db,
    records,
    worker,
    partnerships,
    cohort,
    outbox,
    matching,
    pool,
    api,
    calendar,
    doctor,
    keys,
    codec,
    people,
    simulate,
)

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="entrypoint",
        description="EntryPoint Engine: durable six-month mentoring partnerships on Temporal.",
        epilog=EPILOG,
    )
    _global_options(parser, default=False)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(subparsers)
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
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    from workers.rendering import use_utc

    use_utc(args.utc)
    configure(settings().log_level)
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
