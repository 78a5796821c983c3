"""Fixtures for the notification tests: a real SMTP server on loopback.

The records store comes from the shared fixtures in ``tests/conftest.py`` (``store``, ``database_url``:
SQLite and PostgreSQL, one database per session), so every test uses ids of its own (see ``seed``).
"""

from __future__ import annotations

import asyncio
import typing
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.smtp import free_port


class MailServer:
    """aiosmtpd on 127.0.0.1 that keeps every message; can refuse addresses, fail for now, or be slow."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse: set[str] = set()
        """Addresses answered with 550 (no such user)."""
        self.busy = False
        """Answer every message with 451 (try again later)."""
        self.delay = 0.0
        """Seconds to wait before answering RCPT and DATA: widens races, or outlasts a deadline."""
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?from=entrypoint@example.org"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        if address in self.refuse:
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.busy:
            return "451 4.3.0 busy, try again later"
        raw = envelope.original_content or envelope.content
        self.messages.append(typing.cast(EmailMessage, message_from_bytes(raw, policy=policy.default)))
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"

    def start(self) -> MailServer:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m, (_, rcpts) in zip(self.messages, self.envelopes, strict=True) if address in rcpts]


@pytest.fixture
def mail_server() -> Iterator[MailServer]:
    server = MailServer().start()
    try:
        yield server
    finally:
        server.stop()
