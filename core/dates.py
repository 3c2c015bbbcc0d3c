"""Dates on the command line and in suite files: UTC, a day or a minute."""

from __future__ import annotations

from datetime import datetime, timedelta


def parse_date(value: str | None, flag: str, *, end_of_day: bool = False) -> datetime | None:
    """A UTC date or time; a bare date given as the end of a window means the whole day."""
    if value is None:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        pass
    else:
        return day + timedelta(days=1, milliseconds=-1) if end_of_day else day
    for fmt in ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            continue
    from core.errors import UserError

    raise UserError(f"{flag} {value!r} is not a date: use YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC)")
