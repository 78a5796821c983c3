"""``entrypoint codec-server``: decode payloads for the Temporal UI and CLI (staff with a token only)."""

from __future__ import annotations

import argparse
import os

from workers.codec_defaults import DEFAULT_PORT, DEFAULT_UI_ORIGIN, TOKEN_ENV
from workers.errors import CommandError

ORIGINS_ENV = "ENTRYPOINT_CODEC_ORIGINS"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "codec-server",
        help="serve Temporal's remote codec (POST /decode, /encode) for the UI and `temporal --codec-endpoint`",
        description=f"Decode and encode payloads with the keyring, for callers with the token in {TOKEN_ENV} "
        "(Authorization: Bearer <token>, or the endpoint path /t/<token> for a browser). CORS admits the "
        f"Temporal UI's origin ({ORIGINS_ENV}, comma-separated; default {DEFAULT_UI_ORIGIN}).",
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
    from workers.codec import EncryptionCodec
    from workers.codec_server import create_app, server, static_token
    from workers.temporal import default_data_keys

    token = os.environ.get(TOKEN_ENV, "")
    if len(token) < 16:
        raise CommandError(
            f"set {TOKEN_ENV} to a random string of at least 16 characters (staff send it as "
            "Authorization: Bearer <token>)"
        )
    allowed = origins(args.origins)
    keyring = load_keyring()
    app = create_app(EncryptionCodec(keyring, default_data_keys(keyring)), static_token(token), allowed)
    print(
        f"codec server on http://{args.host}:{args.port} (POST /decode, /encode; CORS {', '.join(allowed)})", flush=True
    )
    await server(app, args.host, args.port).serve()
    return 0
