"""Read a Prometheus text exposition: the samples of one metric whose labels include the given ones."""

from __future__ import annotations

import asyncio
import re
import urllib.request
from collections.abc import Callable

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text: str) -> list[tuple[str, dict[str, str], float]]:
    samples = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        if match:
            name, labels, value = match.groups()
            samples.append((name, dict(_LABEL.findall(labels or "")), float(value)))
    return samples


def value(text: str, name: str, **labels: str) -> float | None:
    """The sum over the samples of ``name`` whose labels include ``labels``; None when there is none."""
    found = [v for n, ls, v in parse(text) if n == name and all(ls.get(k) == want for k, want in labels.items())]
    return sum(found) if found else None


def scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())


async def scrape_until(url: str, done: Callable[[str], bool], timeout: float = 15.0) -> str:
    """Scrape until ``done(text)``; the last text when time runs out (the assertions then say what is missing)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    text = ""
    while loop.time() < deadline:
        text = await asyncio.to_thread(scrape, url)
        if done(text):
            break
        await asyncio.sleep(0.2)
    return text
