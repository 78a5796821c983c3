"""The gateway's calendar endpoints: each partnership's ICS feed, and meetings reported by a calendar provider.

- ``POST /v1/partnerships/{id}/calendar-feed`` (the pair's ``participant:<id>`` token or ``coordinator``) makes a
  feed URL ``/v1/calendar/ecf_….ics``, shown once (only the SHA-256 of its secret is stored); a new one revokes
  the one before. ``GET`` says whether one is active (never the URL), ``DELETE`` revokes it: its URL is 404 from
  then on.
- ``GET /v1/calendar/{secret}.ics`` needs no bearer token (calendar apps cannot send one): the URL is the secret.
- ``POST /v1/calendar/meetings`` (``calendar`` scope) and the signed ``POST /v1/webhooks/calendar`` log a meeting
  the provider saw held, once per provider event id, for good: the same event id again replays the first
  answer (``Idempotent-Replayed: true``) and logs nothing more.
"""

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, Header, Path, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse, Response

from contract.partnership import PartnershipStatus
from gateway.calendar_store import CalendarStore
from gateway.ics import build
from gateway.limits import RateLimiter
from gateway.once import StoredResponse, answer_once
from gateway.problems import ProblemError, engine_answer, responses
from gateway.scopes import Principal
from gateway.settings import GatewaySettings
from workers.settings import settings

if TYPE_CHECKING:
    from gateway.app import Engine

ICS = "text/calendar; charset=utf-8"
PROVIDER = "calendar"
"""The namespace of the provider's event ids (the webhook and the bearer route share it)."""
EVENT_REFUSALS: dict[str, Callable[[], ProblemError]] = {
    "elsewhere": lambda: ProblemError(
        409, "this calendar event id was reported for another partnership", "event-id-reused"
    ),
    "in_flight": lambda: ProblemError(
        409,
        "this calendar event is being logged by another delivery; retry shortly",
        "event-in-flight",
        {"Retry-After": "1"},
    ),
}
"""The problems for an event id that cannot be logged now (what claiming it found)."""
EVENT_ID = Field(pattern=r"^[A-Za-z0-9_.:@+/=-]+$", min_length=1, max_length=255)

PartnershipId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:-]+$", min_length=1, max_length=128)]
IDEMPOTENCY_KEY = Header(
    alias="Idempotency-Key",
    min_length=1,
    max_length=255,
    description="A unique key per intended operation (a UUID); a retry with the same key makes no second URL.",
)
FeedSecret = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9_-]+$", min_length=1, max_length=100, description="The secret of the feed URL.")
]


class CalendarFeedCreated(BaseModel):
    partnership_id: str
    feed_id: str
    url: str | None
    """The feed's URL, with its secret: shown in this response only (null in a replay of it)."""
    created_at: datetime
    replaced: int
    """How many earlier feed URLs of the partnership this one revoked."""
    note: str


class CalendarFeedInfo(BaseModel):
    """The partnership's active feed URL's record: never the URL (only its hash is kept)."""

    partnership_id: str
    feed_id: str
    created_by: str
    created_at: datetime


class CalendarMeeting(BaseModel):
    """A meeting the calendar provider saw held (``log_meeting``), once per ``event_id``."""

    model_config = ConfigDict(extra="forbid")
    partnership_id: str = Field(pattern=r"^[A-Za-z0-9_.:-]+$", min_length=1, max_length=128)
    event_id: str = EVENT_ID
    """The provider's id of the calendar event: the same id reported again logs no second meeting."""
    held_on: datetime | None = None
    minutes: int = Field(ge=5, le=600)
    topics: tuple[Annotated[str, Field(min_length=1, max_length=200)], ...] = Field(default=(), max_length=20)


def update_id_for(event_id: str) -> str:
    """The Temporal update id of the ``log_meeting`` a provider event makes (a hash: no event id in Temporal)."""
    return "calendar-" + hashlib.sha256(event_id.encode()).hexdigest()[:32]


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


