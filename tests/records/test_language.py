"""The people registry keeps each person's preferred language (migration 0011): given, kept, changed, erased."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError

from activities.records import RecordStore
from domain import Contact, Language


def _id() -> str:
    return f"lang-{uuid.uuid4().hex[:10]}"


async def test_a_given_language_is_stored_and_an_absent_one_means_english(store: RecordStore) -> None:
    finn, other = _id(), _id()
    await store.register_person(finn, "mentee", Contact(name="Aino", email="aino@example.org", preferred_language="fi"))
    await store.register_person(other, "mentee", Contact(name="Bo", email="bo@example.org"))
    found = await store.get_contact(finn, "mentee")
    assert found is not None and found.preferred_language == Language.FI and found.language == Language.FI
    plain = await store.get_contact(other, "mentee")
    assert plain is not None and plain.preferred_language is None and plain.language == Language.EN
    trail = await store.person_audit(finn)
    assert trail[0]["fields"] == ["name", "email", "preferred_language"]


async def test_an_application_never_changes_a_stored_language_but_the_registry_command_does(
    store: RecordStore,
) -> None:
    person = _id()
    swedish = Contact(name="Saga", email="saga@example.org", preferred_language="sv")
    await store.register_person(person, "mentor", swedish)
    same_without_language = Contact(name="Saga", email="saga@example.org")
    assert (await store.register_person(person, "mentor", same_without_language)).value == "unchanged"
    finnish = swedish.replace(preferred_language="fi")
    assert (await store.register_person(person, "mentor", finnish)).value == "kept"
    kept = await store.get_contact(person, "mentor")
    assert kept is not None and kept.language == Language.SV
    assert await store.change_contact(person, "mentor", same_without_language, actor="coord") == []
    assert await store.change_contact(person, "mentor", finnish, actor="coord", reason="asked") == [
        "preferred_language"
    ]
    changed = await store.get_contact(person, "mentor")
    assert changed == finnish
    assert (await store.person_audit(person))[-1]["fields"] == ["preferred_language"]  # the field, never the value


async def test_erasure_forgets_the_language_too(store: RecordStore) -> None:
    person = _id()
    await store.register_person(person, "mentee", Contact(name="Aino", preferred_language="fi"))
    assert await store.erase_person(person)
    assert await store.get_contact(person) is None


@pytest.mark.parametrize("value", ["de", "FI", "finnish", ""])
def test_only_the_programme_languages_are_accepted(value: str) -> None:
    with pytest.raises(ValidationError, match="preferred_language"):
        Contact(name="Aino", preferred_language=value)  # type: ignore[arg-type]
