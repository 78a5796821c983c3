"""The calendar over real HTTP: a pair's ICS feed URL (made, read without a token, replayed, replaced,
revoked), and meetings a calendar provider reports, logged once per provider event id (signed webhook and
bearer route), against the real dev server, a worker and the records database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from icalendar import Calendar
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from activities.records.schema import calendar_events
from contract.gathering import gathering_workflow_id
from domain.gathering import GatheringPlan
from domain.partnership.commands import GatheringKind
from gateway.calendar import PROVIDER, update_id_for
from gateway.calendar_store import CalendarStore
from gateway.ics import uid
from tests.gateway.conftest import Live
from tests.gateway.ics_rules import check_rfc5545
from tests.gateway.test_contract import key, post, signed, submit, wait_stage
from workers.cli import main
from workers.erasure import erase_person
from workers.partnerships import Partnerships
from workers.settings import settings

pytestmark = pytest.mark.temporal

PROBLEM = "application/problem+json"
HELSINKI = ZoneInfo("Europe/Helsinki")
README = Path(__file__).resolve().parents[2] / "README.md"


async def active(http: httpx.AsyncClient, live: Live) -> str:
    """A partnership through matching and both signatures: ACTIVE, with its agreement and next meeting due."""
    pid = await awaiting_signatures(http, live)
    for party in ("mentee", "mentor"):
        signed_ = await post(http, live, f"/v1/partnerships/{pid}/sign_agreement", "esign", {"party": party})
        assert signed_.status_code == 200, signed_.text
    assert signed_.json()["stage"] == "ACTIVE"
    return pid


async def awaiting_signatures(http: httpx.AsyncClient, live: Live) -> str:
    pid = await submit(http, live)
    await wait_stage(http, live, pid, "AWAITING_MATCH")
    proposed = await post(http, live, f"/v1/partnerships/{pid}/match_proposed", "coordinator", {"mentor_id": "mr-9"})
    assert proposed.status_code == 200, proposed.text
    return pid


async def gathering(http: httpx.AsyncClient, live: Live, subject: str, capacity: int = 5) -> str:
    gid = f"cal-{uuid.uuid4().hex[:6]}"
    plan = GatheringPlan(
        cohort_id=live.cohort_id,
        gathering_id=gid,
        kind=GatheringKind.GROUP,
        subject=subject,
        starts_at=datetime.now(UTC).replace(microsecond=0) + timedelta(days=12),
        duration_hours=2,
        place="Espoo",
        capacity=capacity,
    )
    await live.client.start_workflow(
        "Gathering", plan, id=gathering_workflow_id(live.cohort_id, gid), task_queue=live.task_queue
    )
    path = f"/v1/cohorts/{live.cohort_id}/gatherings/{gid}"
    for _ in range(100):
        if (await http.get(path, headers=live.headers("coordinator"))).status_code == 200:
            break
        await asyncio.sleep(0.05)
    return gid


async def register(http: httpx.AsyncClient, live: Live, gid: str, registrant: str) -> None:
    path = f"/v1/cohorts/{live.cohort_id}/gatherings/{gid}/register"
    done = await post(http, live, path, "coordinator", {"registrant_id": registrant})
    assert done.status_code == 200, done.text


async def read_feed(http: httpx.AsyncClient, url: str, until: Any = None) -> tuple[bytes, dict[str, Any]]:
    """The feed (checked against RFC 5545) and its events by UID; polled until ``until(events)`` holds (the
    records follow the workflows a moment later)."""
    for _ in range(200):
        response = await http.get(url)  # no Authorization: the URL is the secret
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "text/calendar; charset=utf-8"
        events = {str(e["UID"]): e for e in check_rfc5545(response.content).walk("VEVENT")}
        if until is None or until(events):
            return response.content, events
        await asyncio.sleep(0.05)
    raise AssertionError(f"the feed never showed what was expected: {list(events)}")


async def test_a_pairs_feed_shows_its_meeting_due_gatherings_and_closing_review(live: Live) -> None:
    async with live.http() as http:
        pid = await active(http, live)
        participant = await live.participant_token(pid)
        gid = await gathering(http, live, "Data careers")
        await register(http, live, gid, f"{pid}:mentor")

        made = await http.post(f"/v1/partnerships/{pid}/calendar-feed", headers=live.headers(participant, "k-1"))
        assert made.status_code == 201, made.text
        url = made.json()["url"]
        assert url.startswith(f"{live.url}/v1/calendar/ecf_") and url.endswith(".ics")
        assert made.json()["replaced"] == 0

        gathering_uid = uid("gathering", gathering_workflow_id(live.cohort_id, gid))
        raw, events = await read_feed(http, url, lambda ev: gathering_uid in ev)
        status = (await http.get(f"/v1/partnerships/{pid}", headers=live.headers("coordinator"))).json()
        due = datetime.fromisoformat(status["next_meeting_due"]).astimezone(HELSINKI).date()
        meeting = events[uid("pair-meeting", pid)]
        assert meeting.decoded("DTSTART") == due and str(meeting["SUMMARY"]) == "EntryPoint pair meeting due"
        ends = datetime.fromisoformat(status["agreement"]["ends_on"]).astimezone(HELSINKI).date()
        assert events[uid("closing-review", pid)].decoded("DTSTART") == ends
        group = events[gathering_uid]
        assert str(group["SUMMARY"]) == "EntryPoint group meeting: Data careers" and str(group["LOCATION"]) == "Espoo"
        assert "mentor" in str(group["DESCRIPTION"])
        assert len(events) == 3
        for private in (pid.encode(), b"example.org", b"Test Mentee", b"mr-9"):
            assert private not in raw
        calendar = Calendar.from_ical(raw)
        assert str(calendar["X-WR-CALNAME"]) == "EntryPoint mentoring" and str(calendar["METHOD"]) == "PUBLISH"

        # A meeting logged moves the date, under the same UID, with a higher SEQUENCE.
        met = await post(http, live, f"/v1/partnerships/{pid}/log_meeting", "calendar", {"minutes": 60})
        assert met.status_code == 200, met.text
        moved = datetime.fromisoformat(met.json()["next_meeting_due"]).astimezone(HELSINKI).date()
        _, later = await read_feed(http, url, lambda ev: ev[uid("pair-meeting", pid)]["SEQUENCE"] == 1)
        assert later.keys() == events.keys() and later[uid("pair-meeting", pid)].decoded("DTSTART") == moved

        # The same Idempotency-Key makes no second URL and shows none; the first still works.
        replay = await http.post(f"/v1/partnerships/{pid}/calendar-feed", headers=live.headers(participant, "k-1"))
        assert replay.status_code == 201 and replay.headers["idempotent-replayed"] == "true"
        assert replay.json()["url"] is None and replay.json()["feed_id"] == made.json()["feed_id"]
        info = await http.get(f"/v1/partnerships/{pid}/calendar-feed", headers=live.headers("ops"))
        assert info.status_code == 200 and info.json()["feed_id"] == made.json()["feed_id"]
        assert "url" not in info.json() and (await http.get(url)).status_code == 200

        # A new URL (the coordinator's) revokes the old one.
        again = await http.post(f"/v1/partnerships/{pid}/calendar-feed", headers=live.headers("coordinator", key()))
        assert again.status_code == 201 and again.json()["replaced"] == 1
        old = await http.get(url)
        assert old.status_code == 404 and old.headers["content-type"] == PROBLEM
        assert (await http.get(again.json()["url"])).status_code == 200

        # Revoked: 404 problem+json; revoking again: 404.
        revoked = await http.delete(f"/v1/partnerships/{pid}/calendar-feed", headers=live.headers(participant))
        assert revoked.status_code == 204
        gone = await http.get(again.json()["url"])
        assert gone.status_code == 404 and gone.headers["content-type"] == PROBLEM
        assert "revoked" in gone.json()["detail"]
        twice = await http.delete(f"/v1/partnerships/{pid}/calendar-feed", headers=live.headers(participant))
        assert twice.status_code == 404 and twice.headers["content-type"] == PROBLEM
        none = await http.get(f"/v1/partnerships/{pid}/calendar-feed", headers=live.headers("coordinator"))
        assert none.status_code == 404


async def test_feed_urls_are_the_pairs_or_the_coordinators_to_make(live: Live) -> None:
    async with live.http() as http:
        pid = await submit(http, live)
        await wait_stage(http, live, pid, "AWAITING_MATCH")
        own = await live.participant_token(pid)
        stranger = await live.participant_token("partnership-elsewhere-x")
        path = f"/v1/partnerships/{pid}/calendar-feed"
        got = {}
        for who in ("institution", "esign", "calendar", "ops", "stranger", "own"):
            token = {"stranger": stranger, "own": own}.get(who, who)
            got[who] = (await http.post(path, headers=live.headers(token, key()))).status_code
        assert got == {"institution": 403, "esign": 403, "calendar": 403, "ops": 403, "stranger": 404, "own": 201}
        assert (await http.get(path, headers=live.headers(stranger))).status_code == 404
        assert (await http.get(path, headers=live.headers(own))).status_code == 200
        assert (await http.delete(path, headers=live.headers("ops"))).status_code == 403
        assert (await http.delete(path, headers=live.headers(stranger))).status_code == 404
        assert (await http.delete(path)).status_code == 401
        unknown = await http.post(
            "/v1/partnerships/partnership-no-such/calendar-feed", headers=live.headers("coordinator", key())
        )
        assert unknown.status_code == 404 and unknown.headers["content-type"] == PROBLEM
        for bad in ("ecf_" + "x" * 43, "nothing", "ecf_"):
            response = await http.get(f"/v1/calendar/{bad}.ics")
            assert response.status_code == 404 and response.headers["content-type"] == PROBLEM


async def meetings_held(http: httpx.AsyncClient, live: Live, pid: str) -> int:
    status = await http.get(f"/v1/partnerships/{pid}", headers=live.headers("coordinator"))
    return int(status.json()["meetings_held"])


async def test_a_provider_event_logs_one_meeting_however_often_it_is_reported(live: Live) -> None:
    async with live.http() as http:
        pid = await active(http, live)
        event_id = f"evt_{uuid.uuid4().hex}"
        held = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
        body = {"type": "meeting.held", "data": {"partnership_id": pid, "event_id": event_id, "minutes": 45,
                                                 "held_on": held}}  # fmt: skip
        first = await http.post("/v1/webhooks/calendar", **signed(live, "calendar", body))
        assert first.status_code == 200, first.text
        assert first.json()["meetings_held"] == 1
        # Another delivery (a new webhook-id) of the same event, and the bearer route with it: one meeting.
        second = await http.post("/v1/webhooks/calendar", **signed(live, "calendar", body))
        assert second.status_code == 200 and second.headers["idempotent-replayed"] == "true"
        assert second.json() == first.json()
        bearer = await http.post(
            "/v1/calendar/meetings",
            json={"partnership_id": pid, "event_id": event_id, "minutes": 50},
            headers=live.headers("calendar"),
        )
        assert bearer.status_code == 200 and bearer.headers["idempotent-replayed"] == "true"
        assert await meetings_held(http, live, pid) == 1

        other = await http.post(
            "/v1/calendar/meetings",
            json={"partnership_id": pid, "event_id": f"evt_{uuid.uuid4().hex}", "minutes": 30, "topics": ["CV"]},
            headers=live.headers("calendar"),
        )
        assert other.status_code == 200 and other.json()["meetings_held"] == 2
        assert "idempotent-replayed" not in other.headers

        # Two deliveries of a new event at once: one meeting.
        at_once = f"evt_{uuid.uuid4().hex}"
        both = await asyncio.gather(
            *(
                http.post(
                    "/v1/calendar/meetings",
                    json={"partnership_id": pid, "event_id": at_once, "minutes": 30},
                    headers=live.headers("calendar"),
                )
                for _ in range(2)
            )
        )
        assert sorted(r.status_code for r in both) in ([200, 200], [200, 409]), [r.text for r in both]
        assert await meetings_held(http, live, pid) == 3

        # The same event id for another partnership is refused, and logs nothing there.
        elsewhere = await active(http, live)
        reused = await http.post(
            "/v1/calendar/meetings",
            json={"partnership_id": elsewhere, "event_id": event_id, "minutes": 30},
            headers=live.headers("calendar"),
        )
        assert reused.status_code == 409 and reused.headers["content-type"] == PROBLEM
        assert reused.json()["type"].endswith("event-id-reused")
        assert await meetings_held(http, live, elsewhere) == 0


async def test_a_meeting_before_signing_is_refused_with_the_reason_and_can_be_reported_again(live: Live) -> None:
    async with live.http() as http:
        pid = await awaiting_signatures(http, live)
        event_id = f"evt_{uuid.uuid4().hex}"
        meeting = {"partnership_id": pid, "event_id": event_id, "minutes": 60}
        early = await http.post("/v1/calendar/meetings", json=meeting, headers=live.headers("calendar"))
        assert early.status_code == 409 and early.headers["content-type"] == PROBLEM
        assert early.json()["type"].endswith("/rejected") and "AWAITING_SIGNATURES" in early.json()["detail"]
        body = {"type": "meeting.held", "data": meeting}
        webhook = await http.post("/v1/webhooks/calendar", **signed(live, "calendar", body))
        assert webhook.status_code == 409 and webhook.json()["detail"] == early.json()["detail"]

        for party in ("mentee", "mentor"):
            assert (
                await post(http, live, f"/v1/partnerships/{pid}/sign_agreement", "esign", {"party": party})
            ).is_success
        later = await http.post("/v1/calendar/meetings", json=meeting, headers=live.headers("calendar"))
        assert later.status_code == 200, later.text
        assert later.json()["meetings_held"] == 1


async def test_calendar_meeting_input_is_checked_and_scoped(live: Live) -> None:
    async with live.http() as http:
        pid = await active(http, live)
        path = "/v1/calendar/meetings"
        for who in ("coordinator", "esign", "ops", "institution"):
            body = {"partnership_id": pid, "event_id": "e-1", "minutes": 30}
            assert (await http.post(path, json=body, headers=live.headers(who))).status_code == 403
        assert (await http.post(path, json={"partnership_id": pid, "event_id": "e", "minutes": 30})).status_code == 401
        bad = await http.post(
            path,
            json={"partnership_id": pid, "event_id": "has space", "minutes": 2, "extra": 1},
            headers=live.headers("calendar"),
        )
        assert bad.status_code == 422 and bad.headers["content-type"] == PROBLEM
        pointers = {e["pointer"].rsplit("/", 1)[-1] for e in bad.json()["errors"]}
        assert {"event_id", "minutes", "extra"} <= pointers
        unknown = await http.post(
            path,
            json={"partnership_id": "partnership-none-here", "event_id": "e-404", "minutes": 30},
            headers=live.headers("calendar"),
        )
        assert unknown.status_code == 404 and unknown.headers["content-type"] == PROBLEM
        assert await meetings_held(http, live, pid) == 0


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
async def test_the_readme_calendar_examples_work_against_the_gateway(live: Live, tmp_path: Path) -> None:
    text = README.read_text()
    section = text[text.index("**Meetings from a calendar**") :]
    script = re.findall(r"```sh\n(.*?)```", section, re.S)[0]
    async with live.http() as http:
        pid = await active(http, live)
        token = await live.store.create_token("readme-cal-" + uuid.uuid4().hex[:6], ["coordinator", "calendar"])
        event_id = f"gcal-{uuid.uuid4().hex[:8]}"
        runnable = (
            script.replace("B=http://127.0.0.1:8000;", f"B={live.url};")
            .replace("W=partnership-2026-spring-stu-1042", f"W={pid}")
            .replace("gcal-5f2k9", event_id)
        )
        assert runnable.count(event_id) == 2 and f"W={pid}" in runnable
        (tmp_path / "calendar.sh").write_text("set -eu\n" + runnable)
        process = await asyncio.create_subprocess_exec(
            "bash",
            str(tmp_path / "calendar.sh"),
            env={**os.environ, "T": token},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        assert process.returncode == 0, err.decode()
        output = out.decode()
        assert "BEGIN:VCALENDAR" in output and "EntryPoint pair meeting due" in output
        assert output.count('"meetings_held":1') == 2  # the second report replayed the first answer
        assert output.rstrip().endswith("404")  # revoked
        assert await meetings_held(http, live, pid) == 1


async def test_a_report_after_a_gateway_died_mid_log_logs_no_second_meeting(live: Live) -> None:
    """The gateway logged the meeting in Temporal and died before keeping the event id's answer: a later report
    (once the in-flight lock ran out) runs again, and Temporal answers it by the update id with the first outcome."""
    async with live.http() as http:
        pid = await active(http, live)
        event_id = f"evt_{uuid.uuid4().hex}"
        store = CalendarStore(live.records.database)
        assert (await store.claim_event(PROVIDER, event_id, pid)).outcome == "new"
        first = await Partnerships(live.client, live.task_queue).update(
            pid, "log_meeting", {"minutes": 40}, update_id=update_id_for(event_id)
        )
        assert first.meetings_held == 1
        in_flight = await http.post(
            "/v1/calendar/meetings",
            json={"partnership_id": pid, "event_id": event_id, "minutes": 40},
            headers=live.headers("calendar"),
        )
        assert in_flight.status_code == 409 and in_flight.headers["retry-after"] == "1"

        async def expire(connection: AsyncConnection) -> None:
            await connection.execute(
                update(calendar_events)
                .where(calendar_events.c.event_id == event_id)
                .values(locked_until=datetime.now(UTC) - timedelta(seconds=1))
            )

        await live.records.database.write(expire)
        again = await http.post(
            "/v1/calendar/meetings",
            json={"partnership_id": pid, "event_id": event_id, "minutes": 40},
            headers=live.headers("calendar"),
        )
        assert again.status_code == 200, again.text
        assert again.json()["meetings_held"] == 1 and await meetings_held(http, live, pid) == 1
        replay = await http.post(
            "/v1/calendar/meetings",
            json={"partnership_id": pid, "event_id": event_id, "minutes": 40},
            headers=live.headers("calendar"),
        )
        assert replay.headers["idempotent-replayed"] == "true"


async def test_the_cli_makes_shows_and_revokes_a_feed_url(
    live: Live, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async with live.http() as http:
        pid = await submit(http, live)
        await wait_stage(http, live, pid, "AWAITING_MATCH")

        def cli(*argv: str) -> int:
            monkeypatch.setenv("ENTRYPOINT_DATABASE_URL", live.database_url)
            settings.cache_clear()
            try:
                return main(list(argv))
            finally:
                settings.cache_clear()

        assert await asyncio.to_thread(cli, "calendar-feed", "create", pid, "--base-url", live.url) == 0
        printed = capsys.readouterr().out
        url = next(line for line in printed.splitlines() if line.startswith(live.url))
        assert url.endswith(".ics") and "not shown again" in printed
        assert (await http.get(url)).status_code == 200
        assert await asyncio.to_thread(cli, "calendar-feed", "show", pid) == 0
        assert "made by cli" in capsys.readouterr().out
        assert await asyncio.to_thread(cli, "calendar-feed", "revoke", pid) == 0
        assert (await http.get(url)).status_code == 404
        assert await asyncio.to_thread(cli, "calendar-feed", "revoke", pid) == 1
        said = [line for line in capsys.readouterr().err.splitlines() if line.startswith("entrypoint:")]
        assert said == [f"entrypoint: partnership {pid} has no active calendar feed"]  # one line, no traceback
        assert await asyncio.to_thread(cli, "calendar-feed", "create", "partnership-none-x") == 1
        assert "no partnership partnership-none-x" in capsys.readouterr().err
        assert await asyncio.to_thread(cli, "calendar-feed", "show", "not an id") == 2
        assert await asyncio.to_thread(cli, "calendar-feed", "create", pid, "--base-url", "ftp://x") == 2


async def test_erasing_a_person_revokes_their_partnerships_feed_urls(live: Live) -> None:
    async with live.http() as http:
        pid = await submit(http, live)
        await wait_stage(http, live, pid, "AWAITING_MATCH")
        made = await http.post(f"/v1/partnerships/{pid}/calendar-feed", headers=live.headers("coordinator", key()))
        url = made.json()["url"]
        withdrawn = await post(
            http, live, f"/v1/partnerships/{pid}/withdraw", "coordinator", {"party": "mentee", "reason": "moved"}
        )
        assert withdrawn.json()["stage"] == "WITHDRAWN"
        for _ in range(100):  # until the workflow has closed
            described = await live.client.get_workflow_handle(pid).describe()
            if described.status and described.status.name == "COMPLETED":
                break
            await asyncio.sleep(0.05)
        assert (await http.get(url)).status_code == 200
        mentee = pid.removeprefix(f"partnership-{live.cohort_id}-")
        erased = await erase_person(live.client, live.records, live.records.data_keys, mentee, "GDPR case 7")
        assert erased.partnerships == (pid,)
        assert (await http.get(url)).status_code == 404
        assert (await http.get(f"/v1/partnerships/{pid}/calendar-feed", headers=live.headers("ops"))).status_code == 404
