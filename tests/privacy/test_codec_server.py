"""The codec server over real HTTP: Temporal's remote codec contract, CORS for the UI, and its token check."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

import httpx
import pytest

from activities.keys import Keyring
from activities.records.migrate import upgrade
from gateway.store import GatewayStore
from tests.privacy.codec_http import as_json, data_of, free_port, running_codec_server
from workers.codec import ENCODING, EncryptionCodec
from workers.codec_server import TOKEN_ENV, Caller, Verdict, any_of, gateway_tokens, static_token
from workers.dev import start_codec_server
from workers.temporal import data_converter

TOKEN = "codec-token-for-tests-0123456789"
SECRET = "Ottoline Canary-Marsh"
UI = "http://localhost:8233"


async def test_decode_needs_a_valid_token_and_then_returns_the_plaintext() -> None:
    keyring = Keyring.generate()
    encrypted = await data_converter(keyring).encode([{"name": SECRET}])
    body = {"payloads": [as_json(p) for p in encrypted]}
    async with running_codec_server(EncryptionCodec(keyring), static_token(TOKEN)) as url, httpx.AsyncClient() as http:
        for headers in ({}, {"Authorization": "Bearer wrong-token-wrong-token"}, {"Authorization": TOKEN}):
            refused = await http.post(f"{url}/decode", json=body, headers=headers)
            assert refused.status_code == 401
            assert refused.headers["content-type"] == "application/problem+json"
            assert SECRET not in refused.text
        refused = await http.post(f"{url}/t/not-the-token-at-all/decode", json=body)
        assert refused.status_code == 401 and SECRET not in refused.text

        decoded = await http.post(f"{url}/decode", json=body, headers={"Authorization": f"Bearer {TOKEN}"})
        assert decoded.status_code == 200
        [item] = decoded.json()["payloads"]
        assert json.loads(data_of(item)) == {"name": SECRET}
        via_path = await http.post(f"{url}/t/{TOKEN}/decode", json=body, headers={"X-Namespace": "default"})
        assert via_path.json() == decoded.json()


async def test_encode_round_trips_through_decode() -> None:
    keyring = Keyring.generate()
    plain = data_converter(keyring).payload_converter.to_payloads([SECRET])[0]
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with running_codec_server(EncryptionCodec(keyring), static_token(TOKEN)) as url, httpx.AsyncClient() as http:
        encoded = (await http.post(f"{url}/encode", json={"payloads": [as_json(plain)]}, headers=auth)).json()
        [item] = encoded["payloads"]
        assert SECRET.encode() not in data_of(item)
        assert item["metadata"]["encoding"] == "YmluYXJ5L2VuY3J5cHRlZA=="  # base64 of binary/encrypted
        assert ENCODING == b"binary/encrypted"
        decoded = (await http.post(f"{url}/decode", json=encoded, headers=auth)).json()
        assert json.loads(data_of(decoded["payloads"][0])) == SECRET


async def test_cors_admits_the_ui_origin_with_its_headers_and_no_other_origin() -> None:
    keyring = Keyring.generate()
    async with running_codec_server(EncryptionCodec(keyring), static_token(TOKEN)) as url, httpx.AsyncClient() as http:
        preflight = await http.options(
            f"{url}/decode",
            headers={
                "Origin": UI,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "x-namespace,authorization,content-type",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == UI
        allowed = preflight.headers["access-control-allow-headers"].lower()
        assert {"x-namespace", "authorization", "content-type"} <= {h.strip() for h in allowed.split(",")}
        stranger = await http.options(
            f"{url}/decode", headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"}
        )
        assert stranger.status_code == 400 and "access-control-allow-origin" not in stranger.headers


async def test_bad_bodies_and_unknown_keys_get_a_clear_problem() -> None:
    mine, other = Keyring.generate(), Keyring.generate()
    foreign = await data_converter(other).encode([SECRET])
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with running_codec_server(EncryptionCodec(mine), static_token(TOKEN)) as url, httpx.AsyncClient() as http:
        bad = await http.post(f"{url}/decode", content=b"not json", headers=auth)
        assert bad.status_code == 400 and "codec contract" in bad.json()["detail"]
        bad = await http.post(f"{url}/decode", json={"payloads": [{"nope": 1}]}, headers=auth)
        assert bad.status_code == 400
        unknown = await http.post(f"{url}/decode", json={"payloads": [as_json(p) for p in foreign]}, headers=auth)
        assert unknown.status_code == 422
        assert f"no key '{other.current}'" in unknown.json()["detail"] and SECRET not in unknown.text


async def test_the_authorizer_is_a_plain_function_the_lead_can_swap() -> None:
    check = static_token(TOKEN)
    assert await check(Caller(token=TOKEN, namespace="default"))
    assert not await check(Caller(token=None, namespace="default"))
    assert not await check(Caller(token=TOKEN[:-1], namespace="default"))


async def test_gateway_tokens_with_ops_read_decode_others_get_401_or_403(tmp_path: Path) -> None:
    """Staff use the gateway's own tokens (hashed in the records database): ops:read decodes, a valid token
    without it is 403, an unknown, revoked or malformed one 401; nothing decoded unless allowed."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'records.db'}"
    await upgrade(url)
    keyring = Keyring.generate()
    encrypted = await data_converter(keyring).encode([{"name": SECRET}])
    body = {"payloads": [as_json(p) for p in encrypted]}
    async with GatewayStore.from_url(url) as tokens:
        ops = await tokens.create_token("staff-ops", ["ops:read"])
        coordinator = await tokens.create_token("staff-coordinator", ["coordinator"])
        revoked = await tokens.create_token("staff-left", ["ops:read"])
        assert await tokens.revoke_token("staff-left")
        authorize = any_of(gateway_tokens(tokens), static_token(TOKEN))
        async with running_codec_server(EncryptionCodec(keyring), authorize) as codec, httpx.AsyncClient() as http:
            for token, status in (
                (None, 401),
                ("ept_0123456789abcdef_not-the-secret", 401),
                (revoked, 401),
                (ops[:-1], 401),
                (coordinator, 403),
            ):
                headers = {} if token is None else {"Authorization": f"Bearer {token}"}
                refused = await http.post(f"{codec}/decode", json=body, headers=headers)
                assert refused.status_code == status, token
                assert refused.headers["content-type"] == "application/problem+json"
                assert SECRET not in refused.text and (token is None or token not in refused.text)
            forbidden = await http.post(f"{codec}/t/{coordinator}/decode", json=body)
            assert forbidden.status_code == 403 and "ops:read" in forbidden.json()["detail"]

            for decoded in (
                await http.post(f"{codec}/decode", json=body, headers={"Authorization": f"Bearer {ops}"}),
                await http.post(f"{codec}/t/{ops}/decode", json=body),
                await http.post(f"{codec}/decode", json=body, headers={"Authorization": f"Bearer {TOKEN}"}),
            ):
                assert decoded.status_code == 200
                assert json.loads(data_of(decoded.json()["payloads"][0])) == {"name": SECRET}


