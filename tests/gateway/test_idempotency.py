"""Idempotency-Key on every POST (IETF httpapi draft) and webhook ids as keys, over real HTTP; the store itself
on SQLite and PostgreSQL (expiry, in-flight, a gateway restart keeps the keys)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from activities.records.schema import idempotency_keys
from gateway.server import engine_for, server
from gateway.store import GatewayStore, StoredResponse, fingerprint
from tests.gateway.conftest import Live, free_port, whsec
from tests.gateway.test_contract import key, post, signed, submit, wait_stage

pytestmark = pytest.mark.temporal


async def active_partnership(http: httpx.AsyncClient, live: Live) -> str:
    pid = await submit(http, live)
    await wait_stage(http, live, pid, "AWAITING_MATCH")
    await post(http, live, f"/v1/partnerships/{pid}/match_proposed", "coordinator", {"mentor_id": "mr-1"})
    await post(http, live, f"/v1/partnerships/{pid}/sign_agreement", "esign", {"party": "mentee"})
    signed_by_both = await post(http, live, f"/v1/partnerships/{pid}/sign_agreement", "esign", {"party": "mentor"})
    assert signed_by_both.json()["stage"] == "ACTIVE"
    return pid


async def meetings(http: httpx.AsyncClient, live: Live, pid: str) -> int:
    response = await http.get(f"/v1/partnerships/{pid}", headers=live.headers("coordinator"))
    return int(response.json()["meetings_held"])


async def test_a_retry_with_the_same_key_gets_the_first_response_and_does_nothing_again(live: Live) -> None:
    async with live.http() as http:
        pid = await active_partnership(http, live)
        headers = live.headers("calendar", key())
        path = f"/v1/partnerships/{pid}/log_meeting"
        first = await http.post(path, json={"minutes": 50, "topics": ["CV"]}, headers=headers)
        assert first.status_code == 200 and "idempotent-replayed" not in first.headers
        retry = await http.post(path, json={"topics": ["CV"], "minutes": 50}, headers=headers)  # same, reordered
        assert retry.status_code == 200 and retry.headers["idempotent-replayed"] == "true"
        assert retry.json() == first.json()
        assert await meetings(http, live, pid) == 1

        other = await http.post(path, json={"minutes": 51}, headers=headers)
        assert other.status_code == 422 and other.json()["type"].endswith("/idempotency-key-reused")
        assert await meetings(http, live, pid) == 1

        missing = await http.post(path, json={"minutes": 50}, headers=live.headers("calendar"))
        assert missing.status_code == 400 and missing.headers["content-type"] == "application/problem+json"
        assert await meetings(http, live, pid) == 1

        # A key belongs to its token: another token's request with the same key is another request.
        participant = await live.participant_token(pid)
        same_key = live.headers(participant, headers["Idempotency-Key"])
        theirs = await http.post(path, json={"minutes": 50, "topics": ["CV"]}, headers=same_key)
        assert theirs.status_code == 200 and "idempotent-replayed" not in theirs.headers
        assert await meetings(http, live, pid) == 2


async def test_two_identical_requests_at_once_have_one_effect(live: Live) -> None:
    async with live.http() as http:
        pid = await active_partnership(http, live)
        headers = live.headers("calendar", key())
        path = f"/v1/partnerships/{pid}/log_meeting"
        both = await asyncio.gather(*(http.post(path, json={"minutes": 30}, headers=headers) for _ in range(2)))
        statuses = sorted(r.status_code for r in both)
        assert statuses in ([200, 200], [200, 409]), [r.text for r in both]
        if statuses == [200, 409]:
            in_flight = next(r for r in both if r.status_code == 409)
            assert in_flight.json()["type"].endswith("/idempotency-key-in-flight") and in_flight.headers["retry-after"]
        assert await meetings(http, live, pid) == 1
        later = await http.post(path, json={"minutes": 30}, headers=headers)
        assert later.status_code == 200 and later.headers["idempotent-replayed"] == "true"
        assert await meetings(http, live, pid) == 1


async def test_a_restarted_gateway_keeps_the_keys(live: Live) -> None:
    async with live.http() as http:
        pid = await active_partnership(http, live)
        headers = live.headers("calendar", key())
        first = await http.post(f"/v1/partnerships/{pid}/log_meeting", json={"minutes": 30}, headers=headers)
        assert first.status_code == 200
    async with engine_for(live.client, live.task_queue, live.database_url) as engine:
        port = free_port()
        again = server(engine, "127.0.0.1", port, live.settings)
        serving = asyncio.create_task(again.serve())
        try:
            while not again.started:
                await asyncio.sleep(0.02)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                retry = await http.post(f"/v1/partnerships/{pid}/log_meeting", json={"minutes": 30}, headers=headers)
                assert retry.status_code == 200 and retry.headers["idempotent-replayed"] == "true"
                assert retry.json() == first.json()
                assert await meetings(http, live, pid) == 1
        finally:
            again.should_exit = True
            await serving


async def test_an_application_submitted_twice_with_one_key_starts_one_partnership(live: Live) -> None:
    from tests.gateway.test_contract import application

    body = application(live.cohort_id)
    headers = live.headers("institution", key())
    async with live.http() as http:
        both = await asyncio.gather(*(http.post("/v1/applications", json=body, headers=headers) for _ in range(2)))
        assert sorted(r.status_code for r in both) in ([201, 201], [201, 409])
        again = await http.post("/v1/applications", json=body, headers=headers)
        assert again.status_code == 201 and again.headers["location"] == both[0].headers.get(
            "location", both[1].headers.get("location")
        )


# ---------------------------------------------------------------------------------------------- webhooks


async def test_a_signed_webhook_is_done_once_and_a_bad_or_stale_one_not_at_all(live: Live) -> None:
    async with live.http() as http:
        pid = await active_partnership(http, live)
        event = {"type": "meeting.held", "data": {"partnership_id": pid, "minutes": 40}}
        delivery = signed(live, "calendar", event)
        first = await http.post("/v1/webhooks/calendar", **delivery)
        assert first.status_code == 200 and first.json()["meetings_held"] == 1
        redelivered = await http.post("/v1/webhooks/calendar", **delivery)
        assert redelivered.status_code == 200 and redelivered.headers["idempotent-replayed"] == "true"
        assert await meetings(http, live, pid) == 1

        wrong_secret = signed(live, "calendar", event, secret=whsec())
        stale = signed(live, "calendar", event, at=datetime.now(UTC) - timedelta(minutes=6))
        future = signed(live, "calendar", event, at=datetime.now(UTC) + timedelta(minutes=6))
        tampered = signed(live, "calendar", event)
        tampered["content"] = tampered["content"].replace("40", "400")
        unsigned = {"content": delivery["content"], "headers": {"content-type": "application/json"}}
        garbage = signed(live, "calendar", event)
        garbage["headers"]["webhook-signature"] = "v1,not-base64!! v2"
        for bad in (wrong_secret, stale, future, tampered, unsigned, garbage):
            refused = await http.post("/v1/webhooks/calendar", **bad)
            assert refused.status_code == 401, refused.text
            assert refused.headers["content-type"] == "application/problem+json"
        assert await meetings(http, live, pid) == 1

        cross = signed(
            live, "calendar", {"type": "agreement.signed", "data": {"partnership_id": pid, "party": "mentee"}}
        )
        assert (await http.post("/v1/webhooks/esign", **cross)).status_code == 401  # the calendar's secret


async def test_webhook_secrets_rotate_and_any_of_several_signatures_counts(live: Live) -> None:
    async with live.http() as http:
        pid = await submit(http, live)
        await wait_stage(http, live, pid, "AWAITING_MATCH")
        await post(http, live, f"/v1/partnerships/{pid}/match_proposed", "coordinator", {"mentor_id": "mr-1"})
        old, new = live.webhook_secrets["esign"]
        by_new = signed(live, "esign", {"type": "agreement.signed", "data": {"partnership_id": pid, "party": "mentee"}},
                        secret=new)  # fmt: skip
        assert (await http.post("/v1/webhooks/esign", **by_new)).status_code == 200
        event = {"type": "agreement.signed", "data": {"partnership_id": pid, "party": "mentor"}}
        several = signed(live, "esign", event, secret=old)
        stranger = signed(live, "esign", event, msg_id=several["headers"]["webhook-id"], secret=whsec())
        several["headers"]["webhook-signature"] = (
            stranger["headers"]["webhook-signature"] + " " + several["headers"]["webhook-signature"]
        )
        done = await http.post("/v1/webhooks/esign", **several)
        assert done.status_code == 200 and done.json()["stage"] == "ACTIVE"

        invalid = signed(live, "esign", {"type": "agreement.signed", "data": {"party": "nobody"}})
        refused = await http.post("/v1/webhooks/esign", **invalid)
        assert refused.status_code == 422
        assert {e["pointer"] for e in refused.json()["errors"]} == {"/data/partnership_id", "/data/party"}


# ---------------------------------------------------------------------------------------------- the store


async def test_keys_expire_and_an_abandoned_in_flight_key_can_be_taken_over(database_url: str) -> None:
    async with GatewayStore.from_url(database_url) as store:
        who, k = f"token:t-{uuid.uuid4().hex[:6]}", "key-1"
        fp = fingerprint("POST", "/v1/x", b'{"a": 1}')
        assert (await store.claim(who, k, fp, timedelta(hours=24))).outcome == "new"
        assert (await store.claim(who, k, fp, timedelta(hours=24))).outcome == "in_flight"
        assert (await store.claim(who, k, "other", timedelta(hours=24))).outcome == "mismatch"
        await store.complete(who, k, StoredResponse(201, {"location": "/v1/x/1"}, '{"ok":true}'))
        replay = await store.claim(who, k, fp, timedelta(hours=24))
        assert replay.outcome == "replay" and replay.response == StoredResponse(
            201, {"location": "/v1/x/1"}, '{"ok":true}'
        )

        short = "key-2"
        assert (await store.claim(who, short, fp, timedelta(seconds=-1))).outcome == "new"
        assert (await store.claim(who, short, fp, timedelta(hours=1))).outcome == "new"  # expired: a new request

        crashed = "key-3"
        assert (await store.claim(who, crashed, fp, timedelta(hours=1), lock=timedelta(seconds=-1))).outcome == "new"
        assert (await store.claim(who, crashed, fp, timedelta(hours=1))).outcome == "new"  # its lock ran out
        await store.release(who, crashed)
        assert (await store.claim(who, crashed, fp, timedelta(hours=1))).outcome == "new"


async def test_concurrent_claims_of_one_key_let_exactly_one_through(database_url: str) -> None:
    async with GatewayStore.from_url(database_url) as store:
        who, k = f"token:t-{uuid.uuid4().hex[:6]}", "same"
        outcomes = await asyncio.gather(*(store.claim(who, k, "fp", timedelta(hours=1)) for _ in range(8)))
        assert sorted(o.outcome for o in outcomes) == ["in_flight"] * 7 + ["new"]


async def test_a_stored_first_response_is_sealed_and_an_old_plain_one_still_replays(database_url: str) -> None:
    """A first response can carry what people wrote (a status with reasons): never stored readable."""
    secret = f"canary-reason-{uuid.uuid4().hex}"
    async with GatewayStore.from_url(database_url) as store:
        who = f"token:t-{uuid.uuid4().hex[:6]}"
        fp = fingerprint("POST", "/v1/x", b"{}")
        assert (await store.claim(who, "sealed", fp, timedelta(hours=1))).outcome == "new"
        await store.complete(who, "sealed", StoredResponse(200, {}, f'{{"ended_reason":"{secret}"}}'))
        k = idempotency_keys.c

        async def body(key: str) -> str:
            async def work(connection: AsyncConnection) -> str:
                query = select(k.body).where(k.principal == who, k.key == key)
                return str(await connection.scalar(query))

            return await store._db.read(work)

        stored = await body("sealed")
        assert stored.startswith("kr1:") and secret not in stored
        replay = await store.claim(who, "sealed", fp, timedelta(hours=1))
        assert replay.response is not None and secret in replay.response.body

        assert (await store.claim(who, "old", fp, timedelta(hours=1))).outcome == "new"

        async def as_before(connection: AsyncConnection) -> None:
            values = {"state": "done", "status_code": 200, "headers": {}, "body": '{"ok":true}'}
            await connection.execute(
                update(idempotency_keys).where(k.principal == who, k.key == "old").values(**values)
            )

        await store._db.write(as_before)
        old = await store.claim(who, "old", fp, timedelta(hours=1))
        assert old.response == StoredResponse(200, {}, '{"ok":true}')
