"""The contract (contract/) is what the workflows really define: names, handlers, types; and it stays below them."""

from __future__ import annotations

import ast
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RawValue
from temporalio.workflow import _Definition

from contract import STATUS_QUERY, cohort, gathering, partnership
from contract.partnership import PartnershipStatus
from workflows import inbox
from workflows.cohort import CohortWorkflow
from workflows.gathering import GatheringWorkflow
from workflows.partnership import PartnershipWorkflow

ROOT = Path(__file__).resolve().parents[2]


def test_partnership_defines_a_signal_and_an_update_for_each_message_of_its_table_and_no_other() -> None:
    defn = _Definition.must_from_class(PartnershipWorkflow)
    assert defn.name == partnership.WORKFLOW_TYPE
    assert set(defn.signals) == {*partnership.MESSAGES, None}, "one per message, and a catch-all for other names"
    assert set(defn.updates) == set(partnership.MESSAGES)
    assert set(defn.queries) == {STATUS_QUERY}
    assert defn.signals[None].arg_types == [str, Sequence[RawValue]]
    for name in partnership.MESSAGES:
        assert defn.signals[name].arg_types == [RawValue], f"{name}: signals take the raw payload"
        assert defn.updates[name].ret_type is partnership.PartnershipStatus
        assert defn.updates[name].validator is not None, f"{name}: updates are validated"
    assert defn.queries[STATUS_QUERY].ret_type is partnership.PartnershipStatus


def test_gathering_defines_an_update_for_each_message_of_its_table_and_no_signal() -> None:
    defn = _Definition.must_from_class(GatheringWorkflow)
    assert defn.name == gathering.WORKFLOW_TYPE
    assert set(defn.updates) == set(gathering.MESSAGES)
    assert set(defn.signals) == set()
    assert all(defn.updates[n].ret_type is gathering.GatheringStatus for n in gathering.MESSAGES)
    assert set(defn.queries) == {STATUS_QUERY}


def test_cohort_defines_the_contract_names() -> None:
    defn = _Definition.must_from_class(CohortWorkflow)
    assert defn.name == cohort.WORKFLOW_TYPE
    assert set(defn.signals) == {*cohort.SIGNALS, None}  # None: the catch-all, an unknown name is a rejection
    assert defn.signals[None].arg_types == [str, Sequence[RawValue]]
    for name in cohort.SIGNALS:
        assert defn.signals[name].arg_types == [RawValue], f"{name}: signals take the raw payload"
    assert set(defn.updates) == {cohort.APPROVE_MATCHING}
    assert defn.updates[cohort.APPROVE_MATCHING].arg_types == [RawValue]
    assert defn.updates[cohort.APPROVE_MATCHING].validator is not None
    assert set(defn.queries) == {STATUS_QUERY}


@pytest.mark.parametrize("module", [partnership, gathering])
def test_each_message_is_named_by_its_command(module: object) -> None:
    for name, command in module.MESSAGES.items():  # type: ignore[attr-defined]
        assert command.model_fields["type"].default == name


def _imports(package: str) -> set[str]:
    found: set[str] = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module.split(".")[0])
            elif isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
    return found


def test_no_upward_imports() -> None:
    """contract/ imports only domain, pydantic and temporalio.common; activities/ never import workflows/."""
    assert _imports("contract") <= {
        "__future__",
        "collections",
        "datetime",
        "typing",
        "pydantic",
        "temporalio",
        "contract",
        "domain",
    }
    assert "workflows" not in _imports("activities")
    assert "workers" not in _imports("activities") | _imports("workflows") | _imports("contract")
    for path in (ROOT / "contract").rglob("*.py"):
        text = path.read_text()
        assert "temporalio." not in text.replace("temporalio.common", ""), f"{path}: temporalio.common only"


class _Ping(BaseModel):
    type: Literal["ping"] = "ping"


@workflow.defn(name="ContractProbe")
@inbox.handlers({"ping": _Ping}, PartnershipStatus)
class _Probe:
    """A workflow that spells out no handler: all of them come from its table."""

    def __init__(self) -> None:
        self._inbox: inbox.Inbox[PartnershipStatus] = inbox.Inbox({"ping": _Ping}, lambda command: None, self.status)

    @workflow.run
    async def run(self) -> None:
        return None

    def status(self) -> PartnershipStatus:  # pragma: no cover - not run
        raise NotImplementedError


def test_a_new_message_gets_its_signal_and_update_from_the_table_alone() -> None:
    defn = _Definition.must_from_class(_Probe)
    assert set(defn.signals) == {"ping"} and set(defn.updates) == {"ping"}
    assert defn.signals["ping"].arg_types == [RawValue]
    assert defn.updates["ping"].ret_type is PartnershipStatus and defn.updates["ping"].validator is not None


def test_the_status_shows_every_state_field_of_the_same_name() -> None:
    from domain.partnership import initial_state
    from workflows.status import describe

    state = initial_state("partnership-c-m").model_copy(update={"diary_entries": 3, "mentor_id": "mr-1"})
    shown = describe(state)
    assert (shown.diary_entries, shown.mentor_id, shown.partnership_id) == (3, "mr-1", "partnership-c-m")
