"""Per-subject data keys (crypto-shredding) and the codec's use of them, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

import pytest
from temporalio.converter import ActivitySerializationContext, WithSerializationContext, WorkflowSerializationContext

from activities.keys import Keyring, KeyringError
from activities.records import RecordStore
from activities.records.datakeys import ERASED, DataKeys, Erased, UnknownDataKey, partnership_subject, person_subject
from domain.people import Contact
from workers.codec import KEY_ID, EncryptionCodec
from workers.temporal import data_converter

SECRET = "Wilhelmina Canary-Oakes"


def workflow_context(workflow_id: str) -> WorkflowSerializationContext:
    return WorkflowSerializationContext(namespace="default", workflow_id=workflow_id)


def activity_context(workflow_id: str, activity_type: str = "record_events") -> ActivitySerializationContext:
    return ActivitySerializationContext(
        namespace="default",
        activity_id="1",
        activity_type=activity_type,
        activity_task_queue="q",
        workflow_id=workflow_id,
        workflow_type="Partnership",
        is_local=False,
    )


async def test_a_partnerships_payloads_are_under_its_data_key_and_read_erased_once_it_is_destroyed(
    store: RecordStore,
) -> None:
    keyring = Keyring.generate()
    keys = DataKeys(store.database, keyring)
    workflow_id = f"partnership-c1-{uuid.uuid4().hex[:8]}"
    converter = data_converter(keyring, keys).with_context(workflow_context(workflow_id))
    [payload] = await converter.encode([{"reflection": SECRET}])
    assert payload.metadata[KEY_ID] == f"dk:{partnership_subject(workflow_id)}".encode()
    assert SECRET.encode() not in payload.SerializeToString()
    # Any process with the keyring and the records database reads it, with or without context (codec server).
    assert await data_converter(keyring, DataKeys(store.database, keyring)).decode([payload], [dict]) == [
        {"reflection": SECRET}
    ]
    assert await keys.destroy([partnership_subject(workflow_id)]) == 1
    fresh = DataKeys(store.database, keyring)
    assert await data_converter(keyring, fresh).decode([payload], [str]) == [ERASED]
    with pytest.raises(Erased):
        await fresh.key(partnership_subject(workflow_id), create=True)  # never a new key under an erased subject


async def test_activities_share_their_workflows_key_and_other_workflows_use_the_keyring(store: RecordStore) -> None:
    keyring = Keyring.generate()
    codec = EncryptionCodec(keyring, DataKeys(store.database, keyring))
    activity = activity_context("partnership-c1-m1")
    assert codec.with_context(activity).subject == "partnership:partnership-c1-m1"
    assert codec.with_context(workflow_context("cohort-c1")).subject is None
    assert EncryptionCodec(keyring).with_context(workflow_context("partnership-c1-m1")).subject is None
    [payload] = (
        await data_converter(keyring, DataKeys(store.database, keyring))
        .with_context(workflow_context("partnership-c1-m1"))
        .encode([SECRET])
    )
    with pytest.raises(KeyringError, match="no access to the data keys"):
        await EncryptionCodec(keyring).decode([payload])


async def test_unknown_subjects_and_wrapped_keys_under_an_unknown_keyring_key_are_named(store: RecordStore) -> None:
    keyring = Keyring.generate()
    keys = DataKeys(store.database, keyring)
    with pytest.raises(UnknownDataKey, match="no data key for partnership:nowhere"):
        await keys.key("partnership:nowhere")
    subject = partnership_subject(f"partnership-x-{uuid.uuid4().hex[:6]}")
    await keys.key(subject, create=True)
    with pytest.raises(KeyringError, match=f"no key '{keyring.current}' in the keyring"):
        await DataKeys(store.database, Keyring.generate()).key(subject)
    rotated = keyring.rotated()
    assert await DataKeys(store.database, rotated).key(subject) == await keys.key(subject)


async def test_contacts_are_stored_encrypted_and_read_as_nothing_after_erasure(store: RecordStore) -> None:
    person = f"p-{uuid.uuid4().hex[:8]}"
    await store.upsert_person(person, "mentee", Contact(name=SECRET, email="wilhelmina@example.org"))
    assert await store.get_contact(person) == Contact(name=SECRET, email="wilhelmina@example.org")

    async def raw(connection: object) -> tuple[str, str]:
        from sqlalchemy import select

        from activities.records import schema as s

        row = (
            await connection.execute(  # type: ignore[attr-defined]
                select(s.people.c.name, s.people.c.email).where(s.people.c.person_id == person)
            )
        ).one()
        return row.name, row.email

    name, email = await store.database.read(raw)
    assert name.startswith("enc1:") and SECRET not in name and "wilhelmina" not in email
    await store.data_keys.destroy([person_subject(person)])
    assert await store.data_keys.open_text(person_subject(person), "name", name) == ERASED
    assert await store.get_contact(person) is None


async def test_a_context_re_keys_the_codec_only_and_the_other_parts_take_none(store: RecordStore) -> None:
    """``EngineDataConverter.with_context`` copies the converter with the codec re-keyed, where the SDK rebuilds
    every part: that is only right while the payload and failure converters ignore the context."""
    keyring = Keyring.generate()
    converter = data_converter(keyring, DataKeys(store.database, keyring))
    workflow_id = f"partnership-c1-{uuid.uuid4().hex[:8]}"
    activity = activity_context(workflow_id, "record_and_deliver")
    payloads = converter.payload_converter
    assert isinstance(payloads, WithSerializationContext) and payloads.with_context(activity) is payloads
    assert not isinstance(converter.failure_converter, WithSerializationContext)
    assert converter.external_storage is None

    keyed = converter.with_context(activity)
    assert isinstance(keyed.payload_codec, EncryptionCodec)
    assert keyed.payload_codec.subject == partnership_subject(workflow_id)
    assert keyed.payload_converter is converter.payload_converter
    assert keyed.failure_converter is converter.failure_converter
    assert converter.with_context(workflow_context("cohort-c1")) is converter  # the keyring's key: no copy
    assert converter.payload_codec is not keyed.payload_codec  # the original is unchanged

    [payload] = await keyed.encode([{"reflection": SECRET}])
    assert payload.metadata[KEY_ID] == f"dk:{partnership_subject(workflow_id)}".encode()
    assert await converter.decode([payload], [dict]) == [{"reflection": SECRET}]
