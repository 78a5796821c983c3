"""Hostile input against live workflows: no signal or update may fail a workflow task or hang a workflow.

A seeded generator (``--seed``; the same seed sends the same inputs) sends ``--count`` inputs to live
``Partnership`` (in several stages), ``Gathering`` and ``Cohort`` workflows on a real Temporal dev server
with the real worker: every signal and update of the contract, and unknown names, carrying wrong types,
missing and extra fields, null, huge strings (up to 1.5 MB), deep nesting, control characters, naive and
nonsense dates, raw payloads that are not JSON at all, out-of-stage commands, and bursts of 500 at one
workflow; before them, the inputs of the security issue (15), once each (``security``). Then, for every
workflow: no ``WorkflowTaskFailed`` in its history, no pending workflow task on a second attempt (stuck), still
running and answering ``status``; and ``records verify`` passes. The Cohort also counts every signal it took that
made no command (malformed, not JSON, an unknown name) in its status: its ``rejections`` must equal the number of
such signals the server accepted for it (each payload checked with the contract's own parser), none dropped.

``python -m bench.fuzz`` (10,000 inputs; ``--count``, ``--seed``); a small seeded run is in the test suite
(``tests/workflows/test_fuzz.py``). The last full run is in RELIABILITY.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import string
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import RawValue, WorkflowIDReusePolicy
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.records.migrate import upgrade
from activities.records.store import RecordStore
from bench.common import _data_keys_ready  # a throwaway keyring and data-key database unless given (as benchmarks)
from contract import STATUS_QUERY
from contract.cohort import SIGNALS as COHORT_SIGNALS
from contract.cohort import CohortStatus
from contract.gathering import MESSAGES as GATHERING_UPDATES
from contract.gathering import gathering_workflow_id
from contract.partnership import MESSAGES as SIGNAL_COMMANDS
from contract.partnership import Application, partnership_id
from domain.cohort import CohortPlan, PlannedGathering
from domain.errors import from_payload
from domain.gathering import GatheringPlan
from domain.limits import LINE_CHARS, LIST_ITEMS, PINS
from domain.partnership.commands import GatheringKind
from domain.people import Contact, Institution, MentorProfile, Sector
from workers.binaries import temporal_binary
from workers.doctor import find_stuck, task_failures
from workers.partnerships import Partnerships
from workers.setup import register_search_attributes
from workers.temporal import data_converter
from workers.worker import build_worker

HUGE = 1_500_000
"""The largest string sent (Temporal refuses payloads over 2 MB)."""
BURST = 500
POLICY = {
    "signing_reminder": "P30D",
    "signing_deadline": "P60D",
    "meeting_cadence": "P30D",
    "programme_length": "P182D",
}
"""Slow clocks: nothing times out during the run, so every change of state comes from the inputs."""

VALID: dict[str, dict[str, Any]] = {
    "match_proposed": {"mentor_id": "mentor-fz", "score": 0.8, "reasons": ["shared field"]},
    "sign_agreement": {"party": "mentee", "signature_ref": "esign-1"},
    "log_meeting": {"kind": "pair", "held_on": "2026-03-02T16:00:00+02:00", "minutes": 60, "topics": ["cv"]},
    "add_diary_entry": {"reflection": "learned", "goals": ["g"], "actions": ["a"]},
    "gathering_attended": {"gathering_id": "kick", "kind": "collective", "hours": 3},
    "coordinator_action": {"action": "nudge", "reason": "checked", "until": "2026-04-10T00:00:00+03:00"},
    "withdraw": {"party": "mentor", "reason": "moved"},
    "submit_closing_review": {"party": "mentee", "rating": 5, "outcome": "employed_in_field"},
    "register": {"registrant_id": "partnership-fz-m1"},
    "cancel_registration": {"registrant_id": "partnership-fz-m1"},
    "record_attendance": {"present": ["partnership-fz-m1"]},
    "cancel_gathering": {"reason": "weather"},
    "run_matching": {"reason": "late applicants"},
    "approve_matching": {"round_id": "round-1", "pins": [], "exclusions": []},
}
UNKNOWN_NAMES = ("nope", "status", "Match_Proposed", "", "x" * 300, "log_meeting\x00", "__stack_trace", "👀")


class Hostile:
    """A seeded source of hostile values and payloads."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.huge_sent = 0

    def text(self) -> str:
        r = self.rng.random()
        if r < 0.2:
            return "".join(self.rng.choice("\x00\x01\x07\x1b\x7f\u202e\ufeff\ud7ff\n\r\t ") for _ in range(20))
        if r < 0.3:
            return ""
        if r < 0.4:
            return " " * self.rng.randint(1, 50)
        if r < 0.5:
            return "'; DROP TABLE events; --"
        if r < 0.6:
            return "<script>alert(1)</script>" * 3
        if r < 0.65:
            return "x" * self.rng.choice([201, 1001, 5000, 70_000])
        return "".join(self.rng.choice(string.printable) for _ in range(self.rng.randint(1, 40)))

    def date(self) -> Any:
        return self.rng.choice(
            [
                "2026-03-02T16:00:00",  # naive
                "2026-13-45T25:61:00+02:00",
                "yesterday",
                "0000-00-00",
                "9999-12-31T23:59:59+14:00",
                "1970-01-01T00:00:00Z",
                "2026-03-02T16:00:00+25:00",
                1e20,
                -1,
                "P30D",
                "",
            ]
        )

    def nested(self, depth: int) -> Any:
        value: Any = "deep"
        for _ in range(depth):
            value = {"a": value} if self.rng.random() < 0.5 else [value]
        return value

    def value(self) -> Any:
        r = self.rng.random()
        if r < 0.1:
            return None
        if r < 0.2:
            return self.rng.choice([0, -1, 2**63, -(2**70), 3.5, 1e308, True, False])
        if r < 0.35:
            return self.text()
        if r < 0.45:
            return self.date()
        if r < 0.55:
            return self.nested(self.rng.choice([2, 10, 60]))
        if r < 0.65:
            return [self.text() for _ in range(self.rng.randint(0, 5))]
        if r < 0.7:
            return [None] * self.rng.choice([1, 1000])
        if r < 0.75:
            return {self.text(): self.text()}
        return self.rng.choice(["mentee", "mentor", "coordinator", "pair", "group", "nudge", "pause", "rematch"])

    def payload(self, name: str) -> Any:
        """A JSON-able payload for ``name``: mutated from a valid one, or something else entirely."""
        valid = dict(VALID.get(name) or self.rng.choice(list(VALID.values())))
        r = self.rng.random()
        if r < 0.08:
            return valid  # well formed: out of stage, or repeated, or simply accepted
        if r < 0.4:  # one field wrong
            key = self.rng.choice(list(valid))
            valid[key] = self.value()
            return valid
        if r < 0.5:  # a field missing
            valid.pop(self.rng.choice(list(valid)), None)
            return valid
        if r < 0.6:  # extra fields
            for _ in range(self.rng.randint(1, 4)):
                valid[self.text()[:30] or "extra"] = self.value()
            return valid
        if r < 0.7:  # every field wrong
            return {key: self.value() for key in valid}
        if r < 0.72 and self.huge_sent < 12:  # a huge string, rarely (histories keep them)
            self.huge_sent += 1
            key = self.rng.choice(list(valid))
            valid[key] = "y" * self.rng.choice([HUGE, HUGE // 3])
            return valid
        return self.value()  # not an object at all: null, a number, a list, a string

    def raw(self) -> RawValue:
        """A payload that no JSON decoder takes."""
        choice = self.rng.random()
        if choice < 0.4:
            payload = Payload(metadata={"encoding": b"json/plain"}, data=b"{not json" + self.rng.randbytes(16))
        elif choice < 0.7:
            payload = Payload(metadata={"encoding": b"binary/plain"}, data=self.rng.randbytes(64))
        elif choice < 0.85:
            payload = Payload(metadata={"encoding": b"binary/null"}, data=b"")
        else:
            payload = Payload(metadata={"encoding": b"no/such-encoding"}, data=b"\xff\xfe")
        return RawValue(payload)


@dataclass
class Outcome:
    sent: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    accepted_updates: int = 0
    rejected_updates: int = 0
    refused_by_server: int = 0
    """Refused before any workflow saw it (e.g. a name Temporal does not take)."""
    failed_workflow_tasks: int = 0
    stuck: list[str] = field(default_factory=list)
    not_running: list[str] = field(default_factory=list)
    no_status: list[str] = field(default_factory=list)
    verify_ok: bool = False
    verify_problems: list[str] = field(default_factory=list)
    workflows: int = 0
    ended_by_commands: int = 0
    """Workflows a well-formed command ended (a withdrawal, a cancelled gathering): fine."""
    task_failures: list[str] = field(default_factory=list)
    security: Counter[str] = field(default_factory=Counter)
    """The inputs of the security issue (15) sent, by kind."""
    security_problems: list[str] = field(default_factory=list)
    """What those inputs did that they must not (a taken-over contact, a workflow that did not end)."""
    cohort_rejections_expected: Counter[str] = field(default_factory=Counter)
    """Per Cohort: signals the server accepted that make no command (malformed, not JSON, unknown name)."""
    cohort_rejection_problems: list[str] = field(default_factory=list)
    """Cohorts whose status did not count every such signal as a rejection (a signal dropped)."""
    superseded_tasks: int = 0
    """Workflow tasks the server ran again with new events (UNHANDLED_COMMAND and the like): not failures."""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return (
            self.failed_workflow_tasks == 0
            and not self.stuck
            and not self.not_running
            and not self.no_status
            and self.verify_ok
            and not self.security_problems
            and not self.cohort_rejection_problems
        )

    def summary(self) -> str:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.by_kind.items()))
        return "\n".join(
            [
                f"inputs sent: {self.sent} ({kinds}) to {self.workflows} live workflows in {self.seconds:.0f} s",
                f"updates accepted {self.accepted_updates}, rejected {self.rejected_updates}; "
                f"refused by the server {self.refused_by_server}",
                f"failed workflow tasks: {self.failed_workflow_tasks} {self.task_failures[:5]} "
                f"(and {self.superseded_tasks} run again by the server with newer events: not failures)",
                f"stuck workflows: {len(self.stuck)} {self.stuck[:5]}",
                f"workflows failed or terminated: {len(self.not_running)} {self.not_running[:5]}; "
                f"ended by a well-formed command: {self.ended_by_commands}",
                f"workflows not answering status: {len(self.no_status)} {self.no_status[:5]}",
                f"security inputs (issue 15): {sum(self.security.values())} "
                f"({', '.join(f'{k} {n}' for k, n in sorted(self.security.items()))}); "
                f"problems: {len(self.security_problems)} {self.security_problems[:5]}",
                f"cohort signals rejected and recorded: {sum(self.cohort_rejections_expected.values())}; "
                f"dropped or miscounted: {len(self.cohort_rejection_problems)} {self.cohort_rejection_problems[:3]}",
                f"records verify: {'ok' if self.verify_ok else 'FAILED ' + '; '.join(self.verify_problems[:5])}",
                f"result: {'PASS' if self.ok else 'FAIL'}",
            ]
        )


