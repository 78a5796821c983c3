"""Free text at rest in the records database: sealed under the partnership's data key (or, for what no person
owns, under the keyring).

What a person wrote (the mentee's goals in their application profile, diary reflections, goals and actions,
meeting topics and notes, review comments, the agreement's topics, a proposed match's reasons, every
coordinator's or party's reason, a rejected command's reason) is sealed field by field, in the event's JSON,
*before* it is stored: ``enc1:<base64 of nonce || AES-256-GCM ciphertext>``, under the data key of
``partnership:<partnership id>`` (the same key as the partnership's Temporal payloads, see workers/codec.py),
with ``partnership:<id>/text`` as associated data (``DataKeys.open_text`` opens it). ``SEALED_FIELDS`` lists
the fields per event type; a dotted name is a field of an object inside the event (``mentee.goals``).

The records layer then works on the sealed events only: the state folded from them, the read models projected
from them (``partnerships.state``, ``meetings``, ``diary_entries``, ``reviews``, ``agreements``) and the outbox's
``context`` all hold the same sealed strings, so ``records verify`` and ``records rebuild`` need no key and
still pass after erasure; the event's ``digest`` is the sha256 of the *sealed* JSON (it proves the log is
intact without being a fingerprint of what someone wrote). A sealed goal is longer than the limit of the goal
it stands for, so stored JSON is validated with ``SEALED_CONTEXT`` (``parse_stored_event``,
``stored_state_model``), which lets a sealed string past a line limit; nothing a caller sends is.

Sealing is deterministic per partnership: the nonce is an HMAC (under a key derived from the data key) of the
plaintext, so the very same event seals to the very same JSON, and a retried append is still recognised by its
digest. The only thing this tells a reader without the key is that two sealed strings of one partnership hold
the same text. Erasure destroys the data key (and with it the nonce key): every sealed string then opens to
the tombstone ``"erased"``. Reading paths (``RecordStore.read_log``, ``load_state``, ``list_awaiting_match``,
``load_round``, the outbox listings, the CLI) open them; rows written before sealing (plain text) read as they
are.

Elsewhere in the records: a matching round's reasons (``matching_rounds.result``, see ``cohorts``) are sealed
per mentee with the ``Sealer`` of the mentee's partnership in the cohort, so they are erased with it. What no
person owns is sealed with a ``KeyringSealer`` under the keyring's current key (``kr1:<key id>:<base64>``,
associated data ``<subject>/text``): a gathering's cancellation reason (``GATHERING_SEALED_FIELDS``, subject
``gathering:<key>``; the gathering's digest is its sealed JSON's too) and the round reasons of a mentee with no
partnership on file (subject ``round:<id>``). That is confidentiality at rest only; it is not erased with anyone.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from activities.keys import NONCE_BYTES, Keyring
from activities.records.datakeys import ERASED, FIELD_PREFIX, DataKeyError, DataKeys, Erased, UnknownDataKey
from activities.records.datakeys import partnership_subject as subject_of
from domain.limits import SEALED_CONTEXT_KEY
from domain.partnership import PartnershipState
from domain.partnership.events import Event, parse_event

FIELD = "text"
"""The field name in the associated data of every sealed records string (``partnership:<id>/text``)."""

REASON = ("reason",)
SEALED_FIELDS: Mapping[str, tuple[str, ...]] = {
    "application_submitted": ("mentee.goals",),
    "meeting_logged": ("topics", "notes"),
    "diary_entry_added": ("reflection", "goals", "actions"),
    "closing_review_submitted": ("comments",),
    "checkin_answered": ("note",),
    "match_proposed": ("topics", "reasons"),
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
"""Per event type, the JSON fields (a string, or a list of strings) sealed before the event is stored; a dotted
name is a field of an object in the event (``mentee.goals``: the goals of the application's mentee profile)."""

GATHERING_SEALED_FIELDS: Mapping[str, tuple[str, ...]] = {
    "gathering_cancelled": REASON,
}
"""Per gathering event type, the fields sealed under the keyring (``KeyringSealer``) before it is stored."""

KEYRING_PREFIX = "kr1:"
"""A string sealed under the keyring: ``kr1:<key id>:<base64>`` (as the gateway's stored bodies)."""

SEALED_CONTEXT: dict[str, object] = {SEALED_CONTEXT_KEY: lambda value: is_sealed(value)}
"""The validation context for stored JSON: a sealed string is longer than the text it stands for (which was
checked against its limit before it was sealed), so a limited field (a profile's goal) takes it as it is."""


def parse_stored_event(data: dict[str, Any]) -> Event:
    """A partnership's event from its stored JSON, sealed or not."""
    return parse_event(data, SEALED_CONTEXT)


def stored_state_model(data: dict[str, Any]) -> PartnershipState:
    """A partnership's state from its stored JSON (a read model, an outbox context), sealed or not."""
    return PartnershipState.model_validate(data, context=SEALED_CONTEXT)


class _TextSealer:
    """What seals a stored event's free-text fields and opens any stored JSON, given ``seal`` and ``open``."""

    fields: Mapping[str, tuple[str, ...]] = SEALED_FIELDS

    def seal(self, text: str) -> str:  # pragma: no cover - every sealer has its own
        raise NotImplementedError

    def open(self, stored: str) -> str:  # pragma: no cover - every sealer has its own
        raise NotImplementedError

    def seal_event(self, data: dict[str, Any]) -> dict[str, Any]:
        """The event's JSON with its free-text fields sealed (a new dict; other fields as they are)."""
        fields = self.fields.get(str(data.get("type")), ())
        if not fields:
            return data
        sealed = dict(data)
        for name in fields:
            self._seal_field(sealed, name.split("."))
        return sealed

    def _seal_field(self, data: dict[str, Any], path: list[str]) -> None:
        """Seal the field at ``path`` in ``data`` (in place; the objects on the way are copied first)."""
        name, rest = path[0], path[1:]
        value = data.get(name)
        if rest:
            if isinstance(value, dict):
                data[name] = inner = dict(value)
                self._seal_field(inner, rest)
        elif isinstance(value, str):
            data[name] = self.seal(value)
        elif isinstance(value, list | tuple):
            data[name] = [self.seal(item) if isinstance(item, str) else item for item in value]

    def seal_all(self, texts: Sequence[str]) -> tuple[str, ...]:
        return tuple(self.seal(text) for text in texts)

    def open_json(self, value: Any) -> Any:
        """Any stored JSON (an event, a state, an outbox context) with every string this sealer sealed opened."""
        if isinstance(value, str):
            return self.open(value)
        if isinstance(value, dict):
            return {name: self.open_json(item) for name, item in value.items()}
        if isinstance(value, list):
            return [self.open_json(item) for item in value]
        return value


class Sealer(_TextSealer):
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


class KeyringSealer(_TextSealer):
    """Seals and opens free text that belongs to no person (a gathering's cancellation reason, the reasons of a
    matching round for a mentee with no partnership on file) under the keyring's current key:
    ``kr1:<key id>:<base64 of nonce || AES-256-GCM ciphertext>``, with ``<subject>/text`` as associated data.

    Confidentiality at rest only: it is not erased with any person (no person's key owns it). Deterministic
    like :class:`Sealer` (the nonce is an HMAC of the text under a key derived from the keyring key), so a
    retried gathering append seals to the same JSON and is recognised by its digest. A rotated keyring still
    opens what an older key sealed (the key id is in the string)."""

    fields = GATHERING_SEALED_FIELDS

    def __init__(self, keyring: Keyring, subject: str, key_id: str | None = None) -> None:
        self.subject = subject
        self._keyring = keyring
        self._key_id = keyring.current if key_id is None else key_id
        self._aad = f"{subject}/{FIELD}".encode()

    def under(self, key_id: str) -> KeyringSealer:
        """The same sealer, sealing under another key of the keyring (what an older attempt sealed with)."""
        return KeyringSealer(self._keyring, self.subject, key_id)

    @property
    def other_key_ids(self) -> tuple[str, ...]:
        return tuple(sorted(key_id for key_id in self._keyring.keys if key_id != self._key_id))

    def seal(self, text: str) -> str:
        key = self._keyring.key(self._key_id)
        plaintext = text.encode()
        nonce_key = _derive_nonce_key(key.secret, f"keyring {self.subject}")
        nonce = hmac.new(nonce_key, plaintext, hashlib.sha256).digest()[:NONCE_BYTES]
        blob = nonce + AESGCM(key.secret).encrypt(nonce, plaintext, self._aad)
        return f"{KEYRING_PREFIX}{key.id}:{base64.b64encode(blob).decode()}"

    def open(self, stored: str) -> str:
        """The text; plain text (from before sealing) as it is. Raises KeyringError when the keyring lacks the
        key that sealed it (restore it) or the string was tampered with."""
        if not stored.startswith(KEYRING_PREFIX):
            return stored
        key_id, separator, encoded = stored[len(KEYRING_PREFIX) :].partition(":")
        if not separator:
            return stored
        try:
            blob = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            return stored  # someone wrote "kr1:..." themselves, before sealing: it is their text
        return self._keyring.decrypt(key_id, blob, aad=self._aad).decode()


def _derive_nonce_key(key: bytes, subject: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"entrypoint records nonce " + subject.encode())
    return hkdf.derive(key)


def is_sealed(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(FIELD_PREFIX)


def holds_keyring_sealed(value: Any) -> bool:
    """Whether some stored JSON holds a string sealed under the keyring (``KeyringSealer``) anywhere."""
    if isinstance(value, str):
        return value.startswith(KEYRING_PREFIX)
    if isinstance(value, dict):
        return any(holds_keyring_sealed(item) for item in value.values())
    if isinstance(value, list):
        return any(holds_keyring_sealed(item) for item in value)
    return False


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
