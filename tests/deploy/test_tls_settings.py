"""TLS to the Temporal frontend from the worker and the commands (README, "Deployment and TLS")."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.service import TLSConfig

from workers.settings import Settings
from workers.temporal import tls_config


def test_no_tls_variables_no_tls(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TEMPORAL_TLS_CA", "TEMPORAL_TLS_CERT", "TEMPORAL_TLS_KEY", "TEMPORAL_TLS_SERVER_NAME"):
        monkeypatch.setenv(name, "")
    assert tls_config(Settings()) is False


def test_mutual_tls_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, content in (("ca", b"CA PEM"), ("cert", b"CERT PEM"), ("key", b"KEY PEM")):
        (tmp_path / name).write_bytes(content)
        monkeypatch.setenv(f"TEMPORAL_TLS_{name.upper()}", str(tmp_path / name))
    monkeypatch.setenv("TEMPORAL_TLS_SERVER_NAME", "temporal.internal")
    config = tls_config(Settings())
    assert config == TLSConfig(
        server_root_ca_cert=b"CA PEM",
        client_cert=b"CERT PEM",
        client_private_key=b"KEY PEM",
        domain="temporal.internal",
    )
    monkeypatch.setenv("TEMPORAL_TLS_KEY", "")
    with pytest.raises(ValueError, match="go together"):
        tls_config(Settings())
