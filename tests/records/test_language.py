"""The people registry keeps each person's preferred language (migration 0011): given, kept, changed, erased."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from pydantic import ValidationError

from activities.records import RecordStore
from domain import Contact, Language
from tests.records.test_mentors import cli_database  # noqa: F401 (the fixture: commands against the database)
from workers.cli import main


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


# ---------------------------------------------------------------------------------------------- mentors import


@pytest.mark.usefixtures("cli_database")
async def test_mentors_import_takes_a_preferred_language_column(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fi, sv, plain, bad, nameless = (_id() for _ in range(5))
    path = tmp_path / "mentors.csv"
    header = "mentor_id,organisation_id,sector,expertise,languages,name,email,preferred_language\n"
    path.write_text(
        header + f"{fi},org-nokia,private,data,fi,Aino Virtanen,aino@example.org,fi\n"
        f"{sv},org-kela,public,policy,sv,Saga Lind,saga@example.org, SV \n"
        f"{plain},org-x,third,law,en,Bo Lind,bo@example.org,\n"
        f"{bad},org-x,third,law,en,Cai,cai@example.org,de\n"
        f"{nameless},org-x,third,law,en,,,fi\n",
        encoding="utf-8",
    )
    assert await asyncio.to_thread(main, ["mentors", "import", str(path)]) == 1
    captured = capsys.readouterr()
    assert "imported 3, rejected 2" in captured.out
    assert "line 5: contact: preferred_language: Input should be 'en', 'fi' or 'sv'" in captured.err
    assert "line 6: contact: a name is needed with a preferred_language" in captured.err
    assert "Cai" not in captured.err and "cai@example.org" not in captured.err
    store = RecordStore.from_url(database_url)
    try:
        languages = [(await store.get_contact(i, "mentor")) for i in (fi, sv, plain)]
        assert [c.preferred_language if c else "missing" for c in languages] == [Language.FI, Language.SV, None]
        # Imported again without the column: the stored language stays; with another one: it changes (audited).
        path.write_text(
            "mentor_id,organisation_id,sector,expertise,languages,name,email\n"
            f"{fi},org-nokia,private,data,fi,Aino Virtanen,aino@example.org\n",
            encoding="utf-8",
        )
        assert await asyncio.to_thread(main, ["mentors", "import", str(path)]) == 0
        assert (await store.get_contact(fi, "mentor")) == Contact(
            name="Aino Virtanen", email="aino@example.org", preferred_language="fi"
        )
        path.write_text(header + f"{fi},org-nokia,private,data,fi,Aino Virtanen,aino@example.org,sv\n")
        assert await asyncio.to_thread(main, ["mentors", "import", str(path)]) == 0
        changed = await store.get_contact(fi, "mentor")
        assert changed is not None and changed.language == Language.SV
        assert (await store.person_audit(fi))[-1]["fields"] == ["preferred_language"]
    finally:
        await store.close()
    assert await asyncio.to_thread(main, ["people", "show", plain]) == 0
    assert "language: en (not given: the default)" in capsys.readouterr().out
