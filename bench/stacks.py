"""Summarise a py-spy profile (``py-spy record -f raw``): where the time goes in the engine's own code.

    .venv/bin/py-spy record -r 100 -f raw -o var/engine.txt -- .venv/bin/python -m bench --only engine_overhead
    .venv/bin/python -m bench.stacks var/engine.txt

Prints the share of all samples (every thread) spent in each of our functions, inclusive (the function and
what it calls), for the first-party packages only, and the share per package.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

OURS = ("domain/", "activities/", "workflows/", "workers/")
_FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^:()]+)(?::(?P<line>\d+))?\)$")


def _ours(path: str) -> str | None:
    for package in OURS:
        at = path.find("/" + package) if not path.startswith(package) else 0
        if at >= 0 and "site-packages" not in path:
            return path[at + 1 if at else 0 :]
    return None


def summarise(lines: list[str], top: int = 40) -> str:
    total = 0
    inclusive: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    for line in lines:
        stack, _, count_text = line.rstrip("\n").rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        seen: set[str] = set()
        seen_packages: set[str] = set()
        for frame in stack.split(";"):
            match = _FRAME.match(frame)
            if match is None:
                continue
            path = _ours(match["file"])
            if path is None:
                continue
            name = f"{path}:{match['function']}"
            seen.add(name)
            seen_packages.add(path.split("/", 1)[0])
        for name in seen:
            inclusive[name] += count
        for package in seen_packages:
            packages[package] += count
    out = [f"{total} samples"]
    out.extend(f"{100 * n / total:5.1f}%  {package}/ (any function)" for package, n in packages.most_common())
    out.append("")
    out.extend(f"{100 * n / total:5.1f}%  {name}" for name, n in inclusive.most_common(top))
    return "\n".join(out)


if __name__ == "__main__":
    print(summarise(Path(sys.argv[1]).read_text().splitlines(), int(sys.argv[2]) if len(sys.argv) > 2 else 40))
