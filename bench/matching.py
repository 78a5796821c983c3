"""Benchmark 5b: matching a whole pool, optimal (``domain.matching.match``) against the greedy baseline.

Pools of M mentees and M/2 mentors of capacity 2 (so there is a slot for everyone), drawn from a seeded
random generator over realistic fields, interests, goals, languages, sectors and institutions, with a few
conflicts of interest and mentors who speak no English. Reports each solver's time, total score and
top-3 share (matched mentees whose mentor is among their three best feasible ones), and the optimum's
gain in total score over greedy. Then the same pool end to end through the command line,
``entrypoint matching run`` (start-up, reading and checking the JSON files, the solve, writing the
result): its wall time and CPU time (``cli_s``, ``cli_cpu_s``), and that it found the same total score.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import random
import resource
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import Result, emit, progress, scratch_dir

FIELDS = [
    "data science", "software engineering", "marine biology", "economics", "industrial design",
    "molecular biology", "social sciences", "mechanical engineering", "chemistry", "international business",
    "education", "architecture", "physics", "nursing", "law", "game design", "energy technology", "finance",
]  # fmt: skip
INTERESTS = [
    "machine learning", "start-ups", "sustainability", "public policy", "product management", "research",
    "entrepreneurship", "marketing", "health technology", "circular economy", "leadership", "user research",
    "data visualisation", "cybersecurity", "logistics", "consulting", "non-profit work", "design thinking",
]  # fmt: skip
GOALS = [
    "a job in my field", "build a professional network", "understand Finnish working life",
    "improve my CV", "prepare for interviews", "start a company", "find a thesis partner",
    "learn Finnish at work", "move into research", "lead a team",
]  # fmt: skip
INSTITUTIONS = ["uni-helsinki", "aalto", "hanken", "metropolia", "haaga-helia", "laurea", "arcada"]
LANGUAGES = [("en",), ("en", "fi"), ("en", "sv"), ("fi",), ("en", "fi", "sv")]


def pool(mentees: int, seed: int = 7) -> Any:
    from domain import DegreeLevel, MenteeProfile, MentorProfile, Sector
    from domain.matching import MatchingInput

    rng = random.Random(seed)
    sectors = list(Sector)
    levels = list(DegreeLevel)
    mentee_list = [
        MenteeProfile(
            mentee_id=f"m{i:05d}",
            degree_level=rng.choice(levels),
            institution_id=rng.choice(INSTITUTIONS),
            field=rng.choice(FIELDS),
            interests=tuple(rng.sample(INTERESTS, rng.randint(1, 4))),
            languages=rng.choices(LANGUAGES, weights=[5, 3, 1, 0.3, 1])[0],
            goals=tuple(rng.sample(GOALS, rng.randint(1, 3))),
            preferred_sector=rng.choice([*sectors, None]),
        )
        for i in range(mentees)
    ]
    mentor_list = [
        MentorProfile(
            mentor_id=f"r{j:05d}",
            organisation_id=f"org-{rng.randint(1, 200)}",
            sector=rng.choice(sectors),
            expertise=tuple(rng.sample(FIELDS, rng.randint(1, 3))),
            interests=tuple(rng.sample(INTERESTS, rng.randint(1, 5))),
            languages=rng.choices(LANGUAGES, weights=[3, 5, 1, 0.5, 1])[0],
            capacity=2,
            conflicts=(rng.choice(INSTITUTIONS),) if rng.random() < 0.05 else (),
        )
        for j in range(mentees // 2)
    ]
    return MatchingInput(mentees=mentee_list, mentors=mentor_list)


def _solve(solver: Any, inp: Any) -> tuple[float, float, Any]:
    began, cpu = time.perf_counter(), time.process_time()
    result = solver(inp)
    return time.perf_counter() - began, time.process_time() - cpu, result


def _command() -> list[str]:
    script = Path(sys.executable).parent / "entrypoint"
    return [str(script)] if script.exists() else [sys.executable, "-m", "workers.cli"]


async def _through_cli(inp: Any) -> tuple[float, float, float]:
    """``entrypoint matching run`` on the pool written as JSON files: (wall s, CPU s, total score)."""
    with scratch_dir() as directory:
        mentees, mentors, out = directory / "mentees.json", directory / "mentors.json", directory / "round.json"
        mentees.write_text(json.dumps([m.model_dump(mode="json") for m in inp.mentees]))
        mentors.write_text(json.dumps([m.model_dump(mode="json") for m in inp.mentors]))
        args = ["matching", "run", "--mentees", str(mentees), "--mentors", str(mentors), "--out", str(out)]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        began = time.perf_counter()
        process = await asyncio.create_subprocess_exec(
            *_command(), *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, env=dict(os.environ)
        )
        _, errors = await process.communicate()
        wall = time.perf_counter() - began
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if process.returncode != 0:
            raise RuntimeError(f"entrypoint matching run failed ({process.returncode}): {errors.decode()[-300:]}")
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return wall, cpu, float(json.loads(out.read_text())["summary"]["total_score"])


async def run(sizes: list[int]) -> list[Result]:
    results: list[Result] = []
    if importlib.util.find_spec("domain.matching") is None:
        return [emit(Result("matching", skipped="no domain.matching yet (match, greedy_match)"))]
    try:
        from domain.matching import greedy_match, match
    except ImportError as error:
        return [emit(Result("matching", skipped=f"domain.matching has no match/greedy_match yet ({error})"))]
    for size in sizes:
        progress(f"matching: {size} mentees, {size // 2} mentors of capacity 2")
        inp = pool(size)
        optimal_s, optimal_cpu, optimal = await asyncio.to_thread(_solve, match, inp)
        greedy_s, _, greedy = await asyncio.to_thread(_solve, greedy_match, inp)
        cli_s, cli_cpu, cli_score = await _through_cli(inp)
        o, g = optimal.summary, greedy.summary
        results.append(
            emit(
                Result(
                    "matching",
                    {"mentees": size, "mentors": size // 2, "capacity": 2},
                    {
                        "optimal_s": round(optimal_s, 2),
                        "optimal_cpu_s": round(optimal_cpu, 2),
                        "optimal_score": round(o.total_score, 1),
                        "optimal_top3": f"{o.top3_share:.1%}",
                        "optimal_matched": o.matched,
                        "greedy_s": round(greedy_s, 2),
                        "greedy_score": round(g.total_score, 1),
                        "greedy_top3": f"{g.top3_share:.1%}",
                        "greedy_matched": g.matched,
                        "gain": f"{(o.total_score / g.total_score - 1) if g.total_score else 0:+.1%}",
                        "cli_s": round(cli_s, 2),
                        "cli_cpu_s": round(cli_cpu, 2),
                        "cli_same_optimum": abs(cli_score - o.total_score) < 1e-6,
                    },
                    data={
                        "optimal": o.model_dump(),
                        "greedy": g.model_dump(),
                        "optimal_s": optimal_s,
                        "optimal_cpu_s": optimal_cpu,
                        "greedy_s": greedy_s,
                        "cli_s": cli_s,
                        "cli_cpu_s": cli_cpu,
                    },
                )
            )
        )
    return results