async def test_a_token_lookup_that_fails_is_a_refusal_never_a_decode(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'not-migrated.db'}"  # no api_tokens table
    keyring = Keyring.generate()
    encrypted = await data_converter(keyring).encode([SECRET])
    async with GatewayStore.from_url(url) as tokens:
        check = gateway_tokens(tokens)
        assert await check(Caller(token="ept_0123456789abcdef_secret", namespace="default")) == Verdict.UNAUTHENTICATED
        async with running_codec_server(EncryptionCodec(keyring), check) as codec, httpx.AsyncClient() as http:
            refused = await http.post(
                f"{codec}/decode",
                json={"payloads": [as_json(p) for p in encrypted]},
                headers={"Authorization": "Bearer ept_0123456789abcdef_secret"},
            )
    assert refused.status_code == 401 and SECRET not in refused.text


async def test_make_runs_codec_server_takes_the_gateways_ops_read_tokens_and_its_dev_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `make run` starts (workers/dev.py): the demo's `ops` token decodes, a coordinator's is 403."""
    monkeypatch.chdir(tmp_path)  # it keeps its dev token in var/codec-token
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    url = f"sqlite+aiosqlite:///{tmp_path / 'records.db'}"
    await upgrade(url)
    keyring = Keyring.generate()
    encrypted = await data_converter(keyring).encode([SECRET])
    body = {"payloads": [as_json(p) for p in encrypted]}
    async with GatewayStore.from_url(url) as tokens:
        ops = await tokens.create_token("demo-ops", ["ops:read"])
        coordinator = await tokens.create_token("demo-coordinator", ["coordinator"])
    port = free_port()
    task, dev_token = await start_codec_server(keyring, port, 8233, url)
    try:
        assert (tmp_path / "var" / "codec-token").read_text().strip() == dev_token
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            assert (await http.post(f"/t/{ops}/decode", json=body)).status_code == 200
            assert (await http.post(f"/t/{dev_token}/decode", json=body)).status_code == 200
            assert (await http.post(f"/t/{coordinator}/decode", json=body)).status_code == 403
            assert (await http.post("/decode", json=body)).status_code == 401
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
