"""The payload codec: every Temporal payload AES-256-GCM encrypted under the keyring's current key.

An encrypted payload is ``Payload(metadata={"encoding": "binary/encrypted", "encryption-key-id": id},
data=nonce || AES-GCM(serialized original payload))``; the key id is also the GCM associated data, so a
payload cannot be passed off under another id. Decoding looks the id up in the keyring; an unknown id is
an error naming it (never a silent pass-through of ciphertext).

Crypto-shredding: given the records database's data keys (activities/records/datakeys.py), the payloads of a
Partnership workflow (its input, signals, updates, queries, activity inputs and results, failures: the SDK
passes the workflow id as serialization context) are encrypted under that partnership's own data key instead,
``encryption-key-id`` ``dk:partnership:<workflow id>``. Erasure destroys that key: the payloads then decode to
the tombstone ``"erased"`` (metadata ``erased: true``), in the codec server as anywhere else. Without data keys
(tests, benchmarks, the replayer) everything is under the keyring alone, and a ``dk:`` payload is an error.

Plaintext payloads (no ``binary/encrypted`` encoding: histories recorded before the codec, or a start
input sent by a tool without ``--codec-endpoint``) are ACCEPTED AND FLAGGED: decoded as they are, and a
``plaintext_payload_decoded`` warning is logged (with the encoding only, never the content). See README,
Data protection, for the rule.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Self

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec, SerializationContext, WithSerializationContext

from activities.keys import NONCE_BYTES, Keyring, KeyringError
from activities.records.datakeys import ERASED, DataKeys, Erased, partnership_subject

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
DATA_KEY_PREFIX = "dk:"
PARTNERSHIP_PREFIX = "partnership-"

log = logging.getLogger(__name__)


class CodecError(KeyringError):
    """A payload the codec cannot decode (unknown key, tampered, malformed): the message names the key id."""


def tombstone() -> Payload:
    """What an erased payload decodes to: the JSON string "erased"."""
    return Payload(metadata={"encoding": b"json/plain", "erased": b"true"}, data=f'"{ERASED}"'.encode())


class EncryptionCodec(PayloadCodec, WithSerializationContext):
    def __init__(self, keyring: Keyring, data_keys: DataKeys | None = None, subject: str | None = None) -> None:
        self._keyring = keyring
        self._data_keys = data_keys
        self._subject = subject
        self.plaintext_seen = 0
        """How many plaintext payloads this codec has let through (flagged in the log as well)."""

    @property
    def keyring(self) -> Keyring:
        return self._keyring

    @property
    def data_keys(self) -> DataKeys | None:
        return self._data_keys

    @property
    def subject(self) -> str | None:
        """The data-key subject new payloads are encrypted under (None: the keyring's current key)."""
        return self._subject

    def with_context(self, context: SerializationContext) -> Self:
        workflow_id = getattr(context, "workflow_id", None)
        subject = None
        if self._data_keys is not None and workflow_id and workflow_id.startswith(PARTNERSHIP_PREFIX):
            subject = partnership_subject(workflow_id)
        if subject == self._subject:
            return self
        return type(self)(self._keyring, self._data_keys, subject)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        if self._subject is None or self._data_keys is None:
            return [self.encode_one(p) for p in payloads]
        key = await self._data_keys.key(self._subject, create=True)
        return [self._encode_under(key, p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        decoded = []
        for payload in payloads:
            key_id = payload.metadata.get(KEY_ID, b"").decode(errors="replace")
            if payload.metadata.get("encoding") == ENCODING and key_id.startswith(DATA_KEY_PREFIX):
                decoded.append(await self._decode_under_data_key(key_id, payload))
            else:
                decoded.append(self.decode_one(payload))
        return decoded

    def encode_one(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") == ENCODING:
            return payload  # already ours (e.g. a payload passed through unchanged)
        key_id, blob = self._keyring.encrypt(payload.SerializeToString(), aad=self._keyring.current.encode())
        return Payload(metadata={"encoding": ENCODING, KEY_ID: key_id.encode()}, data=blob)

    def _encode_under(self, key: bytes, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") == ENCODING:
            return payload
        key_id = (DATA_KEY_PREFIX + (self._subject or "")).encode()
        nonce = os.urandom(NONCE_BYTES)
        blob = nonce + AESGCM(key).encrypt(nonce, payload.SerializeToString(), key_id)
        return Payload(metadata={"encoding": ENCODING, KEY_ID: key_id}, data=blob)

    async def _decode_under_data_key(self, key_id: str, payload: Payload) -> Payload:
        if self._data_keys is None:
            raise CodecError(f"payload under data key {key_id!r}: this codec has no access to the data keys")
        try:
            key = await self._data_keys.key(key_id[len(DATA_KEY_PREFIX) :])
        except Erased:
            return tombstone()
        try:
            plaintext = AESGCM(key).decrypt(payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:], key_id.encode())
        except Exception:
            raise CodecError(f"data under key {key_id!r} does not decrypt: tampered or not ours") from None
        decoded = Payload()
        decoded.ParseFromString(plaintext)
        return decoded

    def decode_one(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            self.plaintext_seen += 1
            encoding = payload.metadata.get("encoding", b"").decode(errors="replace")
            log.warning("plaintext_payload_decoded", extra={"encoding": encoding})
            return payload
        raw_id = payload.metadata.get(KEY_ID)
        if not raw_id:
            raise CodecError("an encrypted payload carries no encryption-key-id; it cannot be decoded")
        key_id = raw_id.decode(errors="replace")
        plaintext = self._keyring.decrypt(key_id, payload.data, aad=raw_id)
        decoded = Payload()
        try:
            decoded.ParseFromString(plaintext)
        except Exception:
            raise CodecError(f"a payload under key {key_id!r} decrypts but is not a payload") from None
        return decoded


def encrypted_payloads(messages: Iterable[Message]) -> Iterator[Payload]:
    """Every encrypted payload anywhere inside ``messages`` (history events, say): in message fields, repeated
    fields and maps (memos, headers), at any depth, ``Failure.encoded_attributes`` included."""
    for message in messages:
        if isinstance(message, Payload):
            if message.metadata.get("encoding") == ENCODING:
                yield message
            continue
        for field, value in message.ListFields():
            if field.message_type is None:
                continue
            if field.message_type.GetOptions().map_entry:
                if field.message_type.fields_by_name["value"].message_type is not None:
                    yield from encrypted_payloads(value.values())
            elif field.is_repeated:
                yield from encrypted_payloads(value)
            else:
                yield from encrypted_payloads([value])


async def decode_in_place(messages: Iterable[Message], codec: PayloadCodec) -> int:
    """Decode, in place, every encrypted payload inside ``messages`` (e.g. a fetched history's events, so that
    it replays with the default converter, as a test fixture must). Returns how many were decoded. The result
    holds what the payloads hold, personal data included: never keep one of real people."""
    found = list(encrypted_payloads(messages))
    for payload, decoded in zip(found, await codec.decode(found), strict=True):
        payload.CopyFrom(decoded)
    return len(found)
