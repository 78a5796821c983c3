"""Sending e-mail over SMTP: ``SmtpMailer`` from ``smtp://[user:password@]host:port[?from=addr&starttls=1]``.

The standard library's smtplib, run in a worker thread so the event loop never blocks. One connection
per message: notifications come a few at a time, and a fresh connection never carries a half-finished
dialogue over from a failure. ``smtps://`` connects with TLS from the start (port 465 by default).
"""

from __future__ import annotations

import asyncio
import contextlib
import smtplib
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_FROM = "EntryPoint <entrypoint@localhost>"
DEFAULT_TIMEOUT = 20.0
"""Seconds for connecting and for each SMTP reply (``?timeout=`` in the URL, at most 60)."""
DEADLINE_FACTOR = 3
"""A whole dialogue after connecting is cut off after this many timeouts (60 s by default)."""
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class SmtpUrlError(ValueError):
    """ENTRYPOINT_SMTP_URL is not a usable SMTP URL. The message never repeats the password."""


class RecipientRefused(Exception):
    """The server refused the recipient address for good (a 5xx reply): retrying will not help."""

    def __init__(self, code: int) -> None:
        super().__init__(f"the mail server refused the recipient address (SMTP {code})")
        self.code = code


class MailServerError(Exception):
    """Sending failed for now (server down, busy, a 4xx reply): try again later.

    The message names the server and the SMTP code only: server replies can quote addresses, and this
    error travels into logs and the Temporal history.
    """


class Mailer(Protocol):
    """Anything that can send one message: SMTP in production, a list in a unit test."""

    @property
    def sender(self) -> str: ...

    async def send(self, message: EmailMessage, *, within: float | None = None) -> None:
        """Send ``message`` (To, From and Message-ID already set), finishing (or giving up) within
        ``within`` seconds when given. Raises RecipientRefused for a permanently refused address; any
        other exception means "not sent, try again later"."""
        ...


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    sender: str = DEFAULT_FROM
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False
    implicit_tls: bool = False
    timeout: float = DEFAULT_TIMEOUT
    dialogue_deadline: float | None = None
    """Seconds a dialogue may last after connecting; None: ``DEADLINE_FACTOR`` timeouts."""

    @property
    def deadline(self) -> float:
        """Seconds a dialogue may last after connecting before it is cut off."""
        return self.dialogue_deadline or self.timeout * DEADLINE_FACTOR

    @property
    def display(self) -> str:
        """Where it sends, without credentials: safe to print and log."""
        scheme = "smtps" if self.implicit_tls else "smtp"
        return f"{scheme}://{self.host}:{self.port}" + ("?starttls=1" if self.starttls else "")


