"""The calendar feed: one pair's ICS feed made from the records' rows, as ``GET /v1/calendar/….ics`` makes it.

A cohort of G gatherings (20 places, 25 registrations each: 5 on the waitlist), the pair registered for one in
four of them: each feed folds every gathering's events (the cohort's, not only the pair's) and writes the
iCalendar text. The records' read itself (one snapshot query per feed) is not in this line.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bench.common import Result, emit, progress
from domain.gathering import GatheringPlan
from domain.gathering import commands as gc
from domain.gathering.events import event_json
from domain.gathering.rules import decide, evolve, initial_state
from domain.partnership.commands import GatheringKind
from gateway.calendar_store import FeedSource
from gateway.ics import build

PID = "partnership-bench-m-1"
NOW = datetime(2026, 12, 2, tzinfo=UTC)
REPEAT = 50


def _gathering(index: int) -> list[dict[str, Any]]:
    plan = GatheringPlan(
        cohort_id="bench",
        gathering_id=f"g{index}",
        kind=GatheringKind.GROUP,
        subject=f"Subject group {index}",
        starts_at=NOW + timedelta(days=7 + index),
        duration_hours=2,
        place="Helsinki",
        capacity=20,
    )
    state = initial_state(f"gathering-bench-g{index}")
    ours = [PID] if index % 4 == 0 else []
    rows = []
    commands: list[gc.Command] = [
        gc.Schedule(plan=plan),
        *(gc.Register(registrant_id=r) for r in [*ours, *_others(index)]),
    ]
    for command in commands:
        for event in decide(state, command, NOW):
            state = evolve(state, event)
            rows.append(event_json(event))
    return rows


def _others(index: int) -> list[str]:
    return [f"partnership-bench-m-{index}-{n}" for n in range(25 - (index % 4 == 0))]


def _source(gatherings: int) -> FeedSource:
    state = {
        "partnership_id": PID,
        "stage": "ACTIVE",
        "version": 9,
        "meetings_held": 3,
        "next_meeting_due": (NOW + timedelta(days=9)).isoformat(),
        "agreement": {
            "topics": ["CV"],
            "meeting_cadence": "P14D",
            "signing_due": NOW.isoformat(),
            "starts_on": NOW.isoformat(),
            "ends_on": (NOW + timedelta(days=180)).isoformat(),
        },
    }
    rows = {f"gathering-bench-g{i}": _gathering(i) for i in range(gatherings)}
    return FeedSource(partnership={"id": PID}, state=state, gatherings=rows)


def _timed(gatherings: int) -> dict[str, Any]:
    source = _source(gatherings)
    zone = ZoneInfo("Europe/Helsinki")
    began = time.perf_counter()
    cpu = time.process_time()
    for _ in range(REPEAT):
        feed = build(source, NOW, zone)
    wall = (time.perf_counter() - began) / REPEAT
    return {
        "ms_per_feed": round(wall * 1000, 2),
        "cpu_ms_per_feed": round((time.process_time() - cpu) / REPEAT * 1000, 2),
        "events": feed.count(b"BEGIN:VEVENT"),
        "bytes": len(feed),
    }


async def run(sizes: list[int]) -> list[Result]:
    results = []
    for gatherings in sizes:
        progress(f"calendar feed: a cohort of {gatherings} gatherings, 25 registrations each")
        metrics = await asyncio.to_thread(_timed, gatherings)
        results.append(
            emit(
                Result(
                    "calendar_feed",
                    {"gatherings": gatherings},
                    metrics,
                    notes=[f"mean of {REPEAT} feeds; folding the cohort's gathering events and writing the ICS"],
                )
            )
        )
    return results
