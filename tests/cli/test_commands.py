"""The command table of ``entrypoint`` (``workers.cli.COMMANDS``) and what a command line imports: only the
module of the command it names, so ``matching run`` never loads Temporal, SQLAlchemy or FastAPI."""

from __future__ import annotations

import argparse
import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import workers.commands
from workers.cli import COMMAND_MODULES, COMMANDS, build_parser, command_module

REPO = Path(__file__).resolve().parents[2]


def test_the_table_names_every_command_of_every_module_in_the_order_of_the_help() -> None:
    modules = sorted(
        info.name
        for info in pkgutil.iter_modules(workers.commands.__path__)
        if hasattr(command_module(info.name), "register")
    )
    assert sorted(COMMAND_MODULES) == modules
    registered: dict[str, str] = {}
    for name in COMMAND_MODULES:
        subparsers = argparse.ArgumentParser().add_subparsers()
        command_module(name).register(subparsers)
        registered.update(dict.fromkeys(subparsers.choices, name))
    assert list(registered.items()) == list(COMMANDS.items())


@pytest.mark.parametrize(
    "argv",
    [
        ["matching", "run", "--mentees", "a.csv", "--mentors", "b.json", "--out", "c.json", "--utc"],
        ["--debug", "matching", "run", "--mentees", "a.csv", "--mentors", "b.json", "--out", "c.json"],
        ["partnerships", "show", "p-1"],
        ["--utc", "mentors", "list"],
    ],
)
def test_a_command_line_parses_the_same_with_its_command_only(argv: list[str]) -> None:
    assert vars(build_parser(argv).parse_args(argv)) == vars(build_parser().parse_args(argv))


def test_matching_run_imports_neither_temporal_nor_the_database_nor_the_gateway(tmp_path: Path) -> None:
    mentees = [
        {"mentee_id": "s-1", "degree_level": "master", "institution_id": "u", "field": "law", "languages": ["fi"]}
    ]
    mentors = [{"mentor_id": "m-1", "organisation_id": "o", "sector": "public", "languages": ["fi"], "capacity": 1}]
    (tmp_path / "mentees.json").write_text(json.dumps(mentees))
    (tmp_path / "mentors.json").write_text(json.dumps(mentors))
    argv = ["matching", "run", "--mentees", "mentees.json", "--mentors", "mentors.json", "--out", "round.json"]
    code = (
        "import sys\n"
        "from workers.cli import main\n"
        f"assert main({argv!r}) == 0\n"
        "heavy = ('temporalio', 'sqlalchemy', 'fastapi', 'opentelemetry', 'cryptography')\n"
        "print('imported:', sorted(name for name in heavy if name in sys.modules))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "matched 1 of 1 mentees" in done.stdout
    assert "imported: []" in done.stdout


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("ENTRYPOINT_WORKFLOW_CACHE", "0", "ENTRYPOINT_WORKFLOW_CACHE: Input should be greater than or equal to 1"),
        (
            "ENTRYPOINT_GAUGE_INTERVAL",
            "soon",
            "ENTRYPOINT_GAUGE_INTERVAL: Input should be a valid number, unable to parse string as a number",
        ),
    ],
)
def test_a_bad_setting_is_one_line_and_exit_2_not_a_traceback(
    tmp_path: Path, variable: str, value: str, says: str
) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), variable: value}
    done = subprocess.run(
        [sys.executable, "-m", "workers", "worker"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [f"entrypoint: invalid settings: {says}"]