def _flag(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise SmtpUrlError(f"bad SMTP URL: {name}={value!r} must be 1 or 0")


def parse_smtp_url(url: str) -> SmtpConfig:
    """The settings in an SMTP URL; raises SmtpUrlError saying what is wrong (never echoing a password)."""
    example = "smtp://[user:password@]host:port[?from=addr&starttls=1]"
    try:
        parts = urlsplit(url.strip())
        port_text = parts.port
    except ValueError as error:
        raise SmtpUrlError(f"bad SMTP URL ({error}); expected {example}") from None
    if parts.scheme not in {"smtp", "smtps"}:
        raise SmtpUrlError(
            f"bad SMTP URL: the scheme must be smtp or smtps, not {parts.scheme or 'missing'!r}; expected {example}"
        )
    if not parts.hostname:
        raise SmtpUrlError(f"bad SMTP URL: no host; expected {example}")
    if parts.path not in {"", "/"} or parts.fragment:
        raise SmtpUrlError(f"bad SMTP URL: unexpected path or fragment; expected {example}")
    implicit_tls = parts.scheme == "smtps"
    port = port_text if port_text is not None else (465 if implicit_tls else 25)
    try:
        query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        raise SmtpUrlError(f"bad SMTP URL: cannot read the query; expected {example}") from None
    unknown = set(query) - {"from", "starttls", "timeout"}
    if unknown:
        raise SmtpUrlError(
            f"bad SMTP URL: unknown option(s) {', '.join(sorted(unknown))}; known: from, starttls, timeout"
        )
    if any(len(values) > 1 for values in query.values()):
        raise SmtpUrlError("bad SMTP URL: an option is given more than once")
    options = {key: values[0] for key, values in query.items()}
    sender = options.get("from", DEFAULT_FROM).strip()
    if "@" not in parseaddr(sender)[1]:
        raise SmtpUrlError("bad SMTP URL: from= must be an e-mail address, such as from=entrypoint@example.org")
    starttls = _flag("starttls", options.get("starttls", "0"))
    if starttls and implicit_tls:
        raise SmtpUrlError("bad SMTP URL: starttls=1 makes no sense with smtps:// (already TLS)")
    try:
        timeout = float(options.get("timeout", DEFAULT_TIMEOUT))
    except ValueError:
        raise SmtpUrlError("bad SMTP URL: timeout= must be a number of seconds") from None
    if not 0 < timeout <= 60:
        raise SmtpUrlError("bad SMTP URL: timeout= must be between 0 and 60 seconds")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if password is not None and not username:
        raise SmtpUrlError("bad SMTP URL: a password needs a user name")
    return SmtpConfig(
        host=parts.hostname,
        port=port,
        sender=sender,
        username=username,
        password=password,
        starttls=starttls,
        implicit_tls=implicit_tls,
        timeout=timeout,
    )


class SmtpMailer:
    """Sends through one SMTP server. Build it with :meth:`from_url`."""

    def __init__(self, config: SmtpConfig, *, tls_context: ssl.SSLContext | None = None) -> None:
        self.config = config
        self._tls_context = tls_context

    @classmethod
    def from_url(cls, url: str) -> SmtpMailer:
        return cls(parse_smtp_url(url))

    @property
    def sender(self) -> str:
        return self.config.sender

    @property
    def max_send_seconds(self) -> float:
        """The longest one send can take: connecting, then the whole dialogue (cut off at the deadline)."""
        return self.config.timeout + self.config.deadline

    def __repr__(self) -> str:
        return f"SmtpMailer({self.config.display})"

    async def send(self, message: EmailMessage, *, within: float | None = None) -> None:
        await asyncio.to_thread(self._send, message, within)

    def _send(self, message: EmailMessage, within: float | None) -> None:
        try:
            self._dialogue(message, within)
        except RecipientRefused:
            raise
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            if codes and all(500 <= code < 600 for code in codes):
                raise RecipientRefused(codes[0]) from None
            code = codes[0] if codes else "?"
            raise MailServerError(f"the mail server refused the recipient for now (SMTP {code})") from None
        except smtplib.SMTPResponseException as error:
            raise MailServerError(f"the mail server answered {error.smtp_code} ({type(error).__name__})") from None
        except (smtplib.SMTPException, OSError) as error:
            detail = f"errno {error.errno}" if isinstance(error, OSError) and error.errno else type(error).__name__
            raise MailServerError(f"cannot talk to the mail server at {self.config.display} ({detail})") from None

    def _dialogue(self, message: EmailMessage, within: float | None) -> None:
        config = self.config
        started = time.monotonic()
        timeout = config.timeout if within is None else max(min(config.timeout, within), 0.001)
        context = self._tls_context or ssl.create_default_context()
        client: smtplib.SMTP
        if config.implicit_tls:
            client = smtplib.SMTP_SSL(config.host, config.port, timeout=timeout, context=context)
        else:
            client = smtplib.SMTP(config.host, config.port, timeout=timeout)
        deadline = config.deadline if within is None else min(config.deadline, within - (time.monotonic() - started))
        if deadline <= 0:
            client.close()
            raise MailServerError(f"no time was left to send through {config.display}")
        # A server that answers every step just inside the timeout must not hold a send (and so the
        # delivery's claim on the message) for ever: past the deadline, the connection is shut.
        expired = threading.Event()

        def cut_off() -> None:
            expired.set()
            if client.sock is not None:
                with contextlib.suppress(OSError):
                    client.sock.shutdown(socket.SHUT_RDWR)

        watchdog = threading.Timer(deadline, cut_off)
        watchdog.daemon = True
        watchdog.start()
        try:
            with client:
                client.ehlo_or_helo_if_needed()
                if config.starttls:
                    client.starttls(context=context)
                    client.ehlo()
                if config.username:
                    client.login(config.username, config.password or "")
                refused = client.send_message(message)
        except (smtplib.SMTPException, OSError):
            if expired.is_set():
                raise MailServerError(
                    f"the mail server at {config.display} did not finish within {round(deadline, 1):g} s"
                ) from None
            raise
        finally:
            watchdog.cancel()
        if refused:  # some of several recipients refused; we always send to one
            code = next(iter(refused.values()))[0]
            if 500 <= code < 600:
                raise RecipientRefused(code)
            raise MailServerError(f"the mail server refused the recipient for now (SMTP {code})")
