"""The domain stays pure: no Temporal, no database, in any of its modules."""

import subprocess
import sys
import textwrap
from pathlib import Path

FORBIDDEN = ("temporalio", "sqlalchemy")
ROOT = Path(__file__).resolve().parents[2]

PROBE = textwrap.dedent(
    """
    import importlib, pkgutil, sys

    import domain

    names = ["domain"] + [m.name for m in pkgutil.walk_packages(domain.__path__, prefix="domain.")]
    for name in names:
        importlib.import_module(name)
    leaked = sorted(m for m in sys.modules if m.split(".")[0] in {forbidden!r})
    print(len(names))
    print(",".join(leaked))
    """
)


def probe(forbidden: tuple[str, ...]) -> tuple[int, str]:
    """How many domain modules a fresh interpreter imported, and which forbidden packages came with them."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(forbidden=set(forbidden))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    count, leaked = result.stdout.splitlines()
    return int(count), leaked


def test_domain_imports_neither_temporal_nor_sqlalchemy() -> None:
    count, leaked = probe(FORBIDDEN)
    assert count >= 10, "every module under domain was imported"
    assert leaked == "", f"the domain pulled in {leaked}"


def test_the_probe_would_see_a_leak() -> None:
    _, leaked = probe(("pydantic",))
    assert "pydantic" in leaked.split(",")
