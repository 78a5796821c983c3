"""``ENTRYPOINT_SMTP_URL``: what it accepts, and clear errors (never echoing a password) for what it does not."""

from __future__ import annotations

import pytest

from activities.notifications.smtp import DEFAULT_FROM, SmtpMailer, SmtpUrlError, parse_smtp_url


def test_a_plain_url() -> None:
    config = parse_smtp_url("smtp://mail.example.org:2525")
    assert (config.host, config.port, config.sender, config.starttls) == ("mail.example.org", 2525, DEFAULT_FROM, False)
    assert config.username is None and config.password is None


def test_credentials_options_and_defaults() -> None:
    config = parse_smtp_url(
        "smtp://me%40example.org:p%3Ass@mail.example.org:587?from=entrypoint@example.org&starttls=1"
    )
    assert config.username == "me@example.org" and config.password == "p:ss"
    assert config.sender == "entrypoint@example.org" and config.starttls and config.port == 587
    assert "p:ss" not in repr(config) and "p:ss" not in repr(SmtpMailer(config))
    assert parse_smtp_url("smtp://localhost").port == 25
    tls = parse_smtp_url("smtps://localhost?timeout=5")
    assert (tls.port, tls.implicit_tls, tls.timeout) == (465, True, 5.0)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://mail.example.org", "scheme must be smtp or smtps"),
        ("mail.example.org:25", "scheme must be smtp or smtps"),
        ("smtp://:25", "no host"),
        ("smtp://mail.example.org:notaport", "bad SMTP URL"),
        ("smtp://mail.example.org:25/path", "unexpected path"),
        ("smtp://mail.example.org?sender=a@b.org", "unknown option(s) sender"),
        ("smtp://mail.example.org?from=nobody", "from= must be an e-mail address"),
        ("smtp://mail.example.org?starttls=maybe", "starttls='maybe' must be 1 or 0"),
        ("smtps://mail.example.org?starttls=1", "makes no sense with smtps"),
        ("smtp://mail.example.org?timeout=soon", "timeout= must be a number"),
        ("smtp://mail.example.org?timeout=120", "timeout= must be between 0 and 60 seconds"),
        ("smtp://:secret@mail.example.org", "a password needs a user name"),
    ],
)
def test_bad_urls_say_what_is_wrong(url: str, message: str) -> None:
    with pytest.raises(SmtpUrlError) as info:
        SmtpMailer.from_url(url)
    assert message in str(info.value)
    assert "secret" not in str(info.value)
