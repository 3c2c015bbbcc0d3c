"""The operator API's query parameters as the desk takes them: a time given as an ISO date
or milliseconds, an account name. A value that does not parse is 422 in one line."""

from __future__ import annotations

from datetime import UTC, datetime

from api.server.errors import ApiError
from core.accounts import REPLAY_PREFIX, check_account_name
from core.dates import parse_date
from core.errors import UserError
from graphs.chat.desk_base import ChatDesk

MAX_MS = 253_402_300_799_999
"""9999-12-31T23:59:59.999Z: a later millisecond count is a mistake."""


def invalid(message: str) -> ApiError:
    return ApiError(422, "invalid_request", message)


def moment(value: str | None, name: str, *, end_of_day: bool = False) -> datetime | None:
    """`value` as a naive UTC datetime: milliseconds since the epoch, YYYY-MM-DD (the whole
    day when it ends a window) or YYYY-MM-DDTHH:MM[:SS][Z]."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        ms = int(text)
        if ms > MAX_MS:
            raise invalid(f"{name}={text}: milliseconds since 1970 must be at most {MAX_MS}")
        return datetime.fromtimestamp(ms / 1000, UTC).replace(tzinfo=None)
    try:
        return parse_date(text.removesuffix("Z"), name, end_of_day=end_of_day)
    except UserError:
        raise invalid(
            f"{name}={text!r} is not a time: use YYYY-MM-DD, YYYY-MM-DDTHH:MM (UTC) or "
            "milliseconds since 1970"
        ) from None


def ms(value: str | None, name: str, *, end_of_day: bool = False) -> int | None:
    found = moment(value, name, end_of_day=end_of_day)
    return None if found is None else int(found.replace(tzinfo=UTC).timestamp() * 1000)


def window(start: str | None, end: str | None) -> tuple[int | None, int | None]:
    """`from` and `to` in ms; 422 when `to` comes before `from`."""
    low, high = ms(start, "from"), ms(end, "to", end_of_day=True)
    if low is not None and high is not None and high < low:
        raise invalid(f"to={end} comes before from={start}: swap them")
    return low, high


def account_of(desk: ChatDesk, account: str | None) -> str:
    """The account named, or the served one; 422 for a name no account can have."""
    if account is None or not account.strip():
        return desk.account_name
    name = account.strip()
    if name.startswith(REPLAY_PREFIX) and len(name) > len(REPLAY_PREFIX) and len(name) <= 140:
        return name
    try:
        return check_account_name(name)
    except UserError as error:
        raise invalid(str(error).replace("--account", "account")) from None
