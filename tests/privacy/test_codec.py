"""The payload codec and the keyring: round trips, rotation, unknown keys, plaintext from before the codec."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.exceptions import ApplicationError

from activities.keys import KEYRING_ENV, KEYRING_FILE_ENV, Keyring, KeyringError, load_keyring, rotate_keyring
from contract.partnership import Application
from workers.cli import main
from workers.codec import ENCODING, KEY_ID, EncryptionCodec
from workers.temporal import data_converter

SECRET = "Zebulon Quixote-Canary"


def application() -> Application:
    return Application.model_validate(
        {
            "cohort_id": "c1",
            "mentee_id": "m1",
            "institution_id": "uni-helsinki",
            "degree_level": "master",
            "field": "physics",
            "contact": {"name": SECRET, "email": "zebulon.canary@example.org"},
        }
    )


async def test_every_payload_is_ciphertext_under_the_current_key_and_decodes_back() -> None:
    keyring = Keyring.generate()
    converter = data_converter(keyring)
    payloads = await converter.encode([application(), {"text": SECRET}, None])
    for payload in payloads:
        assert payload.metadata["encoding"] == ENCODING
        assert payload.metadata[KEY_ID] == keyring.current.encode()
        assert SECRET.encode() not in payload.SerializeToString()
        assert b"zebulon" not in payload.SerializeToString()
    app, diary, nothing = await converter.decode(payloads, [Application, dict, type(None)])
    assert app == application() and diary == {"text": SECRET} and nothing is None


async def test_failure_messages_and_stack_traces_are_encrypted_too() -> None:
    converter = data_converter(Keyring.generate())
    failure = Failure()
    await converter.encode_failure(ApplicationError(f"refused for {SECRET}", type="Refused"), failure)
    assert SECRET.encode() not in failure.SerializeToString()
    assert failure.message == "Encoded failure"
    decoded = await converter.decode_failure(failure)
    assert isinstance(decoded, ApplicationError) and SECRET in decoded.message


async def test_rotation_keeps_older_payloads_readable_and_an_unknown_key_is_named() -> None:
    old = Keyring.generate()
    payload = (await data_converter(old).encode([SECRET]))[0]
    rotated = old.rotated()
    assert rotated.current != old.current and old.current in rotated.keys
    fresh = (await data_converter(rotated).encode([SECRET]))[0]
    assert fresh.metadata[KEY_ID] == rotated.current.encode()
    assert await data_converter(rotated).decode([payload, fresh], [str, str]) == [SECRET, SECRET]

    stranger = Keyring.generate()
    with pytest.raises(KeyringError, match=f"no key '{old.current}' in the keyring"):
        await data_converter(stranger).decode([payload], [str])


async def test_a_tampered_payload_or_a_swapped_key_id_is_refused() -> None:
    keyring = Keyring.generate().rotated()
    payload = (await data_converter(keyring).encode([SECRET]))[0]
    tampered = Payload(metadata=dict(payload.metadata), data=payload.data[:-1] + bytes([payload.data[-1] ^ 1]))
    with pytest.raises(KeyringError, match="does not decrypt"):
        await EncryptionCodec(keyring).decode([tampered])
    other = next(k for k in keyring.keys if k != keyring.current)
    swapped = Payload(metadata={**payload.metadata, KEY_ID: other.encode()}, data=payload.data)
    with pytest.raises(KeyringError, match="does not decrypt"):
        await EncryptionCodec(keyring).decode([swapped])


async def test_plaintext_from_before_the_codec_is_accepted_and_flagged(caplog: pytest.LogCaptureFixture) -> None:
    plain = Payload(metadata={"encoding": b"json/plain"}, data=json.dumps({"text": SECRET}).encode())
    codec = EncryptionCodec(Keyring.generate())
    with caplog.at_level(logging.WARNING, logger="workers.codec"):
        assert await codec.decode([plain]) == [plain]
    assert codec.plaintext_seen == 1
    assert [r.getMessage() for r in caplog.records] == ["plaintext_payload_decoded"]
    assert SECRET not in caplog.text


def test_keyring_from_the_environment_or_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEYRING_ENV)
    monkeypatch.setenv(KEYRING_FILE_ENV, str(tmp_path / "var" / "keyring.json"))
    with pytest.raises(KeyringError, match=r"no keyring at .*run `entrypoint setup`"):
        load_keyring()
    assert main(["keys", "init"]) == 0
    created = load_keyring()
    assert (tmp_path / "var" / "keyring.json").stat().st_mode & 0o777 == 0o600
    assert main(["keys", "init"]) == 0 and load_keyring() == created  # safe twice
    rotated = rotate_keyring()
    assert set(rotated.keys) > set(created.keys) and load_keyring().current == rotated.current
    assert main(["keys", "rotate"]) == 0 and len(load_keyring().keys) == 3

    monkeypatch.setenv(KEYRING_ENV, created.to_json())
    assert load_keyring().current == created.current
    with pytest.raises(KeyringError, match="rotate it where that value is kept"):
        rotate_keyring()
    monkeypatch.setenv(KEYRING_ENV, '{"current": "k1", "keys": []}')
    with pytest.raises(KeyringError, match="names current key 'k1' but does not hold it"):
        load_keyring()


def test_the_cli_says_in_one_line_when_there_is_no_keyring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(KEYRING_ENV)
    monkeypatch.setenv(KEYRING_FILE_ENV, str(tmp_path / "none.json"))
    assert main(["keys", "list"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("entrypoint: no keyring at") and err.count("\n") == 1
