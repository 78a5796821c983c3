"""The codec server: decodes (and encodes) payloads for the Temporal UI and CLI, for staff with a token.

Temporal's remote codec contract: ``POST {endpoint}/decode`` and ``POST {endpoint}/encode`` take and return
``{"payloads": [{"metadata": {"encoding": "<base64>", ...}, "data": "<base64>"}]}`` (the protobuf JSON form
of ``Payloads``), with the namespace in ``X-Namespace``. CORS admits the UI's origin (default
http://localhost:8233) with ``X-Namespace``, ``Authorization`` and ``Content-Type``.

Auth: every encode/decode needs a token, checked by an :data:`Authorizer` (a small async function, so a
scoped-token lookup such as the gateway's ``ops:read`` tokens can replace the default). The token comes in
``Authorization: Bearer <token>`` (``temporal ... --codec-auth "Bearer <token>"``) or, for a browser whose UI
cannot send a header, as the endpoint's path prefix ``/t/<token>`` (set in the UI's Data Encoder settings,
kept in that browser only). No valid token: 401, nothing decoded. The access log is off (the path may hold
a token); one structured line per request records the outcome, the namespace and the payload count.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import os
import secrets
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import structlog
import uvicorn
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from activities.keys import KeyringError
from workers.codec import EncryptionCodec
from workers.codec_defaults import DEFAULT_PORT as DEFAULT_PORT  # re-exported: callers import them from here
from workers.codec_defaults import DEFAULT_UI_ORIGIN
from workers.codec_defaults import TOKEN_ENV as TOKEN_ENV

log = structlog.get_logger(__name__)

MAX_BODY_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class Caller:
    """Who asked: the token presented (None when none) and the namespace the UI or CLI names."""

    token: str | None
    namespace: str


Authorizer = Callable[[Caller], Awaitable[bool]]
"""Decides whether a caller may encode/decode. Swap in a scoped-token lookup (e.g. ``ops:read``) here."""


def static_token(expected: str) -> Authorizer:
    """The default check: the one token configured for the codec server (ENTRYPOINT_CODEC_TOKEN)."""
    if len(expected) < 16:
        raise ValueError("the codec server's token must be at least 16 characters")
    wanted = expected.encode()

    async def authorize(caller: Caller) -> bool:
        return caller.token is not None and hmac.compare_digest(caller.token.encode(), wanted)

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
        if not await authorize(caller):
            log.warning("codec_request", operation=operation, outcome="unauthorized", namespace=caller.namespace)
            return _problem(401, "Unauthorized", "a valid codec token is required (Authorization: Bearer ...)")
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
