"""Contract tests per endpoint: real HTTP (httpx) to the gateway served by uvicorn, in front of a real Temporal
dev server, a worker and the records database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from contract.gathering import gathering_workflow_id
from domain.gathering import GatheringPlan
from domain.partnership.commands import GatheringKind
from tests.gateway.conftest import Live
from tests.workflows.harness import record_gathering

pytestmark = pytest.mark.temporal

PROBLEM = "application/problem+json"


def application(cohort_id: str, mentee_id: str | None = None, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "cohort_id": cohort_id,
        "mentee_id": mentee_id or f"m-{uuid.uuid4().hex[:8]}",
        "institution_id": "uni-helsinki",
        "degree_level": "master",
        "field": "data science",
        "interests": ["machine learning"],
        "languages": ["en", "fi"],
        "goals": ["a job in my field"],
        "contact": {"name": "Test Mentee", "email": "mentee@example.org"},
    }
    body.update(overrides)
    return body


def key() -> str:
    return str(uuid.uuid4())


async def submit(http: httpx.AsyncClient, live: Live, who: str = "institution", **overrides: Any) -> str:
    response = await http.post(
        "/v1/applications", json=application(live.cohort_id, **overrides), headers=live.headers(who, key())
    )
    assert response.status_code == 201, response.text
    return str(response.json()["partnership_id"])


async def wait_stage(http: httpx.AsyncClient, live: Live, pid: str, stage: str) -> dict[str, Any]:
    last: Any = None
    for _ in range(300):
        response = await http.get(f"/v1/partnerships/{pid}", headers=live.headers("coordinator"))
        if response.status_code == 200:
            last = response.json()
            if last["stage"] == stage:
                return dict(last)
        await asyncio.sleep(0.05)
    raise AssertionError(f"{pid} never reached {stage}: {last}")


async def post(http: httpx.AsyncClient, live: Live, path: str, who: str, body: dict[str, Any]) -> httpx.Response:
    return await http.post(path, json=body, headers=live.headers(who, key()))


def signed(live: Live, provider: str, body: dict[str, Any], msg_id: str | None = None, **kw: Any) -> dict[str, Any]:
    """Headers and content of a Standard Webhooks delivery signed with the provider's first secret."""
    content = json.dumps(body)
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    at = kw.get("at") or datetime.now(UTC)
    secret = kw.get("secret") or live.webhook_secrets[provider][0]
    signature = Webhook(secret).sign(msg_id, at, content)
    return {
        "content": content,
        "headers": {
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signature,
            "content-type": "application/json",
        },
    }


