"""Signed webhooks from the e-signature and calendar providers (Standard Webhooks v1).

Verification is the maintained ``standardwebhooks`` package's: HMAC-SHA256 over ``id.timestamp.body`` with
the provider's ``whsec_`` secret, timestamps within five minutes, any of several ``v1,`` signatures in the
header. Each provider may have several secrets configured at once, so that a secret can be rotated without
refusing deliveries signed with the old one.
"""

from __future__ import annotations

import base64
import json
import secrets
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from standardwebhooks.webhooks import Webhook

from domain.errors import problems
from domain.partnership import commands as c
from gateway.problems import ProblemError, field_errors
from gateway.settings import GatewaySettings

Provider = Literal["esign", "calendar"]
PartnershipRef = Field(pattern=r"^[A-Za-z0-9_.:-]+$", min_length=1, max_length=128)


class AgreementSigned(BaseModel):
    model_config = ConfigDict(extra="forbid")
    partnership_id: str = PartnershipRef
    party: c.Party
    signature_ref: str | None = Field(default=None, max_length=200)


class EsignWebhook(BaseModel):
    """An e-signature event: a party signed the Mentoring Partnership Agreement (``sign_agreement``)."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["agreement.signed"]
    timestamp: datetime | None = None
    data: AgreementSigned


class MeetingHeld(BaseModel):
    model_config = ConfigDict(extra="forbid")
    partnership_id: str = PartnershipRef
    event_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.:@+/=-]+$", min_length=1, max_length=255)
    """The provider's id of the calendar event: a meeting is logged once per event id (default: the webhook-id)."""
    held_on: datetime | None = None
    minutes: int = Field(ge=5, le=600)
    topics: tuple[str, ...] = ()


class CalendarWebhook(BaseModel):
    """A calendar event: the pair's meeting took place (``log_meeting``)."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["meeting.held"]
    timestamp: datetime | None = None
    data: MeetingHeld


def new_secret() -> str:
    """A fresh ``whsec_`` secret (24 random bytes, base64), to give a provider."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


WEBHOOK_BODIES: dict[str, type[BaseModel]] = {"esign": EsignWebhook, "calendar": CalendarWebhook}
SIGNALS = {"esign": "sign_agreement", "calendar": "log_meeting"}


class WebhookVerifier:
    def __init__(self, settings: GatewaySettings) -> None:
        self._hooks: dict[str, list[Webhook]] = {}
        for provider in WEBHOOK_BODIES:
            try:
                self._hooks[provider] = [Webhook(secret) for secret in settings.webhook_secrets(provider)]
            except Exception:
                variable = f"ENTRYPOINT_{provider.upper()}_WEBHOOK_SECRETS"
                raise ValueError(f"{variable}: each secret must be whsec_ followed by base64") from None

    def verify(self, provider: str, body: bytes, headers: dict[str, str]) -> None:
        """Nothing when one of the provider's secrets verifies the delivery; ProblemError 401 otherwise."""
        hooks = self._hooks.get(provider, [])
        if not hooks:
            raise ProblemError(401, f"no webhook secret is configured for {provider}", "webhook-signature")
        for hook in hooks:
            try:
                hook.verify(body, headers, json_parse=False)
                return
            except Exception:  # bad, stale or malformed headers, wrong secret: try the next secret
                continue
        raise ProblemError(
            401, "the webhook signature is missing, wrong or outside the 5-minute window", "webhook-signature"
        )


def webhook_command(provider: str, body: bytes) -> tuple[str, str, dict[str, Any]]:
    """The partnership, the update name and its payload a verified delivery carries; ProblemError 422 otherwise."""
    try:
        event = WEBHOOK_BODIES[provider].model_validate(json.loads(body))
    except (ValueError, UnicodeDecodeError) as error:
        if isinstance(error, ValidationError):
            raise ProblemError(
                422,
                f"invalid {provider} event: {problems(error)}",
                "validation",
                errors=field_errors([{**e, "loc": ("body", *e["loc"])} for e in error.errors()]),
            ) from None
        raise ProblemError(422, "the webhook body is not JSON", "validation") from None
    data = event.data.model_dump(mode="json", exclude_unset=True)  # type: ignore[attr-defined]
    target = data.pop("partnership_id")
    return target, SIGNALS[provider], data
