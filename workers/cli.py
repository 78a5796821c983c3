"""``entrypoint``: the one entry point, with subcommands. Each subcommand group lives in workers/commands/."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from workers.logging import configure
from workers.settings import settings

# Each module has ``register(subparsers)``; a parser's ``handler`` is ``async def (args) -> int``.
COMMAND_MODULES = (
    "workers.commands.db",
    "workers.commands.records",
    "workers.commands.worker",
    "workers.commands.partnerships",
    "workers.commands.cohort",
    "workers.commands.outbox",
    "workers.commands.matching",
    "workers.commands.pool",
    "workers.commands.simulate",
)

Handler = Callable[[argparse.Namespace], Coroutine[Any, Any, int]]


class CommandError(Exception):
    """A user error: printed as one line on stderr, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="entrypoint",
        description="EntryPoint Engine: durable six-month mentoring partnerships on Temporal.",
        epilog="Configuration comes from the environment: ENTRYPOINT_DATABASE_URL, TEMPORAL_ADDRESS, "
        "TEMPORAL_NAMESPACE, ENTRYPOINT_TASK_QUEUE, ENTRYPOINT_SMTP_URL, ENTRYPOINT_LOG_LEVEL.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module: Any = importlib.import_module(name)
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    configure(settings().log_level)
    try:
        return asyncio.run(handler(args))
    except CommandError as error:
        print(f"entrypoint: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
