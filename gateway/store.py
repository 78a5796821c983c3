"""The gateway's records (in the records database, migration 0005): API tokens and idempotency keys.

Token secrets are 256-bit random strings shown once; only their SHA-256 is stored, and a presented secret
is compared with ``hmac.compare_digest``. A token reads ``ept_<token_id>_<secret>``: the id finds the row.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from activities.keys import load_keyring
from activities.records.engine import Database, create_engine
from activities.records.schema import api_tokens, idempotency_keys
from gateway.once import Claim, OnceTable, StoredResponse
from gateway.scopes import Principal, parse_scope

TOKEN_PREFIX = "ept"
IN_FLIGHT_LOCK = timedelta(minutes=15)
"""How long a claimed key stays in flight (409 to retries) if its gateway dies before answering: longer than
the slowest request (an approval recomputing a matching round), short enough that a retry gets through."""
NAME_MAX = 64


class TokenError(ValueError):
    """A token command that cannot be done (duplicate name, unknown name, bad scope): the reason."""


@dataclass(frozen=True)
class TokenInfo:
    name: str
    token_id: str
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None


BODY_PREFIX = "kr1:"
"""A stored response body sealed under the keyring: ``kr1:<key id>:<base64 of nonce || AES-GCM ciphertext>``.

A first response can hold what people wrote (a partnership's status after an update: reasons, topics), so it is
never stored readable; it is kept for the idempotency TTL only (``ENTRYPOINT_API_IDEMPOTENCY_TTL``), then
deleted. Bodies stored before (plain JSON) replay as they are."""


def _aad(principal: str, key: str) -> bytes:
    return f"idempotency/{principal}/{key}".encode()


def seal_body(principal: str, key: str, body: str) -> str:
    key_id, blob = load_keyring().encrypt(body.encode(), aad=_aad(principal, key))
    return f"{BODY_PREFIX}{key_id}:{base64.b64encode(blob).decode()}"


def open_body(principal: str, key: str, stored: str) -> str:
    if not stored.startswith(BODY_PREFIX):
        return stored
    key_id, _, blob = stored[len(BODY_PREFIX) :].partition(":")
    return load_keyring().decrypt(key_id, base64.b64decode(blob), aad=_aad(principal, key)).decode()


IDEMPOTENCY = OnceTable(
    idempotency_keys,
    keys=("principal", "key"),
    same="fingerprint",
    lock=IN_FLIGHT_LOCK,
    expires="expires_at",
    headers="headers",
    seal=lambda key, body: seal_body(key[0], key[1], body),
    unseal=lambda key, stored: open_body(key[0], key[1], stored),
)
"""The Idempotency-Key records: once per (principal, key), for the TTL, bodies sealed under the keyring."""


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


class GatewayStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    @classmethod
    def from_url(cls, url: str) -> GatewayStore:
        return cls(Database(create_engine(url)))

    async def close(self) -> None:
        await self._db.close()

    async def __aenter__(self) -> GatewayStore:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    # ------------------------------------------------------------------------------------------------ tokens

    async def create_token(self, name: str, scopes: list[str]) -> str:
        """Create a token; returns its secret (the only time it is seen). TokenError for a taken name."""
        if not name or len(name) > NAME_MAX or not all(ch.isalnum() or ch in "-_." for ch in name):
            raise TokenError("a token name is 1-64 letters, digits, '-', '_' or '.'")
        if not scopes:
            raise TokenError("give a token at least one --scope")
        try:
            parsed = sorted({parse_scope(s) for s in scopes})
        except ValueError as error:
            raise TokenError(str(error)) from None
        token_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)

        async def work(connection: AsyncConnection) -> None:
            await connection.execute(
                insert(api_tokens).values(
                    token_id=token_id, name=name, scopes=parsed, secret_sha256=_digest(secret), created_at=_now()
                )
            )

        try:
            await self._db.write(work)
        except IntegrityError:
            raise TokenError(f"a token named {name!r} exists already") from None
        return f"{TOKEN_PREFIX}_{token_id}_{secret}"

    async def list_tokens(self) -> list[TokenInfo]:
        async def work(connection: AsyncConnection) -> list[TokenInfo]:
            rows = await connection.execute(select(api_tokens).order_by(api_tokens.c.name))
            return [TokenInfo(r.name, r.token_id, tuple(r.scopes), r.created_at, r.revoked_at) for r in rows.fetchall()]

        return await self._db.read(work)

    async def revoke_token(self, name: str) -> bool:
        """Revoke the token named ``name``; False when it was already revoked. TokenError for an unknown name."""

        async def work(connection: AsyncConnection) -> bool | None:
            row = (await connection.execute(select(api_tokens.c.revoked_at).where(api_tokens.c.name == name))).first()
            if row is None:
                return None
            if row.revoked_at is not None:
                return False
            await connection.execute(update(api_tokens).where(api_tokens.c.name == name).values(revoked_at=_now()))
            return True

        done = await self._db.write(work)
        if done is None:
            raise TokenError(f"no token named {name!r}")
        return done

    async def authenticate(self, presented: str) -> Principal | None:
        """The principal for a presented token; None when it is malformed, unknown, wrong or revoked."""
        prefix, _, rest = presented.partition("_")
        token_id, _, secret = rest.partition("_")
        if prefix != TOKEN_PREFIX or not token_id or not secret or len(presented) > 200:
            return None

        async def work(connection: AsyncConnection) -> Any:
            return (await connection.execute(select(api_tokens).where(api_tokens.c.token_id == token_id))).first()

        row = await self._db.read(work)
        if row is None or not hmac.compare_digest(_digest(secret), row.secret_sha256) or row.revoked_at is not None:
            return None
        return Principal(name=row.name, scopes=frozenset(row.scopes))

    # ------------------------------------------------------------------------------------------ idempotency

    async def claim(
        self, principal: str, key: str, fingerprint: str, ttl: timedelta, lock: timedelta = IN_FLIGHT_LOCK
    ) -> Claim:
        """Claim ``key`` for a request with ``fingerprint``, in one write transaction.

        An expired record is replaced; an in-flight record whose lock ran out (its gateway died mid-request)
        may be taken over by a retry with the same request.
        """
        return await IDEMPOTENCY.claim(self._db, (principal, key), fingerprint, ttl=ttl, lock=lock)

    async def complete(self, principal: str, key: str, response: StoredResponse) -> None:
        await IDEMPOTENCY.complete(self._db, (principal, key), response)

    async def release(self, principal: str, key: str) -> None:
        """Forget an in-flight key (the request failed without an answer worth keeping): a retry runs again."""
        await IDEMPOTENCY.release(self._db, (principal, key))


def fingerprint(method: str, path: str, body: bytes) -> str:
    """The request's fingerprint: method, path and body (JSON bodies canonicalised, so key order and
    whitespace do not make two equal requests differ)."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode() if body else b""
    except (ValueError, UnicodeDecodeError):
        canonical = body
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canonical).hexdigest()
