"""The check-in answer endpoint, ``POST /v1/partnerships/{id}/answer_checkin``, over real HTTP (httpx) to the
gateway served by uvicorn, in front of a real Temporal dev server, a worker and the records database."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.gateway.conftest import Live
from tests.gateway.test_contract import PROBLEM, key, post, submit, wait_stage

pytestmark = pytest.mark.temporal

NOTE = "canary-gateway-checkin-note"


async def asked(http: httpx.AsyncClient, live: Live, pid: str) -> dict[str, Any]:
    last: Any = None
    for _ in range(300):
        response = await http.get(f"/v1/partnerships/{pid}", headers=live.headers("coordinator"))
        last = response.json()
        if last.get("checkins"):
            return dict(last)
        await asyncio.sleep(0.05)
    raise AssertionError(f"no check-in was asked: {last}")


async def test_a_participant_answers_the_checkin_and_a_low_answer_needs_a_coordinator(live: Live) -> None:
    async with live.http() as http:
        pid = await submit(http, live, policy={"checkin_first": "PT1S"})  # the first check-in a second in
        await wait_stage(http, live, pid, "AWAITING_MATCH")
        participant = await live.participant_token(pid)
        stranger = await live.participant_token(f"{pid}-other")
        path = f"/v1/partnerships/{pid}/answer_checkin"

        early = await post(http, live, path, participant, {"party": "mentee", "score": 4, "meeting_as_planned": True})
        assert early.status_code == 409 and early.headers["content-type"] == PROBLEM

        assert (
            await post(http, live, f"/v1/partnerships/{pid}/match_proposed", "coordinator", {"mentor_id": "mr-1"})
        ).status_code == 200
        for party in ("mentee", "mentor"):
            signed = await post(http, live, f"/v1/partnerships/{pid}/sign_agreement", "esign", {"party": party})
            assert signed.status_code == 200, signed.text
        status = await asked(http, live, pid)
        assert status["checkins"][0]["round"] == 1 and status["checkins"][0]["waiting_for"] == ["mentee", "mentor"]

        bad = await post(http, live, path, participant, {"party": "mentee", "score": 9, "meeting_as_planned": True})
        assert bad.status_code == 422 and bad.headers["content-type"] == PROBLEM
        assert [e["pointer"] for e in bad.json()["errors"]] == ["/score"]
        missing = await post(http, live, path, participant, {"party": "mentee", "score": 3})
        assert missing.status_code == 422
        assert [e["pointer"] for e in missing.json()["errors"]] == ["/meeting_as_planned"]
        assert (
            await post(http, live, path, stranger, {"party": "mentee", "score": 3, "meeting_as_planned": True})
        ).status_code == 404
        assert (
            await post(http, live, path, "calendar", {"party": "mentee", "score": 3, "meeting_as_planned": True})
        ).status_code == 403
        no_key = await http.post(
            path, json={"party": "mentee", "score": 3, "meeting_as_planned": True}, headers=live.headers(participant)
        )
        assert no_key.status_code == 400

        body = {"party": "mentee", "score": 1, "meeting_as_planned": False, "note": NOTE, "round": 1}
        once = key()
        low = await http.post(path, json=body, headers=live.headers(participant, once))
        assert low.status_code == 200, low.text
        answered = low.json()
        assert answered["attention"] == "CHECKIN_LOW"
        assert answered["checkins"][0]["answers"]["mentee"]["score"] == 1
        assert answered["checkins"][0]["waiting_for"] == ["mentor"]
        assert NOTE not in low.text, "the note is not in the status"
        replayed = await http.post(path, json=body, headers=live.headers(participant, once))
        assert replayed.status_code == 200 and replayed.headers["idempotent-replayed"] == "true"

        again = await post(http, live, path, participant, body)
        assert again.status_code == 409 and "already answered" in again.json()["detail"]
        assert NOTE not in again.text

        worklist = await http.get(
            "/v1/partnerships",
            params={"cohort": live.cohort_id, "attention": "true"},
            headers=live.headers("coordinator"),
        )
        assert worklist.status_code == 200

        mentor = await post(http, live, path, participant, {"party": "mentor", "score": 5, "meeting_as_planned": True})
        assert mentor.status_code == 200 and mentor.json()["checkins"][0]["waiting_for"] == []
        cleared = await post(
            http,
            live,
            f"/v1/partnerships/{pid}/coordinator_action",
            "coordinator",
            {"action": "acknowledge", "reason": "called"},
        )
        assert cleared.status_code == 200 and cleared.json()["attention"] is None
