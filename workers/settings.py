"""Process configuration, from the environment. Every default works on a fresh machine."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
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


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings()
