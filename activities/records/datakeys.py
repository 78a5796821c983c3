"""Data keys for crypto-shredding: one AES-256 key per subject, wrapped by the keyring, in ``data_keys``.

Subjects: ``person:<person id>`` (their name and e-mail address in the people registry) and
``partnership:<workflow id>`` (every Temporal payload of that partnership: the application with the contact,
diary text, meeting notes, review comments, see workers/codec.py; and the free text of its records, see
sealing.py). Erasing a person destroys their key and
the keys of their (closed) partnerships: the ciphertext stays where it is, and nothing can read it any more.

A process keeps unwrapped keys in memory for at most ``ttl`` seconds, so a destroyed key stops working in
every process within that time (erasure refuses while a partnership is open, so only reads are affected).
"""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from activities.keys import NONCE_BYTES, Keyring, KeyringError, load_keyring
from activities.records import schema as s
from activities.records.engine import Database
from activities.records.sqltypes import db_now

ERASED = "erased"
"""What a read of erased personal data shows."""
FIELD_PREFIX = "enc1:"
"""A text column encrypted under a data key: ``enc1:<base64 of nonce || AES-GCM ciphertext>``."""


def person_subject(person_id: str) -> str:
    return f"person:{person_id}"


def partnership_subject(workflow_id: str) -> str:
    return f"partnership:{workflow_id}"


class DataKeyError(KeyringError):
    pass


class Erased(DataKeyError):
    def __init__(self, subject: str) -> None:
        super().__init__(f"the data key of {subject} was destroyed (erased): its data cannot be read")
        self.subject = subject


class UnknownDataKey(DataKeyError):
    def __init__(self, subject: str) -> None:
        super().__init__(f"no data key for {subject} in the records database")
        self.subject = subject


class DataKeys:
    def __init__(self, db: Database, keyring: Keyring | Callable[[], Keyring] = load_keyring, ttl: float = 30.0):
        self._db = db
        self._keyring_source = keyring
        self._keyring: Keyring | None = keyring if isinstance(keyring, Keyring) else None
        self._ttl = ttl
        self._cache: dict[str, tuple[bytes | None, float]] = {}

    @property
    def keyring(self) -> Keyring:
        if self._keyring is None:
            source = self._keyring_source
            self._keyring = source if isinstance(source, Keyring) else source()
        return self._keyring

    async def key(self, subject: str, create: bool = False) -> bytes:
        """The subject's data key; made when missing and ``create``. Erased / UnknownDataKey otherwise."""
        if self._fresh(subject, time.monotonic()):
            key: bytes | None = self._cache[subject][0]
        else:
            row = await self._db.read(lambda connection: _row(connection, subject))
            if row is None and create:
                await self._create(subject)
                row = await self._db.read(lambda connection: _row(connection, subject))
            if row is None:
                raise UnknownDataKey(subject)
            key = self._cache_row(subject, row)
        if key is None:
            raise Erased(subject)
        return key

    async def preload(self, subjects: Iterable[str], batch: int = 500) -> None:
        """Fetch the keys of many subjects in a few queries (a matching round opens every waiting mentee's
        goals): those on file are cached as ``key`` would cache them; the others are left to ``key``."""
        now = time.monotonic()
        wanted = sorted({subject for subject in subjects if not self._fresh(subject, now)})
        for start in range(0, len(wanted), batch):
            rows = await self._db.read(partial(_rows, wanted[start : start + batch]))
            for row in rows:
                self._cache_row(row.subject_id, row)

    def _fresh(self, subject: str, now: float) -> bool:
        cached = self._cache.get(subject)
        return cached is not None and now - cached[1] < self._ttl

    def _cache_row(self, subject: str, row: Any) -> bytes | None:
        """The key a ``data_keys`` row holds, unwrapped (None: destroyed by erasure), kept for the TTL."""
        key = None
        if row.wrapped is not None:
            key = self.keyring.decrypt(row.wrapping_key_id, row.wrapped, aad=subject.encode())
        self._cache[subject] = (key, time.monotonic())
        return key

    def forget(self) -> None:
        """Drop the keys this process holds in memory (they are fetched again, or found destroyed)."""
        self._cache.clear()

    async def _create(self, subject: str) -> None:
        wrapping_key_id, wrapped = self.keyring.encrypt(AESGCM.generate_key(bit_length=256), aad=subject.encode())

        async def work(connection: AsyncConnection) -> None:
            dialect_insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
            row = {"subject_id": subject, "wrapping_key_id": wrapping_key_id, "wrapped": wrapped}
            statement = dialect_insert(s.data_keys).values(**row, created_at=db_now())
            await connection.execute(statement.on_conflict_do_nothing(index_elements=["subject_id"]))

        await self._db.write(work)

    async def destroy(self, subjects: Iterable[str]) -> int:
        """Destroy these subjects' keys (a tombstone row stays, so the data reads as erased). Keys destroyed."""
        wanted = sorted(set(subjects))
        for subject in wanted:
            self._cache[subject] = (None, time.monotonic())
        if not wanted:
            return 0

        async def work(connection: AsyncConnection) -> int:
            k = s.data_keys.c
            result = await connection.execute(
                update(s.data_keys)
                .where(k.subject_id.in_(wanted), k.wrapped.is_not(None))
                .values(wrapped=None, wrapping_key_id=None, destroyed_at=db_now())
            )
            # Subjects without a key yet get a tombstone, so nothing is ever encrypted under them again.
            known = set((await connection.execute(select(k.subject_id).where(k.subject_id.in_(wanted)))).scalars())
            dialect_insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
            for subject in set(wanted) - known:
                statement = dialect_insert(s.data_keys).values(
                    subject_id=subject, created_at=db_now(), destroyed_at=db_now()
                )
                await connection.execute(statement.on_conflict_do_nothing(index_elements=["subject_id"]))
            return int(result.rowcount or 0) + len(set(wanted) - known)

        return await self._db.write(work)

    # Text fields (the people registry): AES-GCM under the subject's key, the field name as associated data.
    async def seal_text(self, subject: str, field: str, text: str | None) -> str | None:
        if text is None:
            return None
        key = await self.key(subject, create=True)
        nonce = os.urandom(NONCE_BYTES)
        blob = nonce + AESGCM(key).encrypt(nonce, text.encode(), f"{subject}/{field}".encode())
        return FIELD_PREFIX + base64.b64encode(blob).decode()

    async def open_text(self, subject: str, field: str, stored: str | None) -> str | None:
        """The plaintext; ``ERASED`` when the key was destroyed; legacy plaintext (no prefix) as it is."""
        if stored is None or not stored.startswith(FIELD_PREFIX):
            return stored
        try:
            key = await self.key(subject)
        except (Erased, UnknownDataKey):
            return ERASED
        blob = base64.b64decode(stored[len(FIELD_PREFIX) :])
        try:
            return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], f"{subject}/{field}".encode()).decode()
        except Exception:
            raise DataKeyError(f"the {field} of {subject} does not decrypt: tampered or not ours") from None


async def _rows(subjects: list[str], connection: AsyncConnection) -> list[Any]:
    k = s.data_keys.c
    query = select(k.subject_id, k.wrapping_key_id, k.wrapped).where(k.subject_id.in_(subjects))
    return list((await connection.execute(query)).all())


async def _row(connection: AsyncConnection, subject: str) -> Any:
    k = s.data_keys.c
    query = select(k.wrapping_key_id, k.wrapped).where(k.subject_id == subject)
    return (await connection.execute(query)).one_or_none()
