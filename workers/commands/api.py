"""``entrypoint api``: the integration gateway; ``entrypoint tokens create|list|revoke``: its bearer tokens."""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from workers.commands.common import records_database
from workers.errors import CommandError
from workers.settings import settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    api = subparsers.add_parser(
        "api",
        help="serve the integration gateway (HTTP, OpenAPI at /openapi.json, docs at /docs)",
        description="Serve the integration gateway: integrations (application systems, e-signature, calendars) "
        "use it instead of the Temporal frontend. Tokens: `entrypoint tokens create`. Webhook secrets: "
        "ENTRYPOINT_ESIGN_WEBHOOK_SECRETS, ENTRYPOINT_CALENDAR_WEBHOOK_SECRETS. Limits: ENTRYPOINT_API_RATE_LIMIT, "
        "ENTRYPOINT_API_MAX_BODY_BYTES, ENTRYPOINT_API_IDEMPOTENCY_TTL.",
    )
    api.add_argument("--host", default="127.0.0.1", help="default: 127.0.0.1")
    api.add_argument("--port", type=int, default=8000, help="default: 8000")
    api.add_argument(
        "--metrics-address",
        metavar="HOST:PORT",
        help="serve Prometheus /metrics there (gateway requests by route, scope and status, and the SDK's series); "
        "default: ENTRYPOINT_METRICS_ADDRESS, unset: none",
    )
    api.set_defaults(handler=_api)

    tokens = subparsers.add_parser("tokens", help="the gateway's bearer tokens: create, list, revoke")
    sub = tokens.add_subparsers(dest="tokens_command", metavar="COMMAND", required=True)
    create = sub.add_parser(
        "create",
        help="create a token and print its secret (shown this once)",
        description="Scopes: institution:<institution_id>, participant:<partnership_id>, esign, calendar, "
        "coordinator, ops:read. Only the secret's SHA-256 is stored.",
    )
    create.add_argument("--name", required=True, help="who holds it, e.g. uni-helsinki-admissions")
    create.add_argument("--scope", action="append", required=True, dest="scopes", metavar="SCOPE")
    create.set_defaults(handler=_create)
    listing = sub.add_parser("list", help="the tokens, their scopes and whether they are revoked (no secrets)")
    listing.set_defaults(handler=_list)
    revoke = sub.add_parser("revoke", help="revoke a token: it is refused (401) from now on")
    revoke.add_argument("name", metavar="NAME")
    revoke.set_defaults(handler=_revoke)

    secret = subparsers.add_parser(
        "webhook-secret",
        help="print a new whsec_ secret for a webhook provider (Standard Webhooks)",
        description="Print a fresh whsec_ secret. Give it to the provider and add it to "
        "ENTRYPOINT_ESIGN_WEBHOOK_SECRETS or ENTRYPOINT_CALENDAR_WEBHOOK_SECRETS (space-separated; keep the old one "
        "there too until the provider has switched, then remove it).",
    )
    secret.set_defaults(handler=_webhook_secret)


@asynccontextmanager
async def _store() -> AsyncIterator[Any]:
    """The gateway's store on a migrated records database, or a one-line error when it cannot be reached."""
    from gateway.store import GatewayStore

    async with records_database() as database:
        yield GatewayStore(database)


async def _api(args: argparse.Namespace) -> int:
    from activities.records.migrate import upgrade
    from gateway.app import check_settings
    from gateway.server import serve
    from workers.commands.common import temporal_client
    from workers.telemetry import parse_address

    try:
        check_settings()
    except ValueError as error:
        raise CommandError(str(error)) from None
    if args.metrics_address:
        try:
            parse_address(args.metrics_address)
        except ValueError as error:
            raise CommandError(f"--metrics-address: {error}") from None
        os.environ["ENTRYPOINT_METRICS_ADDRESS"] = args.metrics_address
        settings.cache_clear()
    config = settings()
    logging.getLogger("alembic").setLevel(logging.WARNING)
    await upgrade(config.database_url)
    client = await temporal_client()
    print(f"Gateway on http://{args.host}:{args.port} (docs /docs, OpenAPI /openapi.json)", flush=True)
    if config.metrics_address:
        print(f"Metrics on http://{config.metrics_address}/metrics; health /healthz and /readyz", flush=True)
    await serve(client, config.task_queue, config.database_url, args.host, args.port)
    return 0


async def _create(args: argparse.Namespace) -> int:
    from gateway.store import TokenError

    async with _store() as store:
        try:
            secret = await store.create_token(args.name, args.scopes)
        except TokenError as error:
            raise CommandError(str(error)) from None
    print(f"created token {args.name} ({', '.join(sorted(set(args.scopes)))})")
    print(secret)
    print("Keep it now: it is not shown again.")
    return 0


async def _list(args: argparse.Namespace) -> int:
    async with _store() as store:
        tokens = await store.list_tokens()
    if not tokens:
        print("no tokens")
        return 0
    for t in tokens:
        state = f"revoked {t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "active"
        print(f"{t.name:<32} {state:<24} created {t.created_at:%Y-%m-%d %H:%M}  {' '.join(t.scopes)}")
    return 0


async def _revoke(args: argparse.Namespace) -> int:
    from gateway.store import TokenError

    async with _store() as store:
        try:
            changed = await store.revoke_token(args.name)
        except TokenError as error:
            raise CommandError(str(error)) from None
    print(f"revoked {args.name}" if changed else f"{args.name} was already revoked")
    return 0


async def _webhook_secret(args: argparse.Namespace) -> int:
    from gateway.webhooks import new_secret

    print(new_secret())
    return 0
