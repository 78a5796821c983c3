"""The payload codec: every Temporal payload AES-256-GCM encrypted under the keyring's current key.

An encrypted payload is ``Payload(metadata={"encoding": "binary/encrypted", "encryption-key-id": id},
data=nonce || AES-GCM(serialized original payload))``; the key id is also the GCM associated data, so a
payload cannot be passed off under another id. Decoding looks the id up in the keyring; an unknown id is
an error naming it (never a silent pass-through of ciphertext).

Plaintext payloads (no ``binary/encrypted`` encoding: histories recorded before the codec, or a start
input sent by a tool without ``--codec-endpoint``) are ACCEPTED AND FLAGGED: decoded as they are, and a
``plaintext_payload_decoded`` warning is logged (with the encoding only, never the content). See README,
Data protection, for the rule.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from activities.keys import Keyring, KeyringError

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"

log = logging.getLogger(__name__)


class CodecError(KeyringError):
    """A payload the codec cannot decode (unknown key, tampered, malformed): the message names the key id."""


class EncryptionCodec(PayloadCodec):
    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring
        self.plaintext_seen = 0
        """How many plaintext payloads this codec has let through (flagged in the log as well)."""

    @property
    def keyring(self) -> Keyring:
        return self._keyring

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encode_one(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decode_one(p) for p in payloads]

    def encode_one(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") == ENCODING:
            return payload  # already ours (e.g. a payload passed through unchanged)
        key_id, blob = self._keyring.encrypt(payload.SerializeToString(), aad=self._keyring.current.encode())
        return Payload(metadata={"encoding": ENCODING, KEY_ID: key_id.encode()}, data=blob)

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
