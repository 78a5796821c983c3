"""``RecordStore``: the one object activities and commands use to reach the records database."""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Any

from activities.records import audit, cohorts, gatherings, log, mentors, outbox, registry
from activities.records.audit import Progress
from activities.records.datakeys import DataKeys
from activities.records.engine import Database, create_engine
from activities.records.mentors import MentorRecord
from activities.records.models import (
    AppendResult,
    OutboxMessage,
    OutboxStatus,
    PersonRole,
    StoredEvent,
    VerifyReport,
)
from activities.records.sealing import SEALED_FIELDS, Sealer, holds_sealed, parse_stored_event, sealer_for
from domain import Contact, Institution, MenteeProfile, MentorProfile
from domain.cohort import CohortReport
from domain.gathering.events import Event as GatheringEvent
from domain.matching import MatchingResult
from domain.partnership import PartnershipState
from domain.partnership.events import Event


class RecordStore:
    """Event logs, read models, the people registry and the outbox, on SQLite or PostgreSQL.

    The schema must exist (``activities.records.migrate.upgrade``). Safe to share between tasks.
    """

    def __init__(self, database: Database) -> None:
        self._db = database
        self._keys = DataKeys(database)

    @property
    def data_keys(self) -> DataKeys:
        """The per-person and per-partnership data keys (crypto-shredding), wrapped by the process's keyring."""
        return self._keys

    @classmethod
    def from_url(cls, url: str) -> RecordStore:
        """``sqlite+aiosqlite:///path/to/file.db`` or ``postgresql+asyncpg://user@host/db``."""
        return cls(Database(create_engine(url)))

    @property
    def dialect(self) -> str:
        return self._db.dialect

    @property
    def database(self) -> Database:
        return self._db

    async def close(self) -> None:
        await self._db.close()

    async def __aenter__(self) -> RecordStore:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.close()

    # ------------------------------------------------------------------------------------------ event logs

    async def append(self, partnership_id: str, expected_version: int, events: Sequence[Event]) -> AppendResult:
        """Append ``events`` as versions ``expected_version + 1 ...``, with read models and outbox, atomically.

        Appending the very same events again is a no-op (``duplicate=True``); anything else at a taken
        version, or an ``expected_version`` beyond the log, raises ``VersionConflict``.
        Free text is sealed under the partnership's data key before it is stored (``sealing``).
        """
        if not any(event.type in SEALED_FIELDS for event in events):
            return await log.append(self._db, partnership_id, expected_version, events)
        sealer = await sealer_for(self._keys, partnership_id, create=True)
        return await log.append(self._db, partnership_id, expected_version, events, sealer)

    async def read_log(self, partnership_id: str, *, sealed: bool = False) -> list[StoredEvent]:
        """The partnership's events in version order (empty when there are none), their free text opened
        (``erased`` once the partnership's key was destroyed); ``sealed``: exactly as stored."""
        stored = await log.read_log(self._db, partnership_id)
        if sealed or not any(holds_sealed(item.data) for item in stored):
            return stored
        sealer = await self.sealer(partnership_id)
        return [_opened_event(sealer, item) for item in stored]

    async def load_state(self, partnership_id: str, *, sealed: bool = False) -> PartnershipState | None:
        """The state after the last event (from the read model), or None for an unknown partnership; its free
        text opened (``erased`` after erasure) unless ``sealed``."""
        state = await log.load_state(self._db, partnership_id)
        if state is None or sealed:
            return state
        data = state.model_dump(mode="json")
        if not holds_sealed(data):
            return state
        sealer = await self.sealer(partnership_id)
        return PartnershipState.model_validate(sealer.open_json(data))

    async def sealer(self, partnership_id: str) -> Sealer:
        """What opens (never makes) the sealed free text of a partnership's records."""
        return await sealer_for(self._keys, partnership_id)

    async def open_message(self, message: OutboxMessage) -> OutboxMessage:
        """An outbox message with the sealed text of its ``context`` opened (``erased`` after erasure)."""
        if message.context is None or not holds_sealed(message.context):
            return message
        sealer = await self.sealer(message.partnership_id)
        return message.model_copy(update={"context": sealer.open_json(message.context)})

    # ------------------------------------------------------------------------------------------ people and places

    async def register_person(
        self, person_id: str, role: PersonRole | str, contact: Contact | None, *, actor: str = "application"
    ) -> registry.ContactOutcome:
        """Register a person in ``role``; an existing contact is never changed (that takes ``change_contact``).
        Raises PersonErased."""
        return await registry.register_person(self._db, person_id, role, contact, actor=actor, keys=self._keys)

    async def change_contact(
        self, person_id: str, role: PersonRole | str, contact: Contact, *, actor: str, reason: str | None = None
    ) -> list[str]:
        """Change a person's contact, with an audit record; returns the fields changed. Raises UnknownPerson,
        PersonErased."""
        return await registry.change_contact(
            self._db, person_id, role, contact, actor=actor, reason=reason, keys=self._keys
        )

    async def upsert_person(self, person_id: str, role: PersonRole | str, contact: Contact | None) -> None:
        """Deprecated: ``register_person``."""
        await registry.register_person(self._db, person_id, role, contact, keys=self._keys)

    async def get_contact(self, person_id: str, role: PersonRole | str | None = None) -> Contact | None:
        """The person's contact data in ``role``; None when unknown, erased, or never given."""
        return await registry.get_contact(self._db, person_id, role, self._keys)

    async def get_role(self, person_id: str) -> PersonRole | None:
        return await registry.get_role(self._db, person_id)

    async def get_roles(self, person_id: str) -> tuple[PersonRole, ...]:
        return await registry.get_roles(self._db, person_id)

    async def person_audit(self, person_id: str, role: PersonRole | str | None = None) -> list[dict[str, Any]]:
        """The audit trail of a person's record (field names, actors, reasons; never values)."""
        return await registry.audit_trail(self._db, person_id, role)

    async def erase_person(self, person_id: str, role: PersonRole | str | None = None) -> bool:
        """Clear the person's name and e-mail (in ``role``, or every role). False when there is no such person."""
        return await registry.erase_person(self._db, person_id, role)

    async def upsert_institution(self, institution: Institution) -> None:
        await registry.upsert_institution(self._db, institution)

    async def get_institution(self, institution_id: str) -> Institution | None:
        return await registry.get_institution(self._db, institution_id)

    async def upsert_cohort(self, cohort_id: str, coordinator_id: str | None) -> None:
        await registry.upsert_cohort(self._db, cohort_id, coordinator_id)

    async def get_cohort_coordinator(self, cohort_id: str) -> str | None:
        return await registry.get_cohort_coordinator(self._db, cohort_id)

    # ------------------------------------------------------------------------------------------ mentor pool

    async def upsert_mentor(
        self,
        profile: MentorProfile,
        contact: Contact | None = None,
        cohorts: Sequence[str] = (),
        *,
        reinstate: bool = False,
    ) -> None:
        """Add or update a mentor, available for ``cohorts`` (added to those recorded); the contact goes to the
        people registry (None keeps it). A withdrawn mentor stays withdrawn unless ``reinstate``."""
        await mentors.upsert_mentor(self._db, profile, contact, cohorts, reinstate=reinstate, keys=self._keys)

    async def get_mentor(self, mentor_id: str) -> MentorProfile | None:
        """The mentor's profile (withdrawn or not); None for an unknown id."""
        return await mentors.get_mentor(self._db, mentor_id)

    async def get_mentor_record(self, mentor_id: str) -> MentorRecord | None:
        """The profile with cohorts, withdrawal and timestamps; None for an unknown id."""
        return await mentors.get_mentor_record(self._db, mentor_id)

    async def list_mentors(self, cohort_id: str | None = None, include_withdrawn: bool = False) -> list[MentorProfile]:
        """Mentors by id: all, or those available for ``cohort_id``; withdrawn ones only when asked."""
        return await mentors.list_mentors(self._db, cohort_id, include_withdrawn)

    async def list_mentor_records(
        self, cohort_id: str | None = None, include_withdrawn: bool = False
    ) -> list[MentorRecord]:
        return await mentors.list_mentor_records(self._db, cohort_id, include_withdrawn)

    async def withdraw_mentor(self, mentor_id: str) -> bool:
        """Take a mentor out of the pool (kept, marked withdrawn). False when there is no such mentor."""
        return await mentors.withdraw_mentor(self._db, mentor_id)

    async def set_availability(self, mentor_id: str, cohort_id: str, available: bool) -> None:
        """Make a mentor available for a cohort, or not. Raises UnknownMentor."""
        await mentors.set_availability(self._db, mentor_id, cohort_id, available)

    async def list_awaiting_match(self, cohort_id: str, limit: int | None = None) -> list[MenteeProfile]:
        """Mentee profiles of the cohort's partnerships in AWAITING_MATCH, by partnership id; their goals opened
        with each partnership's data key (``erased`` after erasure)."""
        return await mentors.list_awaiting_match(self._db, cohort_id, limit, self._keys)

    async def mentor_load(self, cohort_id: str) -> dict[str, int]:
        """Slots in use per mentor: the cohort's partnerships awaiting signatures, active or paused."""
        return await mentors.mentor_load(self._db, cohort_id)

    async def previous_mentors(self, cohort_id: str) -> dict[str, tuple[str, ...]]:
        """Mentees awaiting a rematch in the cohort → the mentors they had before (exclusions for a round)."""
        return await mentors.previous_mentors(self._db, cohort_id)

    # ------------------------------------------------------------------------------------------ cohorts

    async def list_states(self, cohort_id: str) -> list[PartnershipState]:
        """Every partnership of the cohort as its read model holds it, ordered by id. Its free text stays sealed
        (counts, ids and profiles are what cohort-wide readers use); ``load_state`` opens one."""
        return await cohorts.list_states(self._db, cohort_id)

    async def save_round(self, round_id: str, cohort_id: str, number: int, result: MatchingResult) -> None:
        """Store a round; each mentee's reasons sealed under their partnership's data key (the keyring's current
        key for a mentee with no partnership on file)."""
        await cohorts.save_round(self._db, round_id, cohort_id, number, result, self._keys)

    async def load_round(self, round_id: str, *, sealed: bool = False) -> MatchingResult | None:
        """A stored round, its reasons opened (``erased`` for a partnership erased since); ``sealed``: as stored."""
        return await cohorts.load_round(self._db, round_id, self._keys, sealed=sealed)

    async def save_report(self, cohort_id: str, report: CohortReport) -> None:
        await cohorts.save_report(self._db, cohort_id, report)

    async def load_report(self, cohort_id: str) -> CohortReport | None:
        return await cohorts.load_report(self._db, cohort_id)

    async def append_gathering_events(
        self, gathering_key: str, cohort_id: str, expected_version: int, events: Sequence[GatheringEvent]
    ) -> int:
        """Append a gathering's events (idempotent, gap-free); returns the log's version after them. Their free
        text (a cancellation's reason) is sealed under the keyring's current key first."""
        return await gatherings.append(self._db, gathering_key, cohort_id, expected_version, events, self._keys.keyring)

    async def read_gathering_log(self, gathering_key: str, *, sealed: bool = False) -> list[GatheringEvent]:
        """The gathering's events, their sealed text opened (``sealed``: exactly as stored)."""
        return await gatherings.read(self._db, gathering_key, self._keys.keyring, sealed=sealed)

    # ------------------------------------------------------------------------------------------ outbox

    async def pending_outbox(self, partnership_id: str | None = None, limit: int = 100) -> list[OutboxMessage]:
        """Messages still to deliver, oldest first (their context's free text opened)."""
        return [await self.open_message(m) for m in await outbox.pending(self._db, partnership_id, limit)]

    async def mark_sent(self, key: str, message_id: str | None) -> None:
        """Delivered. Counts an attempt; a message already sent is left alone. Raises UnknownOutboxMessage."""
        await outbox.mark_sent(self._db, key, message_id)

    async def mark_undeliverable(self, key: str, reason: str) -> None:
        """Given up on (no address, recipient erased, rejected). Counts an attempt. Raises UnknownOutboxMessage."""
        await outbox.mark_undeliverable(self._db, key, reason)

    async def record_attempt(self, key: str, reason: str) -> None:
        """A failed attempt that may succeed later: counted, the message stays pending."""
        await outbox.record_attempt(self._db, key, reason)

    async def list_outbox(
        self, status: OutboxStatus | str | None = None, partnership_id: str | None = None
    ) -> list[OutboxMessage]:
        return [await self.open_message(m) for m in await outbox.listing(self._db, status, partnership_id)]

    # ------------------------------------------------------------------------------------------ audit

    async def verify(self) -> VerifyReport:
        """Fold every log and compare with the read models; lists every disagreement."""
        return await audit.verify(self._db)

    async def rebuild(self, progress: Progress | None = None, batch_size: int = audit.REBUILD_BATCH) -> int:
        """Rebuild all read models from the logs, in batches; returns the number of partnerships rebuilt."""
        return await audit.rebuild(self._db, progress, batch_size)


def _opened_event(sealer: Sealer, stored: StoredEvent) -> StoredEvent:
    if not holds_sealed(stored.data):
        return stored
    data = sealer.open_json(stored.data)
    return stored.model_copy(update={"data": data, "event": parse_stored_event(data)})