@dataclass(frozen=True)
class Target:
    workflow_id: str
    signals: tuple[str, ...]
    updates: tuple[str, ...]


async def _live_workflows(client: Client, store: RecordStore, task_queue: str, cohort: str) -> list[Target]:
    facade = Partnerships(client, task_queue)
    far = datetime.now(UTC) + timedelta(days=300)
    partnership_names = tuple(SIGNAL_COMMANDS)
    targets = []
    handles = []
    for n in range(12):
        app = Application.model_validate(
            {
                "cohort_id": cohort,
                "mentee_id": f"fz-{n:02d}",
                "institution_id": "uni-fz",
                "degree_level": "master",
                "field": "data science",
                "interests": ["ml"],
                "languages": ["en"],
                "goals": ["a job"],
                "contact": {"name": f"Fuzz Mentee {n}", "email": f"fz{n}@example.org"},
                "policy": POLICY,
            }
        )
        handles.append(await facade.start(app))
        targets.append(Target(app.workflow_id, partnership_names, partnership_names))
    for n, handle in enumerate(handles):  # stages: awaiting match, awaiting signatures, active
        await _until(lambda h=handle: _stage(facade, h.id), {"AWAITING_MATCH"})
        if n % 3 >= 1:
            await facade.update(handle.id, "match_proposed", {"mentor_id": f"mentor-fz{n}"})
        if n % 3 == 2:
            await facade.update(handle.id, "sign_agreement", {"party": "mentee"})
            await facade.update(handle.id, "sign_agreement", {"party": "mentor"})
    plan = GatheringPlan.model_validate(
        {
            "cohort_id": cohort,
            "gathering_id": "fz-visit",
            "kind": "group",
            "subject": "Fuzz visit",
            "starts_at": far.isoformat(),
            "duration_hours": 2,
            "place": "Helsinki",
        }
    )
    gathering_id = gathering_workflow_id(cohort, "fz-visit")
    await client.start_workflow("Gathering", plan, id=gathering_id, task_queue=task_queue)
    targets.append(Target(gathering_id, (), tuple(GATHERING_UPDATES)))
    cohort_plan = CohortPlan(
        cohort_id=f"{cohort}-c",
        coordinator_id="coord-fz",
        applications_close=far,
        matching_at=far + timedelta(days=1),
        kickoff_at=far + timedelta(days=2),
        programme_end=far + timedelta(days=200),
        gatherings=(PlannedGathering(gathering_id="o", kind=GatheringKind.COLLECTIVE, subject="O", starts_at=far),),
    )
    await client.start_workflow("Cohort", cohort_plan, id=f"cohort-{cohort}-c", task_queue=task_queue)
    targets.append(Target(f"cohort-{cohort}-c", ("run_matching",), ("approve_matching",)))
    return targets