async def test_an_application_runs_through_every_partnership_endpoint(live: Live) -> None:
    async with live.http() as http:
        body = application(live.cohort_id)
        response = await http.post("/v1/applications", json=body, headers=live.headers("institution", key()))
        assert response.status_code == 201, response.text
        pid = response.json()["partnership_id"]
        assert response.headers["location"] == f"/v1/partnerships/{pid}"
        assert pid == f"partnership-{live.cohort_id}-{body['mentee_id']}"

        status = await wait_stage(http, live, pid, "AWAITING_MATCH")
        own = await http.get(response.headers["location"], headers=live.headers("institution"))
        assert own.status_code == 200 and own.json()["institution_id"] == "uni-helsinki"

        again = await http.post("/v1/applications", json=body, headers=live.headers("institution", key()))
        assert again.status_code == 409 and again.headers["content-type"] == PROBLEM

        proposed = await post(
            http, live, f"/v1/partnerships/{pid}/match_proposed", "coordinator", {"mentor_id": "mr-1"}
        )
        assert proposed.status_code == 200, proposed.text
        assert proposed.json()["stage"] == "AWAITING_SIGNATURES"

        mentee = await post(http, live, f"/v1/partnerships/{pid}/sign_agreement", "esign", {"party": "mentee"})
        assert mentee.status_code == 200 and mentee.json()["stage"] == "AWAITING_SIGNATURES"
        delivery = signed(
            live, "esign", {"type": "agreement.signed", "data": {"partnership_id": pid, "party": "mentor"}}
        )
        mentor = await http.post("/v1/webhooks/esign", **delivery)
        assert mentor.status_code == 200, mentor.text
        assert mentor.json()["stage"] == "ACTIVE"

        met = await post(http, live, f"/v1/partnerships/{pid}/log_meeting", "calendar", {"minutes": 60})
        assert met.status_code == 200 and met.json()["meetings_held"] == 1
        delivery = signed(live, "calendar", {"type": "meeting.held", "data": {"partnership_id": pid, "minutes": 45}})
        met = await http.post("/v1/webhooks/calendar", **delivery)
        assert met.status_code == 200 and met.json()["meetings_held"] == 2

        participant = await live.participant_token(pid)
        diary = await post(
            http, live, f"/v1/partnerships/{pid}/add_diary_entry", participant, {"reflection": "A good start."}
        )
        assert diary.status_code == 200 and diary.json()["diary_entries"] == 1
        mine = await http.get(f"/v1/partnerships/{pid}", headers=live.headers(participant))
        assert mine.status_code == 200

        # The hours count only as the Gathering's record says (the gathering ran, this pair was there).
        await record_gathering(live.records, live.cohort_id, "orientation", "collective", [pid], 3)
        attended = await post(
            http,
            live,
            f"/v1/partnerships/{pid}/gathering_attended",
            "coordinator",
            {"gathering_id": "orientation", "kind": "collective", "hours": 3},
        )
        assert attended.status_code == 200 and attended.json()["gatherings_attended"] == 1

        refused = await post(
            http, live, f"/v1/partnerships/{pid}/coordinator_action", "coordinator", {"action": "resume", "reason": "x"}
        )
        assert refused.status_code == 409 and refused.headers["content-type"] == PROBLEM
        assert refused.json()["type"].endswith("/rejected") and refused.json()["detail"]

        paused = await post(
            http, live, f"/v1/partnerships/{pid}/coordinator_action", "coordinator", {"action": "pause", "reason": "x"}
        )
        assert paused.status_code == 200 and paused.json()["stage"] == "PAUSED"

        withdrawn = await post(
            http, live, f"/v1/partnerships/{pid}/withdraw", participant, {"party": "mentee", "reason": "moved away"}
        )
        assert withdrawn.status_code == 200 and withdrawn.json()["stage"] == "WITHDRAWN"

        review = await post(
            http, live, f"/v1/partnerships/{pid}/submit_closing_review", participant, {"party": "mentee", "rating": 4}
        )
        assert review.status_code == 409, review.text  # a withdrawn partnership takes no review

        assert status["version"] < withdrawn.json()["version"]


async def test_the_list_has_the_cli_filters_and_an_institution_sees_its_own_students_only(live: Live) -> None:
    async with live.http() as http:
        pid = await submit(http, live)
        await wait_stage(http, live, pid, "AWAITING_MATCH")
        params = {"cohort": live.cohort_id, "stage": "AWAITING_MATCH"}
        ids: list[str] = []
        for _ in range(100):  # visibility is eventually consistent
            listed = await http.get("/v1/partnerships", params=params, headers=live.headers("ops"))
            assert listed.status_code == 200
            ids = [row["workflow_id"] for row in listed.json()["items"]]
            if pid in ids:
                break
            await asyncio.sleep(0.1)
        assert pid in ids
        own = await http.get("/v1/partnerships", params=params, headers=live.headers("institution"))
        assert pid in [row["workflow_id"] for row in own.json()["items"]]
        other = await http.get("/v1/partnerships", params=params, headers=live.headers("other_institution"))
        assert other.status_code == 200 and other.json()["items"] == []
        attention = await http.get(
            "/v1/partnerships", params={**params, "attention": "true"}, headers=live.headers("coordinator")
        )
        assert pid not in [row["workflow_id"] for row in attention.json()["items"]]
        bad = await http.get("/v1/partnerships", params={"stage": "SLEEPING"}, headers=live.headers("ops"))
        assert bad.status_code == 422 and bad.json()["errors"][0]["pointer"] == "query.stage"


