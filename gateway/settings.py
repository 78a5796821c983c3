"""The gateway's configuration, from the environment; every default works on a fresh machine."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    rate_limit: str = Field(default="120/minute", validation_alias="ENTRYPOINT_API_RATE_LIMIT")
    """Requests per token (``limits`` notation: "120/minute", "10/second;500/hour")."""
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, validation_alias="ENTRYPOINT_API_MAX_BODY_BYTES")
    idempotency_ttl: timedelta = Field(default=timedelta(hours=24), validation_alias="ENTRYPOINT_API_IDEMPOTENCY_TTL")
    """How long an Idempotency-Key (and a webhook id) is remembered: ISO 8601 ("PT24H") or seconds."""
    esign_webhook_secrets: str = Field(default="", validation_alias="ENTRYPOINT_ESIGN_WEBHOOK_SECRETS")
    """The e-signature provider's ``whsec_`` secrets, separated by spaces or commas (several while rotating)."""
    calendar_webhook_secrets: str = Field(default="", validation_alias="ENTRYPOINT_CALENDAR_WEBHOOK_SECRETS")
    public_url: str = Field(default="", validation_alias="ENTRYPOINT_API_PUBLIC_URL")
    """Base of the ``Location`` URLs (empty: paths relative to the request's host)."""

    def webhook_secrets(self, provider: str) -> list[str]:
        raw = {"esign": self.esign_webhook_secrets, "calendar": self.calendar_webhook_secrets}[provider]
        return [s for s in raw.replace(",", " ").split() if s]