@dataclass
class Calendar:
    """The calendar endpoints, over the gateway's helpers (``create_app`` makes one and includes its router)."""

    engine: "Engine"
    settings: GatewaySettings
    limiter: RateLimiter
    allow: Callable[..., Callable[..., Awaitable[Principal]]]
    may_see: Callable[[Principal, str, tuple[str, ...]], Awaitable[None]]
    idempotent: Callable[..., Awaitable[Response]]
    timezone: str = field(default_factory=lambda: settings().timezone)
    """The programme's time zone (``ENTRYPOINT_TIMEZONE``): the dates of the feed's all-day events."""

    @property
    def store(self) -> CalendarStore:
        return CalendarStore(self.engine.records.database)

    def feed_url(self, request: Request, secret: str) -> str:
        base = self.settings.public_url or str(request.base_url)
        return f"{base.rstrip('/')}/v1/calendar/{secret}.ics"

    async def log_meeting(self, partnership_id: str, event_id: str, data: dict[str, Any]) -> Response:
        """``log_meeting`` once per provider event id: a second report replays the first answer."""
        store = self.store
        claim = await store.claim_event(PROVIDER, event_id, partnership_id)
        # The Temporal update id follows the event id too: a retry after a crash between the update and the
        # record below is answered by Temporal with the first outcome instead of a second meeting.
        update_id = update_id_for(event_id)

        async def run() -> Response:
            status = await engine_answer(
                lambda: self.engine.partnerships.update(partnership_id, "log_meeting", data, update_id=update_id),
                f"no partnership {partnership_id}",
            )
            return Response(status.model_dump_json(), 200, media_type="application/json")

        async def complete(answer: StoredResponse) -> None:
            await store.complete_event(PROVIDER, event_id, answer.status_code, answer.body)

        return await answer_once(
            claim,
            run,
            release=lambda: store.release_event(PROVIDER, event_id),  # nothing was logged: a later report runs again
            complete=complete,
            refusals=EVENT_REFUSALS,
            keep_problems=False,  # a refused meeting (not signed yet, paused) may be reported again later
        )

    def router(self) -> APIRouter:
        router = APIRouter()
        common = (401, 403, 404, 422, 429, 503)
        feed_scopes = ("coordinator", "participant")

        @router.post(
            "/v1/partnerships/{partnership_id}/calendar-feed",
            status_code=201,
            response_model=CalendarFeedCreated,
            responses=responses(400, 401, 403, 404, 409, 413, 422, 429, 503),
            tags=["calendar"],
            summary="Make the partnership's calendar feed URL (revokes the one before)",
        )
        async def create_feed(
            partnership_id: PartnershipId,
            request: Request,
            caller: Annotated[Principal, Depends(self.allow(*feed_scopes))],
            idempotency_key: Annotated[str, IDEMPOTENCY_KEY],
        ) -> Response:
            """A new ICS feed URL for the pair (``/v1/calendar/ecf_….ics``, no token needed to read it), shown
            in this response only; any earlier URL of the partnership stops working. A replay with the same
            Idempotency-Key makes no second URL and shows none. Scopes: ``coordinator``, ``participant:<id>``
            (its own partnership)."""
            await self.may_see(caller, partnership_id, ("coordinator",))

            async def run() -> Response:
                if not await self.store.partnership_exists(partnership_id):
                    raise ProblemError(404, f"no partnership {partnership_id}", "not-found")
                made = await self.store.create_feed(partnership_id, caller.name)
                created = CalendarFeedCreated(
                    partnership_id=partnership_id,
                    feed_id=made.feed.feed_id,
                    url=self.feed_url(request, made.secret),
                    created_at=made.feed.created_at,
                    replaced=made.revoked,
                    note="Subscribe to this URL in Google Calendar, Outlook or Apple Calendar; it is shown only "
                    "now. Anyone with it can read the pair's calendar: DELETE the feed to revoke it.",
                )
                return JSONResponse(created.model_dump(mode="json"), 201)

            def without_secret(response: Response) -> Response:
                if response.status_code != 201:
                    return response
                shown = CalendarFeedCreated.model_validate_json(bytes(response.body))
                kept = shown.model_copy(
                    update={
                        "url": None,
                        "note": "A replay: the URL was shown in the first response only. "
                        "POST again with a new Idempotency-Key for a new URL (the old one is then revoked).",
                    }
                )
                return JSONResponse(kept.model_dump(mode="json"), 201)

            return await self.idempotent(request, caller.key, idempotency_key, run, keep=without_secret)

        @router.get(
            "/v1/partnerships/{partnership_id}/calendar-feed",
            response_model=CalendarFeedInfo,
            responses=responses(*common),
            tags=["calendar"],
            summary="Whether the partnership has an active calendar feed (never its URL)",
        )
        async def feed_info(
            partnership_id: PartnershipId,
            caller: Annotated[Principal, Depends(self.allow("coordinator", "ops:read", "participant"))],
        ) -> Response:
            """Scopes: ``coordinator``, ``ops:read``, ``participant:<id>`` (its own partnership)."""
            await self.may_see(caller, partnership_id, ("coordinator", "ops:read"))
            feed = await self.store.active_feed(partnership_id)
            if feed is None:
                raise ProblemError(404, f"partnership {partnership_id} has no active calendar feed", "not-found")
            info = CalendarFeedInfo(
                partnership_id=partnership_id,
                feed_id=feed.feed_id,
                created_by=feed.created_by,
                created_at=feed.created_at,
            )
            return JSONResponse(info.model_dump(mode="json"))

        @router.delete(
            "/v1/partnerships/{partnership_id}/calendar-feed",
            status_code=204,
            responses=responses(*common),
            tags=["calendar"],
            summary="Revoke the partnership's calendar feed (its URL is 404 from now on)",
        )
        async def revoke_feed(
            partnership_id: PartnershipId,
            caller: Annotated[Principal, Depends(self.allow(*feed_scopes))],
        ) -> Response:
            """Scopes: ``coordinator``, ``participant:<id>`` (its own partnership). 404 when none is active."""
            await self.may_see(caller, partnership_id, ("coordinator",))
            if not await self.store.revoke_feeds(partnership_id):
                raise ProblemError(404, f"partnership {partnership_id} has no active calendar feed", "not-found")
            return Response(status_code=204)

        @router.get(
            "/v1/calendar/{feed_secret}.ics",
            response_class=Response,
            responses={
                200: {
                    "description": "The partnership's calendar (RFC 5545)",
                    "content": {"text/calendar": {"schema": {"type": "string"}}},
                },
                **responses(404, 429, 503),
            },
            tags=["calendar"],
            summary="A partnership's calendar feed (iCalendar; the URL is the secret, no token)",
        )
        async def feed(feed_secret: FeedSecret) -> Response:
            """The next pair meeting due by the agreed cadence, the gatherings the pair is registered (or
            waitlisted) for and the closing-review window; no names or e-mail addresses. An unknown or revoked
            URL is 404."""
            gone = ProblemError(404, "no such calendar feed (unknown or revoked)", "not-found")
            found = await self.store.feed_for(feed_secret)
            if found is None:
                raise gone
            await self.limiter.check(f"calendar-feed:{found.feed_id}", "this feed is read too often")
            source = await self.store.source(found.partnership_id)
            if source is None:  # the partnership's records are gone (erased)
                raise gone
            body = build(source, datetime.now(UTC), _zone(self.timezone))
            return Response(
                body,
                200,
                media_type=ICS,
                headers={
                    "Cache-Control": "private, max-age=300",
                    "Content-Disposition": 'inline; filename="entrypoint.ics"',
                },
            )

        @router.post(
            "/v1/calendar/meetings",
            response_model=PartnershipStatus,
            responses=responses(401, 403, 404, 409, 413, 422, 429, 503),
            tags=["calendar"],
            summary="A meeting the calendar saw held (log_meeting, once per event id)",
        )
        async def meeting_held(
            meeting: CalendarMeeting, caller: Annotated[Principal, Depends(self.allow("calendar"))]
        ) -> Response:
            """Logs the meeting on the partnership (``log_meeting``), once per provider ``event_id``: the same
            event id again answers with the first response (``Idempotent-Replayed: true``) and logs nothing;
            the event id is the idempotency key (no ``Idempotency-Key`` needed). 409 with the domain's reason
            when the partnership refuses the meeting (not signed yet, paused, ended). Scope: ``calendar``."""
            data = meeting.model_dump(mode="json", exclude_unset=True, exclude={"partnership_id", "event_id"})
            return await self.log_meeting(meeting.partnership_id, meeting.event_id, data)

        return router


__all__ = ["ICS", "PROVIDER", "Calendar", "CalendarFeedCreated", "CalendarFeedInfo", "CalendarMeeting", "update_id_for"]
