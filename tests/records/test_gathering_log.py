"""A gathering's event log in the records database, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

import pytest

from activities.records import VersionConflict
from activities.records.gatherings import GatheringVersionConflict
from activities.records.store import RecordStore
from domain.gathering import commands as c
from domain.gathering import decide, fold, initial_state
from tests.domain.test_gathering import T0, plan


async def test_appends_are_gap_free_and_a_retry_writes_nothing_twice(store: RecordStore) -> None:
    key = f"gathering-c-{uuid.uuid4().hex[:8]}"
    state = initial_state(key)
    first = decide(state, c.Schedule(plan=plan()), T0)
    state = fold(state, first)
    second = decide(state, c.Register(registrant_id="partnership-cohort-1-m01"), T0)

    assert await store.append_gathering_events(key, "cohort-1", 0, first) == 1
    assert await store.append_gathering_events(key, "cohort-1", 1, second) == 2
    assert await store.append_gathering_events(key, "cohort-1", 1, second) == 2  # a retried activity
    assert await store.read_gathering_log(key) == [*first, *second]

    other = decide(state, c.Register(registrant_id="partnership-cohort-1-m02"), T0)
    with pytest.raises(GatheringVersionConflict, match="holds a different event"):
        await store.append_gathering_events(key, "cohort-1", 1, other)
    with pytest.raises(GatheringVersionConflict, match="expected version 5"):
        await store.append_gathering_events(key, "cohort-1", 5, other)


async def test_a_batch_only_partly_stored_is_refused_not_completed(store: RecordStore) -> None:
    """The same rule as the partnerships' log: a batch is stored whole or not at all, so a stored prefix
    means another (shorter) batch won; the longer one is a conflict and its tail is not written."""
    key = f"gathering-c-{uuid.uuid4().hex[:8]}"
    state = initial_state(key)
    first = decide(state, c.Schedule(plan=plan()), T0)
    state = fold(state, first)
    one = decide(state, c.Register(registrant_id="partnership-cohort-1-m01"), T0)
    two = decide(fold(state, one), c.Register(registrant_id="partnership-cohort-1-m02"), T0)
    await store.append_gathering_events(key, "cohort-1", 0, first)
    await store.append_gathering_events(key, "cohort-1", 1, one)

    with pytest.raises(GatheringVersionConflict, match="only part of the batch is stored: version 3 is not"):
        await store.append_gathering_events(key, "cohort-1", 1, [*one, *two])
    assert await store.read_gathering_log(key) == [*first, *one]
    assert isinstance(GatheringVersionConflict("k", 1, 2, "-"), VersionConflict), "one conflict type to catch"


async def test_a_cancellation_reason_is_sealed_under_the_keyring_and_a_retry_is_recognised_across_a_rotation(
    store: RecordStore,
) -> None:
    from activities.keys import Keyring
    from activities.records import gatherings
    from domain.gathering import events as ge

    keyring = Keyring.generate()
    key = f"gathering-c-{uuid.uuid4().hex[:8]}"
    state = initial_state(key)
    events = decide(state, c.Schedule(plan=plan()), T0)
    state = fold(state, events)
    cancelled = decide(state, c.CancelGathering(reason="the host fell ill"), T0)
    assert await gatherings.append(store.database, key, "cohort-1", 0, [*events, *cancelled], keyring) == 2

    [_, sealed] = await gatherings.read(store.database, key, keyring, sealed=True)
    assert isinstance(sealed, ge.GatheringCancelled) and sealed.reason.startswith(f"kr1:{keyring.current}:")
    assert (await gatherings.read(store.database, key, keyring))[-1] == cancelled[0]

    rotated = keyring.rotated()  # the activity is retried after the keyring was rotated
    assert await gatherings.append(store.database, key, "cohort-1", 0, [*events, *cancelled], rotated) == 2
    assert (await gatherings.read(store.database, key, rotated))[-1] == cancelled[0]  # the old key still opens it
    other = decide(state, c.CancelGathering(reason="another reason"), T0)
    with pytest.raises(GatheringVersionConflict, match="holds a different event"):
        await gatherings.append(store.database, key, "cohort-1", 0, [*events, *other], rotated)