async def test_another_institution_cannot_learn_that_a_partnership_exists(live: Live) -> None:
    async with live.http() as http:
        pid = await submit(http, live)
        await wait_stage(http, live, pid, "AWAITING_MATCH")
        theirs = await http.get(f"/v1/partnerships/{pid}", headers=live.headers("other_institution"))
        unknown = await http.get("/v1/partnerships/partnership-nope-nobody", headers=live.headers("other_institution"))
        assert theirs.status_code == unknown.status_code == 404
        assert theirs.json()["title"] == unknown.json()["title"]
        foreign = await http.post(
            "/v1/applications",
            json=application(live.cohort_id, institution_id="uni-helsinki"),
            headers=live.headers("other_institution", key()),
        )
        assert foreign.status_code == 403


async def test_an_invalid_application_lists_every_field_error_without_the_values(live: Live) -> None:
    async with live.http() as http:
        body = application(
            live.cohort_id,
            mentee_id="has spaces",
            degree_level="wizard",
            year_of_study=99,
            contact={"name": "Secret Person", "email": "not-an-email"},
            unexpected="x",
        )
        response = await http.post("/v1/applications", json=body, headers=live.headers("coordinator", key()))
        assert response.status_code == 422 and response.headers["content-type"] == PROBLEM
        problem = response.json()
        pointers = sorted(e["pointer"] for e in problem["errors"])
        assert pointers == ["/contact/email", "/degree_level", "/mentee_id", "/unexpected", "/year_of_study"]
        assert "Secret Person" not in response.text and "not-an-email" not in response.text
        assert "has spaces" not in response.text and "wizard" not in response.text

        policy = await http.post(
            "/v1/applications",
            json=application(live.cohort_id, policy={"meeting_cadence": "forever"}),
            headers=live.headers("coordinator", key()),
        )
        assert policy.status_code == 422 and policy.json()["errors"][0]["pointer"].startswith("/policy")
        assert "forever" not in policy.text

        broken = await http.post(
            "/v1/applications",
            content=b"{not json",
            headers={**live.headers("coordinator", key()), "content-type": "application/json"},
        )
        assert broken.status_code == 422 and broken.headers["content-type"] == PROBLEM


async def test_cohort_endpoints_start_approve_run_matching_and_report(live: Live) -> None:
    cohort = f"k{uuid.uuid4().hex[:6]}"
    now = datetime.now(UTC)
    plan = {
        "cohort_id": cohort,
        "coordinator_id": "coord-1",
        "applications_close": now.isoformat(),
        "matching_at": (now + timedelta(days=30)).isoformat(),
        "kickoff_at": (now + timedelta(days=40)).isoformat(),
        "programme_end": (now + timedelta(days=200)).isoformat(),
    }
    async with live.http() as http:
        started = await post(http, live, "/v1/cohorts", "coordinator", plan)
        assert started.status_code == 201, started.text
        assert started.headers["location"] == f"/v1/cohorts/{cohort}"
        again = await post(http, live, "/v1/cohorts", "coordinator", plan)
        assert again.status_code == 409

        early = await post(http, live, f"/v1/cohorts/{cohort}/approve", "coordinator", {})
        assert early.status_code == 409 and early.json()["detail"]

        requested = await post(http, live, f"/v1/cohorts/{cohort}/run-matching", "coordinator", {"reason": "now"})
        assert requested.status_code == 202
        status: dict[str, Any] = {}
        for _ in range(300):
            status = (await http.get(f"/v1/cohorts/{cohort}", headers=live.headers("ops"))).json()
            if status["stage"] == "AWAITING_APPROVAL":
                break
            await asyncio.sleep(0.05)
        assert status["stage"] == "AWAITING_APPROVAL", status
        approved = await post(http, live, f"/v1/cohorts/{cohort}/approve", "coordinator", {})
        assert approved.status_code == 200, approved.text
        assert approved.json()["rounds"][0]["approved"] is True

        unknown = await http.get("/v1/cohorts/no-such-cohort", headers=live.headers("coordinator"))
        assert unknown.status_code == 404
        nothing = await http.get(f"/v1/cohorts/{cohort}/report", headers=live.headers("ops"))
        assert nothing.status_code == 404  # no partnership of it recorded

        pid = await submit(http, live)  # the live cohort has one, recorded by the worker
        await wait_stage(http, live, pid, "AWAITING_MATCH")
        report = await http.get(f"/v1/cohorts/{live.cohort_id}/report", headers=live.headers("ops"))
        assert report.status_code == 200 and report.json()["cohort_id"] == live.cohort_id


