"""Records written by the release before typed evolve (flat clock fields in the stored state) are read and
appended to by today's code, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from activities.records import RecordStore, log
from activities.records import schema as s
from domain.partnership import commands as c
from domain.partnership import decide, fold, initial_state, next_due
from domain.partnership.events import parse_event
from domain.partnership.state import ADDED_SINCE_RELEASE

RELEASE = json.loads((Path(__file__).parents[1] / "fixtures" / "release_states.json").read_text())


def _renamed(data: Any, old: str, new: str) -> Any:
    """The release's JSON with its partnership id replaced (the database is shared by the session)."""
    return json.loads(json.dumps(data).replace(f'"{old}"', f'"{new}"'))


NEXT: dict[str, c.Command] = {
    "timed_pause": c.Tick(),
    "closing_review": c.SubmitClosingReview(party=c.Party.MENTOR, rating=4),
    "signing_reminded": c.SignAgreement(party=c.Party.MENTEE),
}
"""What happens next to each released partnership (at its next timer)."""


@pytest.mark.parametrize("name", ["timed_pause", "closing_review", "signing_reminded"])
async def test_a_state_row_written_by_the_release_is_appended_to_and_loads(store: RecordStore, name: str) -> None:
    record = RELEASE[name]
    old_pid = record["state"]["partnership_id"]
    pid = f"p-release-{uuid.uuid4().hex[:10]}"
    events = [parse_event(data) for data in _renamed(record["events"], old_pid, pid)]
    stored_state = _renamed(record["state"], old_pid, pid)
    assert "pause" not in stored_state and "review_window" not in stored_state, "the release's flat shape"
    await store.append(pid, 0, events)

    async def as_the_release_wrote_it(connection: AsyncConnection) -> None:
        await connection.execute(update(s.partnerships).where(s.partnerships.c.id == pid).values(state=stored_state))

    await store.database.write(as_the_release_wrote_it)
    loaded = await store.load_state(pid)
    folded = fold(initial_state(pid), events)
    absent = {name for name in ADDED_SINCE_RELEASE if name not in stored_state}  # later bookkeeping fields
    assert loaded is not None and loaded.model_dump(exclude=absent) == folded.model_dump(exclude=absent)

    assert loaded is not None
    due = next_due(loaded)
    assert due is not None and due == next_due(folded)
    more = decide(loaded, NEXT[name], due.at)
    assert more, "the stored state is live"
    result = await store.append(pid, loaded.version, more)
    assert not result.duplicate
    after = await store.load_state(pid)
    assert after is not None and after.model_dump(exclude=absent) == fold(folded, more).model_dump(exclude=absent)
    assert after is not None and "review_window" in after.model_dump(mode="json"), "written back in today's shape"


async def test_verify_counts_a_state_row_in_the_releases_shape_as_agreeing(store: RecordStore) -> None:
    record = RELEASE["review_overdue_acknowledged"]
    pid = f"p-release-{uuid.uuid4().hex[:10]}"
    events = [parse_event(data) for data in _renamed(record["events"], record["state"]["partnership_id"], pid)]
    stored_state = _renamed(record["state"], record["state"]["partnership_id"], pid)
    await log.append(store.database, pid, 0, events)  # as the release stored it: its free text unsealed

    async def write_state(state: dict[str, Any]) -> None:
        async def work(connection: AsyncConnection) -> None:
            await connection.execute(update(s.partnerships).where(s.partnerships.c.id == pid).values(state=state))

        await store.database.write(work)

    await write_state(stored_state)
    assert (await store.verify()).by_partnership().get(pid, []) == []

    await write_state({**stored_state, "review_overdue": True})  # altered: the log says it was acknowledged
    [problem] = (await store.verify()).by_partnership()[pid]
    assert problem.startswith("partnerships.state: JSON differs from the folded log in review_clock")
