"""How the CLI shows things: times in the programme's time zone with their offset, and plain tables.

Every time is shown in ``ENTRYPOINT_TIMEZONE`` (default ``Europe/Helsinki``), with its UTC offset so nobody has
to guess: ``2026-12-02 08:00+02:00``. ``--utc`` shows UTC instead (``2026-12-02 06:00+00:00``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from workers.errors import CommandError
from workers.settings import settings

_utc = False


def use_utc(flag: bool) -> None:
    global _utc
    _utc = flag


def zone() -> tzinfo:
    """The time zone times are shown in: ENTRYPOINT_TIMEZONE, or UTC with --utc."""
    if _utc:
        return UTC
    name = settings().timezone
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CommandError(
            f"ENTRYPOINT_TIMEZONE {name!r} is not a time zone name; use one like Europe/Helsinki (or --utc)"
        ) from None


def local(value: datetime) -> datetime:
    """``value`` in the display zone (a naive value is taken as UTC, as the records store it)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(zone())


def when(value: datetime | str | None, empty: str = "-", seconds: bool = False) -> str:
    """A moment, in the display zone with its offset: ``2026-12-02 08:00+02:00``."""
    if value is None:
        return empty
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    shown = local(value)
    offset = shown.strftime("%z")
    offset = f"{offset[:3]}:{offset[3:]}" if offset else ""
    return shown.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M") + offset


def day(value: datetime | str | None, empty: str = "-") -> str:
    """The date of a moment in the display zone (a meeting at 00:30 Helsinki time is on that Helsinki day)."""
    if value is None:
        return empty
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return local(value).strftime("%Y-%m-%d")


def plural(count: int, noun: str, plural_form: str | None = None) -> str:
    """``1 gathering``, ``2 gatherings``."""
    return f"{count} {noun if count == 1 else plural_form or noun + 's'}"


def table(rows: list[list[str]], header: list[str]) -> str:
    """Left-aligned columns under a header and a rule; no trailing spaces."""
    cells = [[str(value) for value in row] for row in [header, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


_UTC_TEXT = re.compile(r"(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2})(:\d{2})? UTC")


def localize(text: str) -> str:
    """A workflow's words (its details say ``2026-12-02 06:00 UTC``) with every such time in the display zone."""

    def convert(match: re.Match[str]) -> str:
        moment = datetime.fromisoformat(f"{match[1]}T{match[2]}{match[3] or ''}+00:00")
        return when(moment, seconds=bool(match[3]))

    return _UTC_TEXT.sub(convert, text)
