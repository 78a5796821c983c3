"""``entrypoint simulate``: what if the programme ran another policy? The pure domain answers, no Temporal."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from domain.errors import problems
from domain.policy import Policy
from domain.simulation import (
    Behaviour,
    Outcome,
    SyntheticProgramme,
    behaviour_from_events,
    simulate,
    synthetic_behaviours,
)
from workers.errors import CommandError
from workers.settings import settings

ROWS: tuple[tuple[str, str], ...] = (
    ("pairs", "pairs"),
    ("nudges", "nudges and reminders"),
    ("lapses", "lapses (MEETING_LAPSED)"),
    ("escalations", "escalations to the coordinator"),
    ("completions", "completed"),
    ("ended_early", "ended early"),
    ("withdrawn", "withdrawn"),
    ("open", "still open at the horizon"),
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="policy what-ifs: replay a past cohort (or a synthetic one) through the domain under other policies",
        description="Replay how the pairs of a past cohort behaved (signing delays, meeting intervals, reviews, "
        "withdrawals, read from the records) — or a synthetic programme — through the pure domain under the "
        "cohort's own policy and under each --policy file (a JSON object of overrides, as an application's "
        '"policy": e.g. {"escalation_after": "P28D", "lapse_grace": "P10D"}), and print what each gives side by '
        "side: nudges, lapses, escalations, completions. People are assumed to act as they did whatever the "
        "policy; a coordinator answers an attention after --coordinator-delay (ends early when a signature is "
        "overdue, acknowledges the rest). Nothing is written; Temporal is not needed.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--cohort", metavar="COHORT_ID", help="replay this cohort's recorded behaviour")
    source.add_argument("--synthetic", type=int, metavar="PAIRS", help="a synthetic programme of PAIRS pairs")
    parser.add_argument(
        "--policy", type=Path, action="append", default=[], metavar="FILE", help="overrides (JSON); repeatable"
    )
    parser.add_argument("--seed", type=int, default=1, help="--synthetic: the generator's seed (default 1)")
    parser.add_argument(
        "--programme", type=Path, metavar="FILE", help="--synthetic: behaviour knobs (JSON), e.g. "
        '{"stops_meeting": 0.2, "never_signs": 0.05, "meeting_interval_days": 35}',
    )
    parser.add_argument(
        "--coordinator-delay", default="P7D", metavar="DURATION", help="how long a coordinator takes (default P7D)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(handler=_simulate)


def _load_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CommandError(f"{what} file not found: {path}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CommandError(f"{path} is not JSON: {error}") from None


def _policy(base: Policy, path: Path) -> Policy:
    overrides = _load_json(path, "policy")
    if not isinstance(overrides, dict):
        raise CommandError(f"{path}: a policy file holds one JSON object of overrides")
    try:
        return base.with_overrides(overrides)
    except ValidationError as error:
        raise CommandError(f"{path}: not a valid policy: {problems(error)}") from None


async def _recorded(cohort_id: str) -> tuple[list[Behaviour], Policy]:
    from workers.commands.records import open_store

    async with open_store() as store:
        states = await store.list_states(cohort_id)
        if not states:
            raise CommandError(f"no partnerships of cohort {cohort_id!r} in the records ({settings().database_url})")
        behaviours = []
        for state in states:
            log = await store.read_log(state.partnership_id)
            behaviour = behaviour_from_events(state.partnership_id, [stored.event for stored in log])
            if behaviour is not None:
                behaviours.append(behaviour)
        return behaviours, states[0].policy


async def _simulate(args: argparse.Namespace) -> int:
    try:
        delay = TypeAdapter(timedelta).validate_python(args.coordinator_delay)
    except ValidationError:
        raise CommandError(f"--coordinator-delay {args.coordinator_delay!r} is not a duration (e.g. P7D)") from None
    if args.cohort is not None:
        behaviours, base = await _recorded(args.cohort)
        baseline = f"cohort {args.cohort}'s policy"
    else:
        if args.synthetic < 1:
            raise CommandError("--synthetic needs at least one pair")
        knobs = SyntheticProgramme()
        if args.programme is not None:
            try:
                knobs = SyntheticProgramme.model_validate(_load_json(args.programme, "programme"))
            except ValidationError as error:
                raise CommandError(f"{args.programme}: {problems(error)}") from None
        behaviours = synthetic_behaviours(args.synthetic, seed=args.seed, programme=knobs)
        base = Policy()
        baseline = "the default policy"
    policies = [(baseline, base), *((path.stem, _policy(base, path)) for path in args.policy)]
    if not behaviours:
        raise CommandError("no pair of that cohort reached a match: there is nothing to replay")
    outcomes: list[tuple[str, Outcome]] = []
    for name, policy in policies:
        print(f"simulating {len(behaviours)} pairs under {name} ...", file=sys.stderr, flush=True)
        outcomes.append((name, await asyncio.to_thread(simulate, behaviours, policy, delay)))
    if args.json:
        print(json.dumps([{"policy": name, **outcome.model_dump()} for name, outcome in outcomes], indent=2))
    else:
        print(render(outcomes))
    return 0


def render(outcomes: list[tuple[str, Outcome]]) -> str:
    kinds = sorted({kind for _, outcome in outcomes for kind in outcome.by_attention})
    rows = [(label, [str(getattr(outcome, key)) for _, outcome in outcomes]) for key, label in ROWS]
    rows += [(f"  of which {kind}", [str(o.by_attention.get(kind, 0)) for _, o in outcomes]) for kind in kinds]
    head = ["", *(name for name, _ in outcomes)]
    width = [max(len(head[0]), *(len(label) for label, _ in rows))]
    width += [max(len(head[i + 1]), *(len(values[i]) for _, values in rows)) for i in range(len(outcomes))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(cells, width, strict=True))
        )

    return "\n".join([line(head), "  ".join("-" * w for w in width), *(line([label, *v]) for label, v in rows)])
