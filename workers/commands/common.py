"""What the command modules share: a Temporal client, or a clear error when Temporal cannot be reached."""

from __future__ import annotations

from temporalio.client import Client

from workers.errors import CommandError
from workers.settings import settings


async def temporal_client() -> Client:
    from activities.keys import KeyringError
    from workers.temporal import connect

    config = settings()
    try:
        return await connect(config)
    except KeyringError:
        raise
    except Exception as error:  # connection refused and friends
        raise CommandError(f"cannot reach Temporal at {config.temporal_address}: {error}") from None
