"""The gateway's HTTP API (FastAPI): ``create_app(engine, settings)``.

Every route authenticates a bearer token (401), checks its scopes (403) and, for an institution's or a
participant's token, that the partnership is theirs (404 otherwise, exactly as for an unknown id). Every POST
takes an ``Idempotency-Key``. Everything reaches Temporal through the typed facades the CLI uses.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import structlog
from fastapi import Depends, FastAPI, Header, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, ValidationError, create_model
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response
from temporalio.common import MetricMeter
from temporalio.runtime import Runtime
from temporalio.service import RPCError

from activities.records.store import RecordStore
from contract.cohort import CohortStatus, MatchingApproval, RunMatching
from contract.gathering import GatheringStatus
from contract.partnership import MESSAGES as SIGNAL_COMMANDS
from contract.partnership import Application, PartnershipStatus
from domain.cohort import CohortPlan, CohortReport
from domain.errors import problems
from domain.gathering import commands as gc
from domain.partnership.state import Stage
from gateway.calendar import Calendar
from gateway.limits import BodySizeLimit, RateLimiter
from gateway.once import answer_once
from gateway.problems import (
    Problem,
    ProblemError,
    engine_answer,
    field_errors,
    on_http_error,
    on_problem,
    on_validation_error,
    problem,
    responses,
)
from gateway.scopes import Principal
from gateway.settings import GatewaySettings
from gateway.store import GatewayStore, fingerprint
from gateway.webhooks import WEBHOOK_BODIES, WebhookVerifier, webhook_command
from workers.cohorts import Cohorts, report_from_records
from workers.gatherings import Gatherings
from workers.health import database_check, readiness, temporal_check
from workers.partnerships import NotFound, PartnershipRow, Partnerships
from workers.telemetry import current_tracer_provider

log = structlog.get_logger(__name__)

API_VERSION = "1.0.0"
IDEMPOTENCY_REFUSALS: dict[str, Callable[[], ProblemError]] = {
    "mismatch": lambda: ProblemError(
        422, "this Idempotency-Key was used with another request", "idempotency-key-reused"
    ),
    "in_flight": lambda: ProblemError(
        409,
        "a request with this Idempotency-Key is still being processed; retry shortly",
        "idempotency-key-in-flight",
        {"Retry-After": "1"},
    ),
}
"""The problems for an Idempotency-Key that cannot run now (what claiming it found)."""


@dataclass
class Engine:
    """What the gateway talks to: the facades over Temporal, the records and its own store."""

    partnerships: Partnerships
    cohorts: Cohorts
    gatherings: Gatherings
    records: RecordStore
    store: GatewayStore


SIGNAL_SCOPES: dict[str, tuple[str, ...]] = {
    "match_proposed": ("coordinator",),
    "sign_agreement": ("esign",),
    "log_meeting": ("calendar", "participant"),
    "add_diary_entry": ("participant",),
    "gathering_attended": ("coordinator",),
    "coordinator_action": ("coordinator",),
    "withdraw": ("participant", "coordinator"),
    "submit_closing_review": ("participant",),
    "answer_checkin": ("participant",),
}
"""Which scopes may send each signal of the public contract (``participant``: for its own partnership only)."""

GATHERING_SCOPES: dict[str, tuple[str, ...]] = {
    "register": ("coordinator", "calendar", "participant"),
    "cancel_registration": ("coordinator", "calendar", "participant"),
    "record_attendance": ("coordinator", "calendar"),
    "cancel_gathering": ("coordinator",),
}

PartnershipId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:-]+$", min_length=1, max_length=128)]
ObjectId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:-]+$", min_length=1, max_length=64)]
IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="A unique key per intended operation (a UUID); a retry with the same key and body returns "
        "the first response and does nothing again. Kept for 24 hours by default.",
    ),
]


def body_model(command: type[BaseModel], name: str) -> type[BaseModel]:
    """The request body for a command: its fields without ``type`` (the route names the command)."""
    fields: Any = {n: (f.annotation, f) for n, f in command.model_fields.items() if n != "type"}
    model: type[BaseModel] = create_model(name, __config__=ConfigDict(extra="forbid"), **fields)
    model.__doc__ = command.__doc__
    return model


class ApplicationAccepted(BaseModel):
    partnership_id: str
    cohort_id: str
    mentee_id: str


class CohortStarted(BaseModel):
    cohort_id: str
    workflow_id: str


class MatchingRequested(BaseModel):
    cohort_id: str
    requested: bool = True


class PartnershipList(BaseModel):
    items: list[PartnershipRow]
    count: int


def _json(model: BaseModel, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(model.model_dump(mode="json"), status_code=status, headers=headers)


def check_settings(settings: GatewaySettings | None = None) -> GatewaySettings:
    """The gateway's settings, checked (rate limit notation, webhook secrets); ValueError with the variable."""
    try:
        config = settings or GatewaySettings()
    except ValidationError as error:
        raise ValueError(f"gateway settings: {problems(error)}") from None
    RateLimiter(config.rate_limit)
    WebhookVerifier(config)
    return config