async def test_gathering_registration_attendance_and_cancellation(live: Live) -> None:
    gid = f"grp-{uuid.uuid4().hex[:6]}"
    gathering = GatheringPlan(
        cohort_id=live.cohort_id,
        gathering_id=gid,
        kind=GatheringKind.GROUP,
        subject="Data careers",
        starts_at=datetime.now(UTC) + timedelta(days=10),
        duration_hours=2,
        place="Helsinki",
        capacity=2,
    )
    await live.client.start_workflow(
        "Gathering", gathering, id=gathering_workflow_id(live.cohort_id, gid), task_queue=live.task_queue
    )
    base = f"/v1/cohorts/{live.cohort_id}/gatherings/{gid}"
    async with live.http() as http:
        pid = await submit(http, live)
        participant = await live.participant_token(pid)
        for _ in range(100):
            if (await http.get(base, headers=live.headers("calendar"))).status_code == 200:
                break
            await asyncio.sleep(0.05)
        mine = await post(http, live, f"{base}/register", participant, {"registrant_id": pid})
        assert mine.status_code == 200, mine.text
        assert mine.json()["registered"] == [pid]
        theirs = await post(http, live, f"{base}/register", participant, {"registrant_id": "partnership-x-y"})
        assert theirs.status_code == 403
        second = await post(http, live, f"{base}/register", "coordinator", {"registrant_id": "p-2"})
        third = await post(http, live, f"{base}/register", "calendar", {"registrant_id": "p-3"})
        assert second.json()["registered"] == [pid, "p-2"] and third.json()["waitlist"] == ["p-3"]
        cancelled = await post(http, live, f"{base}/cancel_registration", "coordinator", {"registrant_id": "p-2"})
        assert cancelled.status_code == 200 and "p-3" in cancelled.json()["registered"]

        early = await post(http, live, f"{base}/record_attendance", "calendar", {"present": [pid]})
        assert early.status_code == 409  # not held yet
        gone = await post(http, live, f"{base}/cancel_gathering", "coordinator", {"reason": "room flooded"})
        assert gone.status_code == 200 and gone.json()["stage"] == "CANCELLED"
        unknown = await http.get(f"/v1/cohorts/{live.cohort_id}/gatherings/nope", headers=live.headers("ops"))
        assert unknown.status_code == 404


async def test_errors_are_problem_json_and_the_api_is_described(live: Live) -> None:
    async with live.http() as http:
        schema = await http.get("/openapi.json")
        assert schema.status_code == 200 and schema.json()["openapi"].startswith("3.1")
        assert "/v1/partnerships/{partnership_id}/sign_agreement" in schema.json()["paths"]
        assert (await http.get("/docs")).status_code == 200
        missing = await http.get("/v1/nothing-here")
        assert missing.status_code == 404 and missing.headers["content-type"] == PROBLEM
        anonymous = await http.get("/v1/partnerships")
        assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
        revoked = await http.get("/v1/partnerships", headers=live.headers("revoked"))
        assert revoked.status_code == 401
        forged = await http.get("/v1/partnerships", headers={"Authorization": "Bearer ept_0000_forged"})
        assert forged.status_code == 401 and forged.headers["content-type"] == PROBLEM
