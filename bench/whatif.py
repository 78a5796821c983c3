"""Policy what-if: a synthetic six-month cohort replayed through the pure domain (``entrypoint simulate``).

The target is a 5,000-pair cohort in at most 10 s on this machine, for each policy compared.
"""

from __future__ import annotations

import asyncio
import time

from bench.common import Result, emit, progress
from domain.policy import Policy
from domain.simulation import simulate, synthetic_behaviours


def _timed(pairs: int) -> tuple[float, float, dict[str, int]]:
    began = time.perf_counter()
    behaviours = synthetic_behaviours(pairs, seed=1)
    drawn = time.perf_counter() - began
    outcome = simulate(behaviours, Policy())
    return drawn, time.perf_counter() - began, outcome.model_dump(include={"nudges", "escalations", "completions"})


async def run(sizes: list[int]) -> list[Result]:
    results = []
    for pairs in sizes:
        progress(f"what-if: {pairs} synthetic pairs, six months, the default policy")
        drawn, total, counts = await asyncio.to_thread(_timed, pairs)
        results.append(
            emit(
                Result(
                    "policy_whatif",
                    {"pairs": pairs},
                    {"seconds": round(total, 2), "ms_per_pair": round(total / pairs * 1000, 3), **counts},
                    data={"draw_s": drawn},
                    notes=["target: 5,000 pairs in <= 10 s"],
                )
            )
        )
    return results