GATEWAY_REQUESTS = "entrypoint_gateway_requests"
"""Requests by ``route`` (the template), ``method``, ``scope`` (the token's scope kinds) and ``status``."""


def _meter(engine: Engine) -> MetricMeter:
    """The meter of the gateway's Temporal runtime: its Prometheus endpoint (``ENTRYPOINT_METRICS_ADDRESS``) serves
    the gateway's series beside the SDK's; a no-op meter when the runtime has no metrics configured."""
    runtime = engine.partnerships.client.service_client.config.runtime or Runtime.default()
    return runtime.metric_meter


def create_app(engine: Engine, settings: GatewaySettings | None = None) -> FastAPI:
    config = settings or GatewaySettings()
    limiter = RateLimiter(config.rate_limit)
    verifier = WebhookVerifier(config)
    bearer = HTTPBearer(auto_error=False, description="A token from `entrypoint tokens create`.")

    app = FastAPI(
        title="EntryPoint Engine gateway",
        version=API_VERSION,
        description="The integration gateway of EntryPoint Engine: applications, partnership signals, "
        "coordinator and cohort actions, gatherings and signed webhooks. Errors are application/problem+json.",
    )
    app.add_middleware(BodySizeLimit, max_bytes=config.max_body_bytes)
    provider = current_tracer_provider()
    if provider is not None:  # traces configured: one server span per request, the parent of the Temporal calls
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        # No spans for the calendar feeds: their URL is their secret, and a span would record it.
        FastAPIInstrumentor.instrument_app(
            app, tracer_provider=provider, excluded_urls="healthz,readyz,/v1/calendar/ecf_"
        )
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(StarletteHTTPException, on_http_error)

    @app.exception_handler(RPCError)
    async def _on_rpc_error(_: Request, exc: RPCError) -> Response:
        log.warning("temporal call failed", status=exc.status.name if exc.status else None)
        return problem(503, "the engine is unavailable; try again shortly", kind="engine-unavailable")

    @app.exception_handler(Exception)
    async def _on_error(_: Request, exc: Exception) -> Response:
        log.error("gateway error", error_type=type(exc).__name__)
        return problem(500, "the gateway could not answer this request; the failure is logged", kind="internal")

    requests_total = _meter(engine).create_counter(
        GATEWAY_REQUESTS, "gateway requests, by route template, method, scope kind and status"
    )

    @app.middleware("http")
    async def _log_request(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        """One log line and one count per request: method, route template (never the ids in the path), status,
        token name (the count: the scope kinds, never a token or an id)."""
        response = await call_next(request)
        route = getattr(request.scope.get("route"), "path_format", "unmatched")
        log.info(
            "gateway request",
            method=request.method,
            route=route,
            status=response.status_code,
            token=getattr(request.state, "token_name", None),
        )
        requests_total.add(
            1,
            {
                "route": route,
                "method": request.method,
                "status": str(response.status_code),
                "scope": getattr(request.state, "scope_kind", "none"),
            },
        )
        return response

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        """Liveness: the gateway answers."""
        return JSONResponse({"status": "ok"})

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        """Readiness: Temporal and the records database answer (503 naming the failing check)."""
        ready, checks = await readiness(
            {
                "temporal": temporal_check(engine.partnerships.client),
                "records": database_check(engine.records),
            }
        )
        body = {"status": "ready" if ready else "not ready", "checks": checks}
        return JSONResponse(body, status_code=200 if ready else 503)

    # ------------------------------------------------------------------------------------------- helpers

    async def principal(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
    ) -> Principal:
        if credentials is None:
            raise ProblemError(
                401, "send a bearer token in Authorization", "unauthorized", {"WWW-Authenticate": "Bearer"}
            )
        found = await engine.store.authenticate(credentials.credentials)
        if found is None:
            raise ProblemError(401, "the token is unknown or revoked", "unauthorized", {"WWW-Authenticate": "Bearer"})
        request.state.token_name = found.name
        request.state.scope_kind = "+".join(sorted({scope.split(":", 1)[0] for scope in found.scopes})) or "none"
        await limiter.check(found.key, f"rate limit {config.rate_limit} exceeded")
        return found

    Caller = Annotated[Principal, Depends(principal)]

    def allow(*scopes: str) -> Callable[[Principal], Awaitable[Principal]]:
        """A dependency: the caller, when its token has one of ``scopes`` (before the body is looked at)."""

        async def check(caller: Caller) -> Principal:
            require(caller, *scopes)
            return caller

        return check

    def require(caller: Principal, *scopes: str) -> None:
        """403 unless the token has one of ``scopes`` (``institution`` / ``participant``: any of that kind)."""
        for scope in scopes:
            if scope == "institution" and caller.institutions:
                return
            if scope == "participant" and caller.participant_of:
                return
            if caller.has(scope):
                return
        raise ProblemError(403, "this token's scopes do not allow this request", "forbidden")

    async def may_see(caller: Principal, partnership_id: str, plain: tuple[str, ...]) -> None:
        """404 (as for an unknown id) unless the partnership is within the caller's reach."""
        if any(caller.has(s) for s in plain):
            return
        if partnership_id in caller.participant_of:
            return
        if caller.institutions and "institution" in plain:
            try:
                owner = await engine.partnerships.institution(partnership_id)
            except NotFound:
                owner = None
            if owner in caller.institutions:
                return
        raise ProblemError(404, f"no partnership {partnership_id}", "not-found")

    async def idempotent(
        request: Request,
        who: str,
        key: str,
        run: Callable[[], Awaitable[Response]],
        keep: Callable[[Response], Response] | None = None,
    ) -> Response:
        """Run ``run`` once per (``who``, ``key``): a retry gets the stored first response (as ``keep`` makes
        it from the first, when given: a response with a secret is kept without it)."""
        body = await request.body()
        claim = await engine.store.claim(
            who, key, fingerprint(request.method, request.url.path, body), config.idempotency_ttl
        )
        return await answer_once(
            claim,
            run,
            release=lambda: engine.store.release(who, key),
            complete=lambda answer: engine.store.complete(who, key, answer),
            refusals=IDEMPOTENCY_REFUSALS,
            keep=keep,
        )

    async def engine_call(
        call: Callable[[], Awaitable[BaseModel]],
        not_found: str,
        status: int = 200,
        *,
        already_exists: str | None = None,
        location: Callable[[Any], str] | None = None,
    ) -> Response:
        """One call to a workflow through the facades, its answer as JSON (``status``, and ``Location`` when
        ``location`` is given), its refusals as problems (:func:`engine_answer`)."""
        answer = await engine_answer(call, not_found, already_exists=already_exists)
        return _json(answer, status, {"Location": location(answer)} if location is not None else None)

    async def posted(
        request: Request,
        who: str,
        key: str,
        call: Callable[[], Awaitable[BaseModel]],
        not_found: str,
        status: int = 200,
        **options: Any,
    ) -> Response:
        """The body of every POST: once per idempotency key (``idempotent``), then :func:`engine_call`."""
        return await idempotent(request, who, key, lambda: engine_call(call, not_found, status, **options))

    common = (401, 403, 404, 413, 422, 429, 503)
    posting = (400, 401, 403, 404, 409, 413, 422, 429, 503)

    # --------------------------------------------------------------------------------------- applications

    @app.post(
        "/v1/applications",
        status_code=201,
        response_model=ApplicationAccepted,
        responses=responses(*posting),
        tags=["applications"],
        summary="Submit an application (starts the partnership)",
    )
    async def submit_application(
        application: Application,
        request: Request,
        caller: Annotated[Principal, Depends(allow("coordinator", "institution"))],
        idempotency_key: IdempotencyKey,
    ) -> Response:
        """Validated in full (the policy overrides too) before anything reaches Temporal; 201 with ``Location``.

        Scopes: ``institution:<institution_id>`` (its own students only) or ``coordinator``.
        """
        if not caller.has("coordinator") and application.institution_id not in caller.institutions:
            raise ProblemError(403, "this token may submit applications of its own institution only", "forbidden")
        try:
            application.resolved_policy()
        except ValidationError as error:
            errors = field_errors([{**e, "loc": ("body", "policy", *e["loc"])} for e in error.errors()])
            raise ProblemError(422, "the policy overrides are not valid", "validation", errors=errors) from None

        async def start() -> ApplicationAccepted:
            handle = await engine.partnerships.start(application)
            return ApplicationAccepted(
                partnership_id=handle.id, cohort_id=application.cohort_id, mentee_id=application.mentee_id
            )

        return await posted(
            request,
            caller.key,
            idempotency_key,
            start,
            f"no cohort {application.cohort_id}",
            201,
            already_exists="an application for this mentee in this cohort exists already",
            location=lambda accepted: f"{config.public_url}/v1/partnerships/{accepted.partnership_id}",
        )

    # --------------------------------------------------------------------------------------- partnerships

    @app.get(
        "/v1/partnerships",
        response_model=PartnershipList,
        responses=responses(*common),
        tags=["partnerships"],
        summary="List partnerships (the coordinators' worklist)",
    )
    async def list_partnerships(
        caller: Annotated[Principal, Depends(allow("coordinator", "ops:read", "institution"))],
        cohort: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_.:-]+$", max_length=64)] = None,
        stage: Stage | None = None,
        attention: bool = False,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> Response:
        """Filters as ``entrypoint partnerships list``. Scopes: ``coordinator``, ``ops:read``, or
        ``institution:<id>`` (its own students' partnerships only)."""
        institutions = None if caller.reads_everything else sorted(caller.institutions)
        rows = [
            row
            async for row in engine.partnerships.list(
                cohort, stage.value if stage else None, attention, limit=limit, institutions=institutions
            )
        ]
        return _json(PartnershipList(items=rows, count=len(rows)))

    @app.get(
        "/v1/partnerships/{partnership_id}",
        response_model=PartnershipStatus,
        responses=responses(*common),
        tags=["partnerships"],
        summary="A partnership's status",
    )
    async def partnership_status(
        partnership_id: PartnershipId,
        caller: Annotated[Principal, Depends(allow("coordinator", "ops:read", "institution", "participant"))],
    ) -> Response:
        """Scopes: ``coordinator``, ``ops:read``, ``institution:<id>`` (own students), ``participant:<id>``."""
        await may_see(caller, partnership_id, ("coordinator", "ops:read", "institution"))
        return await engine_call(lambda: engine.partnerships.status(partnership_id), f"no partnership {partnership_id}")

    def signal_route(name: str, command: type[BaseModel]) -> None:
        allowed = SIGNAL_SCOPES[name]
        plain = tuple(s for s in allowed if s != "participant")
        body = body_model(command, f"{command.__name__}Request")

        async def send(
            partnership_id: PartnershipId,
            payload: body,  # type: ignore[valid-type]
            request: Request,
            caller: Annotated[Principal, Depends(allow(*allowed))],
            idempotency_key: IdempotencyKey,
        ) -> Response:
            await may_see(caller, partnership_id, plain)
            data = payload.model_dump(mode="json", exclude_unset=True)  # type: ignore[attr-defined]
            return await posted(
                request,
                caller.key,
                idempotency_key,
                lambda: engine.partnerships.update(partnership_id, name, data),
                f"no partnership {partnership_id}",
            )

        scopes = ", ".join(f"``{s}``" + (" (its own partnership)" if s == "participant" else "") for s in allowed)
        send.__doc__ = (
            f"Sends ``{name}`` as the update of the same name; the new status, or 409 with the "
            f"domain's reason when the stage refuses it. Scopes: {scopes}."
        )
        app.post(
            f"/v1/partnerships/{{partnership_id}}/{name}",
            response_model=PartnershipStatus,
            responses=responses(*posting),
            tags=["partnerships"],
            summary=name.replace("_", " ").capitalize(),
            operation_id=f"partnership_{name}",
        )(send)

    for signal_name, signal_command in SIGNAL_COMMANDS.items():
        signal_route(signal_name, signal_command)

    # -------------------------------------------------------------------------------------------- cohorts

    @app.post(
        "/v1/cohorts",
        status_code=201,
        response_model=CohortStarted,
        responses=responses(*posting),
        tags=["cohorts"],
        summary="Start a cohort (the Cohort workflow)",
    )
    async def start_cohort(
        plan: CohortPlan,
        request: Request,
        caller: Annotated[Principal, Depends(allow("coordinator"))],
        idempotency_key: IdempotencyKey,
    ) -> Response:
        """Scope: ``coordinator``."""

        async def start() -> CohortStarted:
            handle = await engine.cohorts.start(plan)
            return CohortStarted(cohort_id=plan.cohort_id, workflow_id=handle.id)

        return await posted(
            request,
            caller.key,
            idempotency_key,
            start,
            f"no cohort {plan.cohort_id}",
            201,
            already_exists=f"cohort {plan.cohort_id} exists already",
            location=lambda started: f"{config.public_url}/v1/cohorts/{started.cohort_id}",
        )

    @app.get(
        "/v1/cohorts/{cohort_id}",
        response_model=CohortStatus,
        responses=responses(*common),
        tags=["cohorts"],
        summary="A cohort's stage and matching rounds",
    )
    async def cohort_status(
        cohort_id: ObjectId, caller: Annotated[Principal, Depends(allow("coordinator", "ops:read"))]
    ) -> Response:
        """Scopes: ``coordinator``, ``ops:read``."""
        return await engine_call(lambda: engine.cohorts.status(cohort_id), f"no cohort {cohort_id}")

    @app.post(
        "/v1/cohorts/{cohort_id}/approve",
        response_model=CohortStatus,
        responses=responses(*posting),
        tags=["cohorts"],
        summary="Approve the matching round awaiting approval",
    )
    async def approve_matching(
        cohort_id: ObjectId,
        approval: MatchingApproval,
        request: Request,
        caller: Annotated[Principal, Depends(allow("coordinator"))],
        idempotency_key: IdempotencyKey,
    ) -> Response:
        """With pins or exclusions the round is recomputed with them first. Scope: ``coordinator``."""

        return await posted(
            request,
            caller.key,
            idempotency_key,
            lambda: engine.cohorts.approve(cohort_id, approval),
            f"no cohort {cohort_id}",
        )

    @app.post(
        "/v1/cohorts/{cohort_id}/run-matching",
        status_code=202,
        response_model=MatchingRequested,
        responses=responses(*posting),
        tags=["cohorts"],
        summary="Ask for another matching round (late applicants, rematches)",
    )
    async def run_matching(
        cohort_id: ObjectId,
        body: RunMatching,
        request: Request,
        caller: Annotated[Principal, Depends(allow("coordinator"))],
        idempotency_key: IdempotencyKey,
    ) -> Response:
        """Scope: ``coordinator``."""

        async def request_round() -> MatchingRequested:
            await engine.cohorts.run_matching(cohort_id, body.reason)
            return MatchingRequested(cohort_id=cohort_id)

        return await posted(request, caller.key, idempotency_key, request_round, f"no cohort {cohort_id}", 202)

    @app.get(
        "/v1/cohorts/{cohort_id}/report",
        response_model=CohortReport,
        responses=responses(*common),
        tags=["cohorts"],
        summary="The cohort report, from the records",
    )
    async def cohort_report(
        cohort_id: ObjectId, caller: Annotated[Principal, Depends(allow("coordinator", "ops:read"))]
    ) -> Response:
        """Stages, meetings, hours against the target, interventions, ratings and outcomes. Scopes:
        ``coordinator``, ``ops:read``."""
        report = await report_from_records(engine.records, cohort_id)
        if report is None:
            raise ProblemError(404, f"no partnerships recorded for cohort {cohort_id}", "not-found")
        return _json(report)

    # ----------------------------------------------------------------------------------------- gatherings

    @app.get(
        "/v1/cohorts/{cohort_id}/gatherings/{gathering_id}",
        response_model=GatheringStatus,
        responses=responses(*common),
        tags=["gatherings"],
        summary="A gathering's registrations, waitlist and attendance",
    )
    async def gathering_status(
        cohort_id: ObjectId,
        gathering_id: ObjectId,
        caller: Annotated[Principal, Depends(allow("coordinator", "ops:read", "calendar"))],
    ) -> Response:
        """Scopes: ``coordinator``, ``ops:read``, ``calendar``."""
        return await engine_call(
            lambda: engine.gatherings.status(cohort_id, gathering_id),
            f"no gathering {gathering_id} in cohort {cohort_id}",
        )

    def gathering_route(name: str, command: type[BaseModel]) -> None:
        allowed = GATHERING_SCOPES[name]
        plain = tuple(s for s in allowed if s != "participant")
        body = body_model(command, f"{command.__name__}Request")

        async def send(
            cohort_id: ObjectId,
            gathering_id: ObjectId,
            payload: body,  # type: ignore[valid-type]
            request: Request,
            caller: Annotated[Principal, Depends(allow(*allowed))],
            idempotency_key: IdempotencyKey,
        ) -> Response:
            if not any(caller.has(s) for s in plain):
                registrant = str(getattr(payload, "registrant_id", ""))
                own = {p for pid in caller.participant_of for p in (pid, f"{pid}:mentor")}
                if registrant not in own:
                    raise ProblemError(403, "a participant's token registers its own partnership only", "forbidden")

            data = payload.model_dump(mode="json", exclude_unset=True)  # type: ignore[attr-defined]
            return await posted(
                request,
                caller.key,
                idempotency_key,
                lambda: engine.gatherings.update(cohort_id, gathering_id, name, data),
                f"no gathering {gathering_id} in cohort {cohort_id}",
            )

        send.__doc__ = (
            f"Sends ``{name}`` as the Gathering workflow's update of the same name. Scopes: "
            + ", ".join(f"``{s}``" for s in allowed)
            + "."
        )
        app.post(
            f"/v1/cohorts/{{cohort_id}}/gatherings/{{gathering_id}}/{name}",
            response_model=GatheringStatus,
            responses=responses(*posting),
            tags=["gatherings"],
            summary=name.replace("_", " ").capitalize(),
            operation_id=f"gathering_{name}",
        )(send)

    gathering_route("register", gc.Register)
    gathering_route("cancel_registration", gc.CancelRegistration)
    gathering_route("record_attendance", gc.RecordAttendance)
    gathering_route("cancel_gathering", gc.CancelGathering)

    # ------------------------------------------------------------------------------------------- calendar

    calendar = Calendar(engine, config, limiter, allow, may_see, idempotent)
    app.include_router(calendar.router())

    # ------------------------------------------------------------------------------------------- webhooks

    def webhook_route(provider: Literal["esign", "calendar"]) -> None:
        schema_name = WEBHOOK_BODIES[provider].__name__

        async def receive(request: Request) -> Response:
            body = await request.body()
            verifier.verify(provider, body, dict(request.headers))  # 401 (ProblemError) when not signed right
            await limiter.check(f"webhook:{provider}", "rate limit exceeded")
            webhook_id = request.headers["webhook-id"]

            async def run() -> Response:
                target, name, data = webhook_command(provider, body)  # 422 (ProblemError) when not a command
                if provider == "calendar":  # once per provider event id (default: the webhook-id), for good
                    return await calendar.log_meeting(target, data.pop("event_id", None) or webhook_id, data)
                return await engine_call(
                    lambda: engine.partnerships.update(target, name, data), f"no partnership {target}"
                )

            return await idempotent(request, f"webhook:{provider}", webhook_id[:255], run)

        receive.__doc__ = (
            f"The {provider} provider's webhook, signed per Standard Webhooks v1 (``webhook-id``, "
            "``webhook-timestamp``, ``webhook-signature``; HMAC-SHA256 with the provider's ``whsec_`` secret, "
            "timestamps within 5 minutes). A bad or stale signature is 401 and nothing is done; the "
            "``webhook-id`` is the idempotency key (a redelivery gets the first response)."
        )
        app.post(
            f"/v1/webhooks/{provider}",
            response_model=PartnershipStatus,
            responses=responses(401, 404, 409, 413, 422, 429, 503),
            tags=["webhooks"],
            summary=f"Webhook from the {provider} provider",
            operation_id=f"webhook_{provider}",
            openapi_extra={
                "parameters": [
                    {"name": h, "in": "header", "required": True, "schema": {"type": "string"}}
                    for h in ("webhook-id", "webhook-timestamp", "webhook-signature")
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}},
                },
            },
        )(receive)

    webhook_route("esign")
    webhook_route("calendar")

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            models: list[type[BaseModel]] = [Problem, *WEBHOOK_BODIES.values()]
            for model in models:
                for name, definition in (
                    model.model_json_schema(ref_template="#/components/schemas/{model}").get("$defs", {}).items()
                ):
                    components.setdefault(name, definition)
                components[model.__name__] = {
                    k: v
                    for k, v in model.model_json_schema(ref_template="#/components/schemas/{model}").items()
                    if k != "$defs"
                }
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


__all__ = ["GATHERING_SCOPES", "SIGNAL_SCOPES", "Engine", "create_app"]
