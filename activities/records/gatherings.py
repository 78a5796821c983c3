"""A gathering's event log: append-only, gap-free versions, a retried append is a no-op (see ``eventlog``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from activities.keys import Keyring
from activities.records import gathering_outbox
from activities.records import schema as s
from activities.records.engine import Database
from activities.records.errors import GatheringVersionConflict
from activities.records.eventlog import EventLog, digest, write_retrying
from activities.records.sealing import GATHERING_SEALED_FIELDS, KeyringSealer, holds_keyring_sealed
from domain.gathering.events import Event, event_json, parse_event

__all__ = ["LOG", "GatheringVersionConflict", "append", "gathering_subject", "read"]

LOG = EventLog(s.gathering_events, "gathering_key", "gathering", GatheringVersionConflict)


def gathering_subject(gathering_key: str) -> str:
    """What a gathering's sealed text names in its associated data (``gathering:<key>/text``)."""
    return f"gathering:{gathering_key}"


async def append(
    db: Database,
    gathering_key: str,
    cohort_id: str,
    expected_version: int,
    events: Sequence[Event],
    keyring: Keyring | None = None,
) -> int:
    """Append ``events`` as versions ``expected_version + 1 ...``; the same events again change nothing.
    With a ``keyring``, their free text (a cancellation's reason) is sealed under its current key first (see
    ``sealing.KeyringSealer``); the digest is the sealed JSON's."""
    if keyring is None or not any(event.type in GATHERING_SEALED_FIELDS for event in events):
        prepared = LOG.prepare(expected_version, events, event_json)
    else:
        sealer = KeyringSealer(keyring, gathering_subject(gathering_key))
        older = [sealer.under(key_id) for key_id in sealer.other_key_ids]
        prepared = [
            replace(
                item,
                legacy_digest=digest(event_json(item.event)),
                other_digests=tuple(digest(other.seal_event(event_json(item.event))) for other in older),
            )
            for item in LOG.prepare(expected_version, events, lambda event: sealer.seal_event(event_json(event)))
        ]
    if not prepared:
        return expected_version

    async def work(connection: AsyncConnection) -> int:
        if not await LOG.already_stored(connection, gathering_key, expected_version, prepared):
            await LOG.insert(connection, gathering_key, prepared, cohort_id=cohort_id)
            # The notices of the events written now, in the same transaction: a retried append that
            # writes no event writes no notice either.
            versioned = [(item.version, item.event) for item in prepared]
            await gathering_outbox.insert_rows(
                connection, await gathering_outbox.rows_for(connection, gathering_key, cohort_id, versioned)
            )
        return prepared[-1].version

    return await write_retrying(db, work)


async def read(
    db: Database, gathering_key: str, keyring: Keyring | None = None, *, sealed: bool = False
) -> list[Event]:
    """The gathering's events, their sealed text opened with ``keyring`` (left sealed without one, or when
    ``sealed``)."""

    async def work(connection: AsyncConnection) -> list[dict[str, Any]]:
        return [row.data for row in await LOG.rows(connection, gathering_key)]

    stored = await db.read(work)
    if keyring is not None and not sealed and any(holds_keyring_sealed(data) for data in stored):
        sealer = KeyringSealer(keyring, gathering_subject(gathering_key))
        stored = [sealer.open_json(data) if holds_keyring_sealed(data) else data for data in stored]
    return [parse_event(data) for data in stored]