async def _stage(facade: Partnerships, workflow_id: str) -> str | None:
    try:
        return (await facade.status(workflow_id)).stage
    except Exception:
        return None


async def _until(probe: Any, stages: set[str], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await probe() in stages:
            return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"a fuzz target did not reach {stages}")


# ------------------------------------------------------------------------------------- the security issue's inputs


def _application(cohort: str, mentee_id: str, **changes: Any) -> dict[str, Any]:
    return {
        "cohort_id": cohort,
        "mentee_id": mentee_id,
        "institution_id": "uni-fz",
        "degree_level": "master",
        "field": "data science",
        "goals": ["a job"],
        "contact": {"name": "Fuzz Applicant", "email": f"{mentee_id}@example.org"},
        "policy": POLICY,
        **changes,
    }


async def _ended(client: Client, workflow_id: str, timeout: float = 90.0) -> str:
    """How the workflow's run ended (its status name), or RUNNING if it has not within ``timeout``."""
    handle = client.get_workflow_handle(workflow_id)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described = await handle.describe()
        if described.status is not None and described.status.name != "RUNNING":
            return described.status.name
        await asyncio.sleep(0.5)
    return "RUNNING"


async def security(
    client: Client, store: RecordStore, task_queue: str, cohort: str, targets: list[Target], outcome: Outcome
) -> list[str]:
    """The findings of issue 15, each sent as it was found, before the seeded inputs (so the stages are known):
    huge lists within the field limits (and past them), NUL and every other C0 character in text fields, 10,000
    pins in ``approve_matching``, ``run_matching`` 30 times, ``gathering_attended`` for foreign gatherings and
    huge hours, an application whose ``mentee_id`` is an existing mentor's id, a re-used closed workflow id and an
    erased person applying. Returns the ids of the workflows these started (checked like the others)."""
    by_id = {t.workflow_id: t for t in targets}
    waiting, signing, active = (targets[n].workflow_id for n in range(3))  # stages by n % 3, see _live_workflows
    cohort_wf = next(t.workflow_id for t in targets if t.workflow_id.startswith("cohort-"))
    line = "z" * LINE_CHARS

    async def send(kind: str, workflow_id: str, name: str, payload: Any, as_update: bool = True) -> None:
        outcome.security[kind] += 1
        handle = client.get_workflow_handle(workflow_id)
        try:
            if as_update:
                try:
                    await handle.execute_update(name, payload, rpc_timeout=timedelta(seconds=60))
                    outcome.accepted_updates += 1
                except WorkflowUpdateFailedError:
                    outcome.rejected_updates += 1
            else:
                await handle.signal(name, payload, rpc_timeout=timedelta(seconds=30))
        except (RPCError, TypeError, ValueError):
            outcome.refused_by_server += 1

    assert by_id[active].signals
    diary = {"reflection": "r", "goals": [line] * LIST_ITEMS, "actions": [line] * LIST_ITEMS}
    for _ in range(19):  # within every field limit; the day's limit refuses the rest
        await send("huge lists within limits", active, "add_diary_entry", diary)
    await send("huge lists past limits", active, "add_diary_entry", {**diary, "goals": ["g" * 199] * 7000})
    await send("huge lists past limits", waiting, "match_proposed", {"mentor_id": "m-fz", "reasons": ["r"] * 8000})
    await send("huge lists within limits", signing, "match_proposed", {"mentor_id": "m-fz", "reasons": [line] * 20})
    for code in [*range(0x00, 0x20), 0x7F]:
        char = chr(code)
        await send("control characters", active, "add_diary_entry", {"reflection": f"before{char}after"})
        await send(
            "control characters", active, "log_meeting", {"kind": "pair", "minutes": 30, "notes": f"a{char}b"}, False
        )
    for pins in (10_000, PINS):
        spec = [{"mentee_id": f"fz-{n}", "mentor_id": f"m-{n}"} for n in range(pins)]
        await send("pins in approve_matching", cohort_wf, "approve_matching", {"pins": spec})
    for _ in range(30):
        await send("repeated run_matching", cohort_wf, "run_matching", {"reason": "again"}, False)
    for gathering, hours in (("fz-visit", 3), ("elsewhere-kickoff", 12), ("kick", 1e6), ("kick", -1), ("kick", 12)):
        await send(
            "foreign gatherings and hours",
            active,
            "gathering_attended",
            {"gathering_id": gathering, "kind": "collective", "hours": hours},
        )

    started: list[str] = []
    # A mentee id equal to a mentor's: the mentor's contact record must stay as it was.
    victim = Contact(name="Fuzz Mentor", email="mentor-victim@example.org")
    await store.upsert_person("fz-victim", "mentor", victim)
    outcome.security["mentee_id of an existing mentor"] += 1
    app = _application(cohort, "fz-victim", contact={"name": "Taker", "email": "taker@example.org"})
    await client.start_workflow("Partnership", app, id=partnership_id(cohort, "fz-victim"), task_queue=task_queue)
    started.append(partnership_id(cohort, "fz-victim"))
    await _until(lambda: _stage(Partnerships(client, task_queue), started[-1]), {"AWAITING_MATCH", "REJECTED"})
    if await store.get_contact("fz-victim", "mentor") != victim:
        outcome.security_problems.append("an application rewrote the contact of the mentor whose id it used")
    # A closed partnership's id used again (bypassing the facade's reuse policy): never a wedged run.
    reused = partnership_id(cohort, "fz-reused")
    outcome.security["re-used closed workflow id"] += 1
    await client.start_workflow("Partnership", _application(cohort, "fz-reused", goals="a job"), id=reused,
                                task_queue=task_queue)  # fmt: skip
    if (ended := await _ended(client, reused)) != "COMPLETED":
        outcome.security_problems.append(f"a malformed application did not end as REJECTED ({ended})")
    await client.start_workflow("Partnership", _application(cohort, "fz-reused"), id=reused, task_queue=task_queue,
                                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE)  # fmt: skip
    if (ended := await _ended(client, reused)) == "RUNNING":
        outcome.security_problems.append("a run on a re-used closed id did not end")
    started.append(reused)
    # An erased person applies again: the run ends with the reason, it does not retry for ever.
    outcome.security["erased person applying"] += 1
    await store.upsert_person("fz-erased", "mentee", Contact(name="Fuzz Erased", email="erased@example.org"))
    await store.erase_person("fz-erased")
    erased = partnership_id(cohort, "fz-erased")
    await client.start_workflow("Partnership", _application(cohort, "fz-erased"), id=erased, task_queue=task_queue)
    if (ended := await _ended(client, erased)) == "RUNNING":
        outcome.security_problems.append("an erased person's application did not end")
    with contextlib.suppress(WorkflowFailureError):
        await client.get_workflow_handle(erased).result()
    started.append(erased)
    return started


