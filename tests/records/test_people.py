"""The people registry, erasure, institutions and cohorts."""

from __future__ import annotations

import json

import pytest

from activities.records import PersonErased, PersonRole, RecordStore
from domain import Contact, Institution
from tests.records.helpers import Pair, unique


async def test_people_are_registered_by_role(store: RecordStore) -> None:
    person = unique("mentor")
    assert await store.get_contact(person) is None
    await store.upsert_person(person, "mentor", Contact(name="Aino Virtanen", email="aino@example.org"))
    assert await store.get_contact(person) == Contact(name="Aino Virtanen", email="aino@example.org")
    assert await store.get_role(person) == PersonRole.MENTOR

    await store.upsert_person(person, PersonRole.COORDINATOR, None)  # the same id in another role: another record
    assert await store.get_roles(person) == (PersonRole.COORDINATOR, PersonRole.MENTOR)
    assert await store.get_contact(person, "mentor") == Contact(name="Aino Virtanen", email="aino@example.org")
    assert await store.get_contact(person, "coordinator") is None
    with pytest.raises(ValueError, match="several roles"):
        await store.get_contact(person)

    await store.upsert_person(person, "coordinator", Contact(name="Aino V."))
    assert await store.get_contact(person, "coordinator") == Contact(name="Aino V.", email=None)
    assert await store.get_contact(person, "mentor") == Contact(name="Aino Virtanen", email="aino@example.org")


async def test_a_person_without_contact_has_none(store: RecordStore) -> None:
    person = unique("mentee")
    await store.upsert_person(person, "mentee", None)
    assert await store.get_contact(person) is None
    assert await store.get_role(person) == PersonRole.MENTEE


async def test_unknown_roles_are_refused(store: RecordStore) -> None:
    with pytest.raises(ValueError):
        await store.upsert_person(unique("x"), "admin", None)


async def test_erasure_forgets_contact_data_and_leaves_history_alone(store: RecordStore) -> None:
    pair = Pair(store)
    await store.upsert_person(pair.mentee_id, "mentee", Contact(name="Mikko Mentee", email="mikko@example.org"))
    await pair.live_through()
    before = await store.read_log(pair.pid)
    text = json.dumps([stored.data for stored in before])
    assert "Mikko" not in text and "mikko@example.org" not in text  # contact data never enters events

    assert await store.erase_person(pair.mentee_id) is True
    assert await store.get_contact(pair.mentee_id) is None
    assert await store.erase_person(pair.mentee_id) is True  # erasing again is harmless

    after = await store.read_log(pair.pid)
    assert [(s.version, s.digest, s.data) for s in after] == [(s.version, s.digest, s.data) for s in before]
    state = await store.load_state(pair.pid)
    assert state is not None and state.mentee_id == pair.mentee_id
    report = await store.verify()
    assert not [d for d in report.disagreements if d.partnership_id == pair.pid]

    with pytest.raises(PersonErased):
        await store.upsert_person(pair.mentee_id, "mentee", Contact(name="Mikko Mentee"))


async def test_erasing_an_unknown_person_says_so(store: RecordStore) -> None:
    assert await store.erase_person(unique("nobody")) is False


async def test_institutions(store: RecordStore) -> None:
    institution_id = unique("uni")
    assert await store.get_institution(institution_id) is None
    await store.upsert_institution(Institution(institution_id=institution_id, name="Aalto", partner=True))
    await store.upsert_institution(Institution(institution_id=institution_id, name="Aalto University", partner=False))
    assert await store.get_institution(institution_id) == Institution(
        institution_id=institution_id, name="Aalto University", partner=False
    )


async def test_cohorts(store: RecordStore) -> None:
    cohort = unique("cohort")
    assert await store.get_cohort_coordinator(cohort) is None
    await store.upsert_cohort(cohort, "coordinator-1")
    assert await store.get_cohort_coordinator(cohort) == "coordinator-1"
    await store.upsert_cohort(cohort, None)
    assert await store.get_cohort_coordinator(cohort) is None
