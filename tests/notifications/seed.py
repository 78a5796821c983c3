"""People and partnerships to deliver notifications for, recorded through the real store.

The store's database is shared by the whole session, so each test casts people and a partnership
with ids of their own (:class:`Cast`) and only ever delivers that partnership's notifications.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from activities.records.models import AppendResult
from activities.records.store import RecordStore
from domain import Contact
from domain.partnership import commands as c
from domain.partnership import initial_state
from tests.domain import builders as b

MENTEE = Contact(name="Priya Raman", email="priya.raman@example.org")
MENTOR = Contact(name="Mikko Virtanen", email="mikko.virtanen@example.com")
COORDINATOR = Contact(name="Carla Coordinator", email="carla@example.net")
PERSONAL = (MENTEE.name, str(MENTEE.email), MENTOR.name, str(MENTOR.email), COORDINATOR.name, str(COORDINATOR.email))
"""Strings that must never appear in logs, errors or the CLI listing."""


@dataclass(frozen=True)
class Cast:
    pid: str
    mentee_id: str
    mentor_id: str
    coordinator_id: str
    cohort_id: str

    @classmethod
    def new(cls) -> Cast:
        tag = uuid.uuid4().hex[:10]
        return cls(f"p-{tag}", f"mentee-{tag}", f"mentor-{tag}", f"coord-{tag}", f"cohort-{tag}")

    def key(self, version: int, role: str) -> str:
        return f"{self.pid}:{version}:{role}"

    # ------------------------------------------------------------------------------------------ histories

    def applied(self) -> b.Run:
        run = b.Run(initial_state(self.pid))
        run.do(c.SubmitApplication(cohort_id=self.cohort_id, mentee=b.mentee(mentee_id=self.mentee_id)))
        return run

    def accepted(self) -> b.Run:
        """One notice: application accepted (version 2, to the mentee)."""
        run = self.applied()
        run.do(b.screen(), at=b.T0 + timedelta(hours=1))
        return run

    def matched(self, mentor_id: str | None = None) -> b.Run:
        """Three notices: accepted (v2, mentee); match proposed (v3, mentee and mentor)."""
        run = self.accepted()
        run.do(b.match(mentor_id or self.mentor_id), at=b.T0 + b.DAY)
        return run

    def started(self) -> b.Run:
        """Five notices: accepted (v2); match (v3) to both; the Mentoring Toolkit (v6) to both."""
        run = self.matched()
        run.do(b.sign(b.MENTEE), at=b.T0 + 2 * b.DAY)
        run.do(b.sign(b.MENTOR))
        return run

    def signature_overdue(self) -> b.Run:
        """Matched (3 notices), reminded (v4, both), overdue (v5, the coordinator): six notices."""
        run = self.matched()
        run.tick_due()
        run.tick_due()
        return run


async def seed_people(
    store: RecordStore,
    cast: Cast,
    *,
    mentee: Contact | None = MENTEE,
    mentor: Contact | None = MENTOR,
    coordinator: bool = True,
) -> None:
    await store.upsert_person(cast.mentee_id, "mentee", mentee)
    await store.upsert_person(cast.mentor_id, "mentor", mentor)
    if coordinator:
        await store.upsert_person(cast.coordinator_id, "coordinator", COORDINATOR)
    await store.upsert_cohort(cast.cohort_id, cast.coordinator_id if coordinator else None)


async def record(store: RecordStore, run: b.Run) -> AppendResult:
    """Append the run's whole log to the store."""
    return await store.append(run.state.partnership_id, 0, run.log)