def keep_alive(name: str, payload: Any) -> Any:
    """The same payload, unless it would end its workflow for good (a mentee's withdrawal, ending early, a
    cancelled gathering): the run must keep hitting live workflows, so those become malformed instead."""
    if not isinstance(payload, dict):
        return payload
    if name == "withdraw" and payload.get("party") == "mentee":
        return {**payload, "party": "nobody"}
    if name == "coordinator_action" and payload.get("action") in ("end_early", "close_review"):
        return {**payload, "action": "end-early!"}
    if name == "cancel_gathering":
        return {**payload, "reason": 0}
    return payload


def cohort_rejects(name: str, argument: Any) -> bool:
    """Whether a Cohort must record this signal as a rejection: an unknown name, or a payload its command does not
    take once encoded as the client encodes it (the contract's own parser decides, as the workflow's does)."""
    if name not in COHORT_SIGNALS or isinstance(argument, RawValue):
        return True  # every raw payload the fuzz sends is not a JSON object
    converter = data_converter().payload_converter
    try:
        from_payload(COHORT_SIGNALS[name], name, converter.from_payload(converter.to_payload(argument)))
    except ValueError:
        return True
    return False


async def _send(client: Client, target: Target, hostile: Hostile, outcome: Outcome, burst: bool = False) -> None:
    rng = hostile.rng
    handle = client.get_workflow_handle(target.workflow_id)
    as_update = bool(target.updates) and (not target.signals or rng.random() < 0.5) and not burst
    names = target.updates if as_update else target.signals
    name = rng.choice(UNKNOWN_NAMES) if rng.random() < 0.05 else rng.choice(names)
    argument: Any = hostile.raw() if rng.random() < 0.07 else keep_alive(name, hostile.payload(name))
    kind = "update" if as_update else "signal"
    kind += "-unknown" if name not in VALID else ""
    kind += "-raw" if isinstance(argument, RawValue) else ""
    outcome.sent += 1
    outcome.by_kind["burst" if burst else kind.split("-")[0]] += 1
    try:
        if as_update:
            try:
                await handle.execute_update(name, argument, rpc_timeout=timedelta(seconds=60))
                outcome.accepted_updates += 1
            except WorkflowUpdateFailedError:
                outcome.rejected_updates += 1
        else:
            await handle.signal(name, argument, rpc_timeout=timedelta(seconds=30))
            if target.workflow_id.startswith("cohort-") and cohort_rejects(name, argument):
                outcome.cohort_rejections_expected[target.workflow_id] += 1
    except (RPCError, TypeError, ValueError):
        outcome.refused_by_server += 1  # too large, an invalid name, a payload the client cannot encode


