"""Process configuration, from the environment. Every default works on a fresh machine."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///" + str(Path("var") / "records.db")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    database_url: str = Field(default=DEFAULT_DATABASE_URL, validation_alias="ENTRYPOINT_DATABASE_URL")
    """SQLAlchemy URL of the records database: sqlite+aiosqlite:///path or postgresql+asyncpg://..."""
    temporal_address: str = Field(default="localhost:7233", validation_alias="TEMPORAL_ADDRESS")
    temporal_namespace: str = Field(default="default", validation_alias="TEMPORAL_NAMESPACE")
    task_queue: str = Field(default="entrypoint", validation_alias="ENTRYPOINT_TASK_QUEUE")
    smtp_url: str | None = Field(default=None, validation_alias="ENTRYPOINT_SMTP_URL")
    """smtp://[user:password@]host:port[?from=addr&starttls=1]; unset keeps notifications in the outbox."""
    log_level: str = Field(default="INFO", validation_alias="ENTRYPOINT_LOG_LEVEL")
    timezone: str = Field(default="Europe/Helsinki", validation_alias="ENTRYPOINT_TIMEZONE")
    """The programme's time zone (IANA name): the CLI shows every time in it, with its offset."""
    outbox_sweep_interval: float = Field(default=60.0, gt=0, validation_alias="ENTRYPOINT_OUTBOX_SWEEP_INTERVAL")
    """Seconds between two passes of the worker's outbox sweep (pending notices are retried that often)."""
    workflow_cache: int = Field(default=1000, ge=1, validation_alias="ENTRYPOINT_WORKFLOW_CACHE")
    """Workflows the worker keeps in memory (``max_cached_workflows``): about 0.4-0.5 MiB each. A workflow beyond it
    is evicted and replayed from its history when it next wakes; size it to the partnerships that wake together
    (a cohort's, at a time skip or the programme's end), BENCHMARKS.md."""
    # Data protection (read by activities/keys.py and workers/codec_server.py; declared here to document them).
    keyring: SecretStr | None = Field(default=None, validation_alias="ENTRYPOINT_KEYRING")
    """The keyring's JSON (``entrypoint keys generate``); unset: the keyring file."""
    keyring_file: str = Field(default=str(Path("var") / "keyring.json"), validation_alias="ENTRYPOINT_KEYRING_FILE")
    data_keys_url: str | None = Field(default=None, validation_alias="ENTRYPOINT_DATA_KEYS_URL")
    """Where the per-person and per-partnership data keys live (default: the records database)."""
    codec_token: SecretStr | None = Field(default=None, validation_alias="ENTRYPOINT_CODEC_TOKEN")
    """The codec server's bearer token (at least 16 characters)."""
    codec_origins: str = Field(default="http://localhost:8233", validation_alias="ENTRYPOINT_CODEC_ORIGINS")
    """Origins (comma-separated) allowed to call the codec server: the Temporal UI's."""
    temporal_tls_ca: Path | None = Field(default=None, validation_alias="TEMPORAL_TLS_CA")
    """TLS to the Temporal frontend: the CA certificate (PEM) to trust; any TEMPORAL_TLS_* turns TLS on."""
    temporal_tls_cert: Path | None = Field(default=None, validation_alias="TEMPORAL_TLS_CERT")
    """The client certificate (PEM) for mutual TLS, with TEMPORAL_TLS_KEY."""
    temporal_tls_key: Path | None = Field(default=None, validation_alias="TEMPORAL_TLS_KEY")
    temporal_tls_server_name: str | None = Field(default=None, validation_alias="TEMPORAL_TLS_SERVER_NAME")
    """The name the frontend's certificate is checked against, when it is not the address's host."""

    @field_validator(
        "temporal_tls_ca", "temporal_tls_cert", "temporal_tls_key", "temporal_tls_server_name", mode="before"
    )
    @classmethod
    def _unset_when_empty(cls, value: object) -> object:
        return None if value == "" else value
    metrics_address: str | None = Field(default=None, validation_alias="ENTRYPOINT_METRICS_ADDRESS")
    """host:port where the worker serves Prometheus ``/metrics`` (e.g. 127.0.0.1:9464); unset = no metrics."""
    health_address: str | None = Field(default=None, validation_alias="ENTRYPOINT_HEALTH_ADDRESS")
    """host:port of the worker's ``/healthz`` and ``/readyz`` (e.g. 127.0.0.1:9465); unset = none."""
    otlp_endpoint: str | None = Field(default=None, validation_alias="ENTRYPOINT_OTLP_ENDPOINT")
    """OTLP/HTTP endpoint for traces (e.g. http://127.0.0.1:4318); unset = OTEL_EXPORTER_OTLP_ENDPOINT or none."""
    gauge_interval: float = Field(default=30.0, gt=0, validation_alias="ENTRYPOINT_GAUGE_INTERVAL")
    """Seconds between refreshes of the programme gauges (partnerships by stage, outbox, attention)."""


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings()
