"""``entrypoint``: the one entry point, with subcommands. Each subcommand group lives in workers/commands/."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from workers.commands import (
    api,
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
from workers.errors import CommandError
from workers.logging import configure
from workers.settings import settings

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
    doctor,
    keys,
    codec,
    people,
    simulate,
)

Handler = Callable[[argparse.Namespace], Coroutine[Any, Any, int]]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="entrypoint",
        description="EntryPoint Engine: durable six-month mentoring partnerships on Temporal.",
        epilog="Configuration comes from the environment: ENTRYPOINT_DATABASE_URL, TEMPORAL_ADDRESS, "
        "TEMPORAL_NAMESPACE, ENTRYPOINT_TASK_QUEUE, ENTRYPOINT_SMTP_URL, ENTRYPOINT_LOG_LEVEL.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


__all__ = ["COMMAND_MODULES", "CommandError", "build_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    configure(settings().log_level)
    from activities.keys import KeyringError

    try:
        return asyncio.run(handler(args))
    except (CommandError, KeyringError) as error:
        print(f"entrypoint: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
