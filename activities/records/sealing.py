"""Free text at rest in the records database: sealed under the partnership's data key.

What a person wrote (diary reflections, goals and actions, meeting topics and notes, review comments, the
agreement's topics, every coordinator's or party's reason, a rejected command's reason) is sealed field by
field, in the event's JSON, *before* it is stored: ``enc1:<base64 of nonce || AES-256-GCM ciphertext>``, under
the data key of ``partnership:<partnership id>`` (the same key as the partnership's Temporal payloads, see
workers/codec.py), with ``partnership:<id>/text`` as associated data (``DataKeys.open_text`` opens it).

The records layer then works on the sealed events only: the state folded from them, the read models projected
from them (``partnerships.state``, ``meetings``, ``diary_entries``, ``reviews``, ``agreements``) and the outbox's
``context`` all hold the same sealed strings, so ``records verify`` and ``records rebuild`` need no key and
still pass after erasure; the event's ``digest`` is the sha256 of the *sealed* JSON (it proves the log is
intact without being a fingerprint of what someone wrote).

Sealing is deterministic per partnership: the nonce is an HMAC (under a key derived from the data key) of the
plaintext, so the very same event seals to the very same JSON, and a retried append is still recognised by its
digest. The only thing this tells a reader without the key is that two sealed strings of one partnership hold
the same text. Erasure destroys the data key (and with it the nonce key): every sealed string then opens to
the tombstone ``"erased"``. Reading paths (``RecordStore.read_log``, ``load_state``, the outbox listings, the
CLI) open them; rows written before sealing (plain text) read as they are.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from activities.keys import NONCE_BYTES
from activities.records.datakeys import ERASED, FIELD_PREFIX, DataKeyError, DataKeys, Erased, UnknownDataKey
from activities.records.datakeys import partnership_subject as subject_of

FIELD = "text"
"""The field name in the associated data of every sealed records string (``partnership:<id>/text``)."""

REASON = ("reason",)
SEALED_FIELDS: Mapping[str, tuple[str, ...]] = {
    "meeting_logged": ("topics", "notes"),
    "diary_entry_added": ("reflection", "goals", "actions"),
    "closing_review_submitted": ("comments",),
    "checkin_answered": ("note",),
    "match_proposed": ("topics",),
    "agreement_amended": ("topics",),
    "coordinator_intervened": REASON,
    "meeting_rescheduled": REASON,
    "partnership_paused": REASON,
    "partnership_resumed": REASON,
    "partnership_extended": REASON,
    "rematch_requested": REASON,
    "attention_acknowledged": REASON,
    "party_withdrew": REASON,
    "partnership_ended_early": REASON,
    "partnership_completed": REASON,
    "command_rejected": REASON,
}
"""Per event type, the JSON fields (a string, or a list of strings) sealed before the event is stored."""


class Sealer:
    """Seals and opens the free text of one partnership's records, with its data key in hand."""

    def __init__(self, partnership_id: str, key: bytes | None) -> None:
        self.subject = subject_of(partnership_id)
        self._aad = f"{self.subject}/{FIELD}".encode()
        self._key = key
        self._nonce_key = None if key is None else _derive_nonce_key(key, self.subject)

    @property
    def erased(self) -> bool:
        return self._key is None

    def seal(self, text: str) -> str:
        if self._key is None or self._nonce_key is None:
            raise Erased(self.subject)
        plaintext = text.encode()
        nonce = hmac.new(self._nonce_key, plaintext, hashlib.sha256).digest()[:NONCE_BYTES]
        blob = nonce + AESGCM(self._key).encrypt(nonce, plaintext, self._aad)
        return FIELD_PREFIX + base64.b64encode(blob).decode()

    def open(self, stored: str) -> str:
        """The text; ``ERASED`` when the key is destroyed; plain text (from before sealing) as it is."""
        if not stored.startswith(FIELD_PREFIX):
            return stored
        try:
            blob = base64.b64decode(stored[len(FIELD_PREFIX) :], validate=True)
        except (binascii.Error, ValueError):
            return stored  # someone wrote "enc1:..." themselves, before sealing: it is their text
        if self._key is None:
            return ERASED
        try:
            return AESGCM(self._key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], self._aad).decode()
        except Exception:
            raise DataKeyError(f"a text of {self.subject} does not decrypt: tampered or not ours") from None

    def seal_event(self, data: dict[str, Any]) -> dict[str, Any]:
        """The event's JSON with its free-text fields sealed (a new dict; other fields as they are)."""
        fields = SEALED_FIELDS.get(str(data.get("type")), ())
        if not fields:
            return data
        sealed = dict(data)
        for name in fields:
            value = sealed.get(name)
            if isinstance(value, str):
                sealed[name] = self.seal(value)
            elif isinstance(value, list | tuple):
                sealed[name] = [self.seal(item) if isinstance(item, str) else item for item in value]
        return sealed

    def open_json(self, value: Any) -> Any:
        """Any stored JSON of this partnership (an event, a state, an outbox context) with every sealed string
        opened."""
        if isinstance(value, str):
            return self.open(value)
        if isinstance(value, dict):
            return {name: self.open_json(item) for name, item in value.items()}
        if isinstance(value, list):
            return [self.open_json(item) for item in value]
        return value


def _derive_nonce_key(key: bytes, subject: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"entrypoint records nonce " + subject.encode())
    return hkdf.derive(key)


def is_sealed(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(FIELD_PREFIX)


def holds_sealed(value: Any) -> bool:
    """Whether some stored JSON holds a sealed string anywhere."""
    if isinstance(value, str):
        return is_sealed(value)
    if isinstance(value, dict):
        return any(holds_sealed(item) for item in value.values())
    if isinstance(value, list):
        return any(holds_sealed(item) for item in value)
    return False


async def sealer_for(keys: DataKeys, partnership_id: str, create: bool = False) -> Sealer:
    """The partnership's sealer: with its key (made when missing and ``create``), or an erased one (its key was
    destroyed, or it never had one: then nothing of it is sealed, and nothing opens to anything but ERASED)."""
    try:
        return Sealer(partnership_id, await keys.key(subject_of(partnership_id), create=create))
    except (Erased, UnknownDataKey):
        if create:
            raise
        return Sealer(partnership_id, None)
