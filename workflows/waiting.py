"""The one way the workflows wait: for something to arrive (a signal, an update) or for a deadline."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime

from temporalio import workflow


async def arrived_before(deadline: datetime | None, arrived: Callable[[], bool], waiting_for: str | None) -> bool:
    """Wait until ``arrived()`` holds (True) or ``deadline`` passes (False); no timer when there is no deadline.

    A deadline already past wins over what has arrived, so timers are handled before the input that came later.
    The timer carries ``waiting_for`` as its summary in the Temporal UI.
    """
    if deadline is None:
        await workflow.wait_condition(arrived)
        return True
    seconds = math.ceil(max((deadline - workflow.now()).total_seconds(), 0) * 1000) / 1000
    if seconds <= 0:
        return False
    try:
        await workflow.wait_condition(arrived, timeout=seconds, timeout_summary=waiting_for)
    except TimeoutError:
        return False
    return True
