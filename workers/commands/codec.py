"""``entrypoint codec-server``: decode payloads for the Temporal UI and CLI (staff with an ``ops:read`` token only)."""

from __future__ import annotations

import argparse
import os

from workers.codec_defaults import DEFAULT_PORT, DEFAULT_UI_ORIGIN, SCOPE, TOKEN_ENV
from workers.errors import CommandError

ORIGINS_ENV = "ENTRYPOINT_CODEC_ORIGINS"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "codec-server",
        help="serve Temporal's remote codec (POST /decode, /encode) for the UI and `temporal --codec-endpoint`",
        description="Decode and encode payloads with the keyring, for staff with a gateway token that holds the "
        f"{SCOPE} scope (`entrypoint tokens create NAME --scope {SCOPE}`; checked against the records database, "
        f"revocable), or the static token in {TOKEN_ENV} when it is set. The token goes in "
        "Authorization: Bearer <token>, or in the endpoint path /t/<token> for a browser. No valid token: 401; "
        f"a gateway token without {SCOPE}: 403. CORS admits the Temporal UI's origin ({ORIGINS_ENV}, "
        f"comma-separated; default {DEFAULT_UI_ORIGIN}).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    parser.add_argument(
        "--cors-origin",
        action="append",
        dest="origins",
        metavar="ORIGIN",
        help=f"an origin allowed to call it (repeatable; default {ORIGINS_ENV} or {DEFAULT_UI_ORIGIN})",
    )
    parser.set_defaults(handler=_serve)


def origins(given: list[str] | None) -> list[str]:
    if given:
        return given
    configured = [o.strip() for o in os.environ.get(ORIGINS_ENV, "").split(",") if o.strip()]
    return configured or [DEFAULT_UI_ORIGIN]


async def _serve(args: argparse.Namespace) -> int:
    from activities.keys import load_keyring
    from gateway.store import GatewayStore
    from workers.codec import EncryptionCodec
    from workers.codec_server import any_of, create_app, gateway_tokens, server, static_token
    from workers.settings import settings
    from workers.temporal import default_data_keys

    token = os.environ.get(TOKEN_ENV, "")
    if token and len(token) < 16:
        raise CommandError(
            f"{TOKEN_ENV} must be a random string of at least 16 characters, or unset (then only gateway tokens "
            f"with {SCOPE} are accepted)"
        )
    allowed = origins(args.origins)
    keyring = load_keyring()
    store = GatewayStore.from_url(settings().database_url)
    checks = [gateway_tokens(store)] + ([static_token(token)] if token else [])
    app = create_app(EncryptionCodec(keyring, default_data_keys(keyring)), any_of(*checks), allowed)
    accepted = f"gateway tokens with {SCOPE}" + (f" or {TOKEN_ENV}" if token else "")
    print(
        f"codec server on http://{args.host}:{args.port} (POST /decode, /encode; tokens: {accepted}; "
        f"CORS {', '.join(allowed)})",
        flush=True,
    )
    try:
        await server(app, args.host, args.port).serve()
    finally:
        await store.close()
    return 0
