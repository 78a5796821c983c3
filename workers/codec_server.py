"""The codec server: decodes (and encodes) payloads for the Temporal UI and CLI, for staff with a token.

Temporal's remote codec contract: ``POST {endpoint}/decode`` and ``POST {endpoint}/encode`` take and return
``{"payloads": [{"metadata": {"encoding": "<base64>", ...}, "data": "<base64>"}]}`` (the protobuf JSON form
of ``Payloads``), with the namespace in ``X-Namespace``. CORS admits the UI's origin (default
http://localhost:8233) with ``X-Namespace``, ``Authorization`` and ``Content-Type``.

Auth: every encode/decode needs a token, checked by an :data:`Authorizer`. The standard one
(:func:`gateway_tokens`) accepts the integration gateway's tokens (``entrypoint tokens create NAME --scope
ops:read``: hashed in the records database, revocable, one per member of staff) that hold the ``ops:read``
scope; :func:`static_token` (``ENTRYPOINT_CODEC_TOKEN``) can be accepted as well (:func:`any_of`). The token
comes in ``Authorization: Bearer <token>`` (``temporal ... --codec-auth "Bearer <token>"``) or, for a browser
whose UI cannot send a header, as the endpoint's path prefix ``/t/<token>`` (set in the UI's Data Encoder
settings, kept in that browser only). No token, or one that is unknown, revoked or wrong: 401; a valid gateway
token without ``ops:read``: 403; nothing decoded either way. The access log is off (the path may hold a token);
one structured line per request records the outcome, the namespace and the payload count (never the token).
"""

from __future__ import annotations

import contextlib
import hmac
import json
import os
import secrets
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import structlog
import uvicorn
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from activities.keys import KeyringError
from gateway.store import GatewayStore
from workers.codec import EncryptionCodec
from workers.codec_defaults import DEFAULT_PORT as DEFAULT_PORT  # re-exported: callers import them from here
from workers.codec_defaults import DEFAULT_UI_ORIGIN
from workers.codec_defaults import SCOPE as SCOPE
from workers.codec_defaults import TOKEN_ENV as TOKEN_ENV

log = structlog.get_logger(__name__)

MAX_BODY_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class Caller:
    """Who asked: the token presented (None when none) and the namespace the UI or CLI names."""

    token: str | None
    namespace: str


class Verdict(StrEnum):
    ALLOWED = "allowed"
    UNAUTHENTICATED = "unauthenticated"
    """No token, or not one this server knows (401)."""
    FORBIDDEN = "forbidden"
    """A valid token without the scope that reads payloads (403)."""


Authorizer = Callable[[Caller], Awaitable[bool | Verdict]]
"""Decides whether a caller may encode/decode: a Verdict (True is ALLOWED, False UNAUTHENTICATED)."""



def _verdict(value: bool | Verdict) -> Verdict:
    if isinstance(value, Verdict):
        return value
    return Verdict.ALLOWED if value else Verdict.UNAUTHENTICATED


def static_token(expected: str) -> Authorizer:
    """The one token configured for the codec server (ENTRYPOINT_CODEC_TOKEN)."""
    if len(expected) < 16:
        raise ValueError("the codec server's token must be at least 16 characters")
    wanted = expected.encode()

    async def authorize(caller: Caller) -> bool:
        return caller.token is not None and hmac.compare_digest(caller.token.encode(), wanted)

    return authorize


def gateway_tokens(store: GatewayStore, scope: str = SCOPE) -> Authorizer:
    """The gateway's tokens (hashed in the records database): ALLOWED with ``scope``, FORBIDDEN without it,
    UNAUTHENTICATED when unknown, revoked or malformed. A records database out of reach answers 401 too (logged),
    never a decode."""

    async def authorize(caller: Caller) -> Verdict:
        if caller.token is None:
            return Verdict.UNAUTHENTICATED
        try:
            principal = await store.authenticate(caller.token)
        except Exception as error:  # the database is down or not migrated: refuse, say so in the log
            log.warning("codec_token_lookup_failed", error=type(error).__name__)
            return Verdict.UNAUTHENTICATED
        if principal is None:
            return Verdict.UNAUTHENTICATED
        return Verdict.ALLOWED if principal.has(scope) else Verdict.FORBIDDEN

    return authorize


