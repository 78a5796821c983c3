"""The keyring: AES-256 keys that encrypt every Temporal payload (and wrap the per-person data keys).

A keyring is a current key plus the older keys, each with an opaque id (``k`` + 12 hex digits). New
payloads are encrypted under the current key; the id travels in the payload's metadata, so any older
payload stays readable as long as its key stays in the ring. ``entrypoint keys rotate`` adds a new
current key and keeps the old ones.

Where it comes from, first match wins:

- ``ENTRYPOINT_KEYRING``: the keyring's JSON itself (for containers and secret stores);
- ``ENTRYPOINT_KEYRING_FILE``: a path to that JSON (default ``var/keyring.json``, created with mode 0600 by
  ``entrypoint setup`` or ``make run`` when missing).

The JSON: ``{"current": "k...", "keys": [{"id": "k...", "key": "<base64 of 32 bytes>", "created_at": "..."}]}``.
Error messages name key ids and paths, never key material.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEYRING_ENV = "ENTRYPOINT_KEYRING"
KEYRING_FILE_ENV = "ENTRYPOINT_KEYRING_FILE"
DEFAULT_KEYRING_FILE = Path("var") / "keyring.json"
NONCE_BYTES = 12


class KeyringError(Exception):
    """The keyring is missing, unreadable, or lacks a key: the message says which and where."""


class UnknownKey(KeyringError):
    def __init__(self, key_id: str) -> None:
        super().__init__(
            f"no key {key_id!r} in the keyring: this data was encrypted under a key the keyring does not hold "
            "(restore that key into the keyring; see README, Data protection)"
        )
        self.key_id = key_id


@dataclass(frozen=True)
class Key:
    id: str
    secret: bytes = field(repr=False)
    created_at: str

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "key": base64.b64encode(self.secret).decode(), "created_at": self.created_at}


def new_key() -> Key:
    return Key(id=f"k{secrets.token_hex(6)}", secret=AESGCM.generate_key(bit_length=256), created_at=_now())


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Keyring:
    current: str
    keys: dict[str, Key]
    source: str = "memory"

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise KeyringError(f"the keyring ({self.source}) names current key {self.current!r} but does not hold it")

    @classmethod
    def generate(cls, source: str = "memory") -> Keyring:
        key = new_key()
        return cls(current=key.id, keys={key.id: key}, source=source)

    def key(self, key_id: str) -> Key:
        try:
            return self.keys[key_id]
        except KeyError:
            raise UnknownKey(key_id) from None

    def rotated(self) -> Keyring:
        key = new_key()
        return Keyring(current=key.id, keys={**self.keys, key.id: key}, source=self.source)

    # AES-256-GCM, with a fresh 96-bit nonce per message: nonce || ciphertext+tag. ``aad`` binds context.
    def encrypt(self, plaintext: bytes, aad: bytes = b"") -> tuple[str, bytes]:
        key = self.keys[self.current]
        nonce = os.urandom(NONCE_BYTES)
        return key.id, nonce + AESGCM(key.secret).encrypt(nonce, plaintext, aad)

    def decrypt(self, key_id: str, blob: bytes, aad: bytes = b"") -> bytes:
        key = self.key(key_id)
        try:
            return AESGCM(key.secret).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
        except Exception:  # InvalidTag: tampered, truncated, or another key under the same id
            raise KeyringError(f"data under key {key_id!r} does not decrypt: tampered or not ours") from None

    def to_json(self) -> str:
        keys = [key.to_json() for key in sorted(self.keys.values(), key=lambda k: k.created_at)]
        return json.dumps({"current": self.current, "keys": keys}, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str) -> Keyring:
        try:
            data = json.loads(text)
            keys = {}
            for item in data["keys"]:
                secret = base64.b64decode(item["key"], validate=True)
                if len(secret) != 32:
                    raise KeyringError(f"key {item['id']!r} in the keyring ({source}) is not 32 bytes (AES-256)")
                keys[item["id"]] = Key(id=item["id"], secret=secret, created_at=item.get("created_at", ""))
            return cls(current=data["current"], keys=keys, source=source)
        except KeyringError:
            raise
        except (ValueError, KeyError, TypeError, binascii.Error) as error:
            raise KeyringError(f"the keyring ({source}) is not valid keyring JSON: {type(error).__name__}") from None


def keyring_file() -> Path:
    return Path(os.environ.get(KEYRING_FILE_ENV) or DEFAULT_KEYRING_FILE)


def load_keyring() -> Keyring:
    """The process's keyring, from ENTRYPOINT_KEYRING or the keyring file; KeyringError says how to make one."""
    inline = os.environ.get(KEYRING_ENV)
    if inline:
        return Keyring.from_json(inline, source=KEYRING_ENV)
    path = keyring_file()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KeyringError(
            f"no keyring at {path}: run `entrypoint setup` (or `entrypoint keys init`) to create one, "
            f"or set {KEYRING_ENV}"
        ) from None
    except OSError as error:
        raise KeyringError(f"cannot read the keyring {path}: {error.strerror}") from None
    return Keyring.from_json(text, source=str(path))


def save_keyring(keyring: Keyring, path: Path) -> None:
    """Write the keyring atomically, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(keyring.to_json())
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def ensure_keyring() -> tuple[Keyring, bool]:
    """The keyring, creating the keyring file when there is none (and no ENTRYPOINT_KEYRING); (ring, created)."""
    if os.environ.get(KEYRING_ENV):
        return load_keyring(), False
    path = keyring_file()
    if path.exists():
        return load_keyring(), False
    keyring = Keyring.generate(source=str(path))
    save_keyring(keyring, path)
    return keyring, True


def rotate_keyring() -> Keyring:
    """Add a new current key to the keyring file; the older keys stay (older payloads stay readable)."""
    if os.environ.get(KEYRING_ENV):
        raise KeyringError(
            f"the keyring comes from {KEYRING_ENV}; rotate it where that value is kept "
            f"(or unset it to rotate {keyring_file()})"
        )
    keyring = load_keyring().rotated()
    save_keyring(keyring, keyring_file())
    return keyring