async def fuzz(client: Client, store: RecordStore, task_queue: str, count: int, seed: int, bursts: int) -> Outcome:
    rng = random.Random(seed)
    hostile = Hostile(rng)
    outcome = Outcome()
    began = time.monotonic()
    cohort = f"fz{uuid.uuid4().hex[:6]}"
    await store.upsert_institution(Institution(institution_id="uni-fz", name="Fuzz University", partner=True))
    await store.upsert_person("coord-fz", "coordinator", Contact(name="Fuzz Coordinator", email="c@fz.org"))
    await store.upsert_cohort(cohort, "coord-fz")
    for mentor_id in ("mentor-fz", *(f"mentor-fz{n}" for n in range(12))):  # the pool the matches name
        mentor = MentorProfile(mentor_id=mentor_id, organisation_id="org-fz", sector=Sector.PRIVATE)
        await store.upsert_mentor(mentor, None, cohorts=[cohort])
    targets = await _live_workflows(client, store, task_queue, cohort)
    outcome.workflows = len(targets)
    partnerships = [t for t in targets if t.signals and t.workflow_id.startswith("partnership-")]
    started = await security(client, store, task_queue, cohort, targets, outcome)
    gate = asyncio.Semaphore(32)

    async def one(target: Target, burst: bool = False) -> None:
        async with gate:
            await _send(client, target, hostile, outcome, burst)

    burst_size = min(BURST, max(1, count // 4))
    singles = max(0, count - bursts * burst_size)
    for _ in range(bursts):  # a burst of signals at one workflow, all at once
        target = rng.choice(partnerships)
        await asyncio.gather(*(one(target, burst=True) for _ in range(burst_size)))
    batch = 64
    for start in range(0, singles, batch):
        await asyncio.gather(*(one(rng.choice(targets)) for _ in range(min(batch, singles - start))))
    await asyncio.sleep(2.0)
    await check(client, store, targets, outcome, ended_allowed=started)
    outcome.seconds = time.monotonic() - began
    return outcome


async def check(
    client: Client, store: RecordStore, targets: list[Target], outcome: Outcome, ended_allowed: Sequence[str] = ()
) -> None:
    """Every target, and every workflow in ``ended_allowed`` (started by the security inputs: they may have ended
    any way but by a failed task or a timeout), fails no task, is not stuck and answers ``status``."""
    for target in [*targets, *(Target(wid, (), ()) for wid in ended_allowed)]:
        handle = client.get_workflow_handle(target.workflow_id)
        described = await handle.describe()
        status = described.status.name if described.status is not None else "UNKNOWN"
        if target.workflow_id in ended_allowed:
            if status in ("TERMINATED", "TIMED_OUT"):
                outcome.not_running.append(f"{target.workflow_id} ({status})")
        elif status not in ("RUNNING", "COMPLETED"):  # completed: a well-formed withdraw or cancel_gathering
            outcome.not_running.append(f"{target.workflow_id} ({status})")
        elif status == "COMPLETED":
            outcome.ended_by_commands += 1
        stuck = await find_stuck(client, target.workflow_id, described.run_id or "", described.workflow_type)
        if stuck is not None:
            outcome.stuck.append(f"{target.workflow_id}: {stuck.failure}")
        async for event in handle.fetch_history_events():
            failure = task_failures(event)
            if failure is None:
                continue
            real, why = failure
            if real:
                outcome.failed_workflow_tasks += 1
                outcome.task_failures.append(f"{target.workflow_id}: {why}")
            else:
                outcome.superseded_tasks += 1
        try:
            await handle.query(STATUS_QUERY, rpc_timeout=timedelta(seconds=10))
        except Exception as error:
            outcome.no_status.append(f"{target.workflow_id}: {type(error).__name__}")
        if target.workflow_id.startswith("cohort-"):
            await _rejections_recorded(handle, outcome.cohort_rejections_expected[target.workflow_id], outcome)
    report = await store.verify()
    outcome.verify_ok = report.ok
    outcome.verify_problems = [f"{d.partnership_id}: {d.what}" for d in report.disagreements][:10]


async def _rejections_recorded(handle: WorkflowHandle[Any, Any], expected: int, outcome: Outcome) -> None:
    """The Cohort's status counts every signal it could not take (waiting a little: signals the server has
    accepted may not have reached the workflow yet)."""
    recorded = None
    for _ in range(60):
        with contextlib.suppress(Exception):
            recorded = (await handle.query(STATUS_QUERY, result_type=CohortStatus)).rejections
        if recorded == expected:
            return
        await asyncio.sleep(0.5)
    outcome.cohort_rejection_problems.append(f"{handle.id}: {recorded} rejections recorded, {expected} expected")


async def run(count: int, seed: int, bursts: int, directory: Path) -> Outcome:
    await _data_keys_ready()
    url = f"sqlite+aiosqlite:///{directory / 'records.db'}"
    await upgrade(url)
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary("temporal"),
        data_converter=data_converter(),
        ui=False,
        dev_server_log_level="error",
    )
    store = RecordStore.from_url(url)
    try:
        await register_search_attributes(env.client, "default")
        task_queue = f"fuzz-{uuid.uuid4().hex[:6]}"
        async with build_worker(env.client, task_queue, store, mailer=None):
            return await fuzz(env.client, store, task_queue, count, seed, bursts)
    finally:
        await store.close()
        await env.shutdown()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.fuzz", description=__doc__.split("\n\n")[0])
    p.add_argument("--count", type=int, default=10_000, help="hostile inputs to send (default 10,000)")
    p.add_argument("--seed", type=int, default=8)
    p.add_argument("--bursts", type=int, default=4, help="bursts of 500 signals at one workflow (default 4)")
    p.add_argument("--json", metavar="FILE", help="also write the outcome as JSON")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp:
        outcome = asyncio.run(run(args.count, args.seed, args.bursts, Path(tmp)))
    print(outcome.summary())
    if args.json:
        Path(args.json).write_text(json.dumps({**outcome.__dict__, "ok": outcome.ok}, indent=2, default=str) + "\n")
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    sys.exit(main())
