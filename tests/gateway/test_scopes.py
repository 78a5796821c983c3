"""The scope table: each route by each kind of token, and the status expected, over real HTTP.

The targets are chosen so that an allowed request changes nothing: a withdrawn partnership (every signal is
refused, 409), a cancelled gathering (every update refused), a cohort that is not awaiting approval, an unknown
cohort for run-matching (404). Only applications and cohort starts create something (a new id per request).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contract.gathering import gathering_workflow_id
from domain.gathering import GatheringPlan
from domain.partnership.commands import GatheringKind
from tests.gateway.conftest import Live
from tests.gateway.test_contract import application, key, submit, wait_stage

pytestmark = pytest.mark.temporal

WHO = ("coordinator", "ops", "institution", "other_institution", "esign", "calendar", "participant", "stranger")
"""``participant``: a participant token of the target partnership; ``stranger``: of another partnership."""


@dataclass
class Route:
    method: str
    path: str
    allowed: dict[str, int]
    """Who gets what besides 403 (everybody else)."""
    body: Any = None
    fresh: bool = field(default=False)
    """The body needs new ids each time (applications, cohorts)."""

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


def signal(name: str, body: dict[str, Any], allowed: dict[str, int]) -> Route:
    return Route("POST", f"/v1/partnerships/{{W}}/{name}", allowed, body)


READERS = {"coordinator": 200, "ops": 200}
ROUTES = [
    Route("GET", "/v1/partnerships", {**READERS, "institution": 200, "other_institution": 200}),
    Route("GET", "/v1/partnerships/{W}", {**READERS, "institution": 200, "other_institution": 404, "participant": 200,
                                           "stranger": 404}),
    Route("POST", "/v1/applications", {"coordinator": 201, "institution": 201}, "application", fresh=True),
    signal("match_proposed", {"mentor_id": "mr-1"}, {"coordinator": 409}),
    signal("sign_agreement", {"party": "mentee"}, {"esign": 409}),
    signal("log_meeting", {"minutes": 30}, {"calendar": 409, "participant": 409, "stranger": 404}),
    signal("add_diary_entry", {"reflection": "x"}, {"participant": 409, "stranger": 404}),
    signal("gathering_attended", {"gathering_id": "g", "kind": "group", "hours": 1}, {"coordinator": 409}),
    signal("coordinator_action", {"action": "nudge", "reason": "x"}, {"coordinator": 409}),
    signal("withdraw", {"party": "mentor", "reason": "x"}, {"coordinator": 409, "participant": 409, "stranger": 404}),
    signal("submit_closing_review", {"party": "mentee", "rating": 3}, {"participant": 409, "stranger": 404}),
    signal("answer_checkin", {"party": "mentee", "score": 3, "meeting_as_planned": True},
           {"participant": 409, "stranger": 404}),
    Route("POST", "/v1/cohorts", {"coordinator": 201}, "plan", fresh=True),
    Route("GET", "/v1/cohorts/{C}", READERS),
    Route("POST", "/v1/cohorts/{C}/approve", {"coordinator": 409}, {}),
    Route("POST", "/v1/cohorts/unknown-cohort/run-matching", {"coordinator": 404}, {"reason": "x"}),
    Route("GET", "/v1/cohorts/{C}/report", {"coordinator": 404, "ops": 404}),
    Route("GET", "/v1/cohorts/{L}/gatherings/{G}", {**READERS, "calendar": 200}),
    Route("POST", "/v1/cohorts/{L}/gatherings/{G}/register", {"coordinator": 409, "calendar": 409, "participant": 409},
          {"registrant_id": "{W}"}),
    Route("POST", "/v1/cohorts/{L}/gatherings/{G}/cancel_registration",
          {"coordinator": 409, "calendar": 409, "participant": 409}, {"registrant_id": "{W}"}),
    Route("POST", "/v1/cohorts/{L}/gatherings/{G}/record_attendance", {"coordinator": 409, "calendar": 409},
          {"present": ["{W}"]}),
    Route("POST", "/v1/cohorts/{L}/gatherings/{G}/cancel_gathering", {"coordinator": 409}, {"reason": "x"}),
    Route("POST", "/v1/partnerships/{W}/calendar-feed", {"coordinator": 201, "participant": 201, "stranger": 404}),
    # The stranger's partnership has no feed (and no record): 404 for whoever may ask, 403 for the rest.
    Route("GET", "/v1/partnerships/{S}/calendar-feed", {"coordinator": 404, "ops": 404, "participant": 404,
                                                        "stranger": 404}),
    Route("DELETE", "/v1/partnerships/{S}/calendar-feed", {"coordinator": 404, "participant": 404, "stranger": 404}),
    Route("POST", "/v1/calendar/meetings", {"calendar": 409},
          {"partnership_id": "{W}", "event_id": "scope-table", "minutes": 30}),
]  # fmt: skip


def plan(cohort_id: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "cohort_id": cohort_id,
        "applications_close": now.isoformat(),
        "matching_at": (now + timedelta(days=30)).isoformat(),
        "kickoff_at": (now + timedelta(days=40)).isoformat(),
        "programme_end": (now + timedelta(days=200)).isoformat(),
    }


async def targets(live: Live) -> dict[str, str]:
    """A withdrawn partnership, a cancelled gathering and a waiting cohort, made once per gateway."""
    if "targets" in live.extra:
        return dict(live.extra["targets"])
    async with live.http() as http:
        pid = await submit(http, live)
        await wait_stage(http, live, pid, "AWAITING_MATCH")
        withdrawn = await http.post(
            f"/v1/partnerships/{pid}/withdraw",
            json={"party": "mentee", "reason": "changed plans"},
            headers=live.headers("coordinator", key()),
        )
        assert withdrawn.json()["stage"] == "WITHDRAWN"
        gid = f"g-{uuid.uuid4().hex[:6]}"
        gathering = GatheringPlan(
            cohort_id=live.cohort_id,
            gathering_id=gid,
            kind=GatheringKind.GROUP,
            subject="Careers",
            starts_at=datetime.now(UTC) + timedelta(days=10),
            duration_hours=2,
            place="Espoo",
            capacity=5,
        )
        await live.client.start_workflow(
            "Gathering", gathering, id=gathering_workflow_id(live.cohort_id, gid), task_queue=live.task_queue
        )
        path = f"/v1/cohorts/{live.cohort_id}/gatherings/{gid}"
        for _ in range(100):
            if (await http.get(path, headers=live.headers("coordinator"))).status_code == 200:
                break
            await asyncio.sleep(0.05)
        cancelled = await http.post(
            f"{path}/cancel_gathering", json={"reason": "no room"}, headers=live.headers("coordinator", key())
        )
        assert cancelled.json()["stage"] == "CANCELLED"
        cohort = f"s{uuid.uuid4().hex[:6]}"
        started = await http.post("/v1/cohorts", json=plan(cohort), headers=live.headers("coordinator", key()))
        assert started.status_code == 201
    live.tokens["participant"] = live.tokens[await live.participant_token(pid)]
    live.tokens["stranger"] = live.tokens[await live.participant_token("partnership-elsewhere-someone")]
    live.extra["targets"] = {"W": pid, "G": gid, "C": cohort, "L": live.cohort_id, "S": "partnership-elsewhere-someone"}
    return dict(live.extra["targets"])


def fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        for name, actual in ids.items():
            value = value.replace(f"{{{name}}}", actual)
        return value
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    return value


@pytest.mark.parametrize("route", ROUTES, ids=[r.id for r in ROUTES])
async def test_route_by_scope(live: Live, route: Route) -> None:
    ids = await targets(live)
    path = fill(route.path, ids)
    got: dict[str, int] = {}
    expected = {who: route.allowed.get(who, 403) for who in WHO} | {"revoked": 401, "anonymous": 401}
    async with live.http() as http:
        for who in expected:
            body = route.body
            if body == "application":
                body = application(live.cohort_id)
            elif body == "plan":
                body = plan(f"s{uuid.uuid4().hex[:6]}")
            headers = live.headers(None if who == "anonymous" else who, key() if route.method == "POST" else None)
            response = await http.request(route.method, path, json=fill(body, ids), headers=headers)
            got[who] = response.status_code
            assert response.status_code < 500, response.text
            if response.status_code >= 400:
                assert response.headers["content-type"] == "application/problem+json"
    assert got == expected