def any_of(*authorizers: Authorizer) -> Authorizer:
    """ALLOWED when one allows; FORBIDDEN when none does but one knew the token; UNAUTHENTICATED otherwise."""

    async def authorize(caller: Caller) -> Verdict:
        verdicts = []
        for check in authorizers:
            verdict = _verdict(await check(caller))
            if verdict == Verdict.ALLOWED:
                return verdict
            verdicts.append(verdict)
        return Verdict.FORBIDDEN if Verdict.FORBIDDEN in verdicts else Verdict.UNAUTHENTICATED

    return authorize


def _problem(status: int, title: str, detail: str) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return (value.strip() or None) if scheme.lower() == "bearer" else None


def create_app(codec: EncryptionCodec, authorize: Authorizer, origins: list[str] | None = None) -> FastAPI:
    app = FastAPI(title="EntryPoint codec server", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=origins or [DEFAULT_UI_ORIGIN],
        allow_methods=["POST", "OPTIONS"],
        allow_headers=["X-Namespace", "Authorization", "Content-Type"],
        allow_credentials=True,
        max_age=600,
    )

    async def handle(request: Request, operation: str, token: str | None) -> JSONResponse:
        caller = Caller(token=token, namespace=request.headers.get("x-namespace", "default"))
        verdict = _verdict(await authorize(caller))
        if verdict == Verdict.FORBIDDEN:
            log.warning("codec_request", operation=operation, outcome="forbidden", namespace=caller.namespace)
            return _problem(403, "Forbidden", f"this token lacks the {SCOPE} scope that reading payloads takes")
        if verdict != Verdict.ALLOWED:
            log.warning("codec_request", operation=operation, outcome="unauthorized", namespace=caller.namespace)
            return _problem(
                401,
                "Unauthorized",
                f"a valid token is required (Authorization: Bearer ...): a gateway token with {SCOPE} "
                f"(entrypoint tokens create NAME --scope {SCOPE})",
            )
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return _problem(413, "Payload too large", f"at most {MAX_BODY_BYTES} bytes per request")
        try:
            data = json.loads(body)
            if not isinstance(data, dict) or not isinstance(data.get("payloads", []), list):
                raise ValueError("not an object with a payloads list")
            payloads = json_format.ParseDict({"payloads": data.get("payloads", [])}, Payloads())
        except (ValueError, json_format.ParseError) as error:
            detail = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
            expected = 'expected {"payloads": [...]} per Temporal\'s codec contract'
            return _problem(400, "Bad request", f"{expected}: {detail}")
        try:
            if operation == "decode":
                result = await codec.decode(payloads.payloads)
            else:
                result = await codec.encode(payloads.payloads)
        except KeyringError as error:
            log.warning("codec_request", operation=operation, outcome="undecodable", namespace=caller.namespace)
            return _problem(422, "Cannot decode", str(error))
        log.info("codec_request", operation=operation, outcome="ok", namespace=caller.namespace, count=len(result))
        return JSONResponse({"payloads": [json_format.MessageToDict(p) for p in result]})

    @app.get("/healthz")
    async def healthz() -> dict[str, bool]:
        return {"ok": True}

    @app.post("/decode")
    async def decode(request: Request) -> JSONResponse:
        return await handle(request, "decode", _bearer(request))

    @app.post("/encode")
    async def encode(request: Request) -> JSONResponse:
        return await handle(request, "encode", _bearer(request))

    @app.post("/t/{token}/decode")
    async def decode_with_path_token(token: str, request: Request) -> JSONResponse:
        return await handle(request, "decode", _bearer(request) or token)

    @app.post("/t/{token}/encode")
    async def encode_with_path_token(token: str, request: Request) -> JSONResponse:
        return await handle(request, "encode", _bearer(request) or token)

    return app


def ensure_token(path: Path) -> str:
    """The dev installation's codec token: read from ``path``, or made (mode 0600) on first use."""
    with contextlib.suppress(FileNotFoundError):
        token = path.read_text(encoding="utf-8").strip()
        if token:
            return token
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    return token


class EmbeddedServer(uvicorn.Server):
    """Uvicorn inside a process that handles its own signals (make run): it leaves them alone."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def server(app: FastAPI, host: str, port: int, embedded: bool = False) -> uvicorn.Server:
    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="off")
    return EmbeddedServer(config) if embedded else uvicorn.Server(config)
