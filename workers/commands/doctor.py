"""``entrypoint doctor``: workflows stuck on failing workflow tasks, and partnerships whose records lag."""

from __future__ import annotations

import argparse

from workers.errors import CommandError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="find stuck workflows and partnerships whose records lag their workflow",
        description="Describe every running workflow in Temporal: one whose workflow task keeps failing "
        "(attempt 2 or more) is reported as STUCK with the last failure's first line. Then ask every running "
        "partnership for its status and compare its version with the records database (a lag is looked at "
        "twice, --settle seconds apart). Exit status 0 when all is well, 1 when something is stuck or lags. "
        "Complements `entrypoint records verify`, which checks the records against themselves.",
    )
    parser.add_argument("--cohort", metavar="ID", help="only this cohort's partnerships (EpCohort)")
    parser.add_argument(
        "--settle", type=float, default=5.0, metavar="SECONDS", help="wait before re-checking a lag (default: 5)"
    )
    parser.add_argument("--no-records", action="store_true", help="only look for stuck workflows")
    parser.set_defaults(handler=run_doctor)


async def run_doctor(args: argparse.Namespace) -> int:
    from workers.commands.common import temporal_client
    from workers.commands.records import open_store
    from workers.doctor import diagnose, report

    if args.settle < 0:
        raise CommandError("--settle must be zero or more seconds")
    if args.cohort is not None and ("'" in args.cohort or "\\" in args.cohort):
        raise CommandError("--cohort: not a cohort id")
    client = await temporal_client()
    query = f"EpCohort='{args.cohort}'" if args.cohort else None
    if args.no_records:
        diagnosis = await diagnose(client, None, query=query, settle=args.settle)
    else:
        async with open_store() as store:
            diagnosis = await diagnose(client, store, query=query, settle=args.settle)
    print(report(diagnosis))
    return 0 if diagnosis.healthy else 1
