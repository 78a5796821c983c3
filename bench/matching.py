"""Benchmark 5b: matching a whole pool, optimal (``domain.matching.match``) against the greedy baseline.

Pools of M mentees and M/2 mentors of capacity 2 (so there is a slot for everyone), drawn from a seeded
random generator over realistic fields, interests, goals, languages, sectors and institutions, with a few
conflicts of interest and mentors who speak no English. Reports each solver's time, total score and
top-3 share (matched mentees whose mentor is among their three best feasible ones), and the optimum's
gain in total score over greedy.
"""

from __future__ import annotations

import asyncio
import importlib.util
import random
import time
from typing import Any

from bench.common import Result, emit, progress

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


def _solve(solver: Any, inp: Any) -> tuple[float, Any]:
    began = time.perf_counter()
    result = solver(inp)
    return time.perf_counter() - began, result


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
        optimal_s, optimal = await asyncio.to_thread(_solve, match, inp)
        greedy_s, greedy = await asyncio.to_thread(_solve, greedy_match, inp)
        o, g = optimal.summary, greedy.summary
        results.append(
            emit(
                Result(
                    "matching",
                    {"mentees": size, "mentors": size // 2, "capacity": 2},
                    {
                        "optimal_s": round(optimal_s, 2),
                        "optimal_score": round(o.total_score, 1),
                        "optimal_top3": f"{o.top3_share:.1%}",
                        "optimal_matched": o.matched,
                        "greedy_s": round(greedy_s, 2),
                        "greedy_score": round(g.total_score, 1),
                        "greedy_top3": f"{g.top3_share:.1%}",
                        "greedy_matched": g.matched,
                        "gain": f"{(o.total_score / g.total_score - 1) if g.total_score else 0:+.1%}",
                    },
                    data={
                        "optimal": o.model_dump(),
                        "greedy": g.model_dump(),
                        "optimal_s": optimal_s,
                        "greedy_s": greedy_s,
                    },
                )
            )
        )
    return results
