"""Where each breaker's record lives in the LockStore: `risk/<account>/<part>`."""

from __future__ import annotations

from typing import Final

PREFIX: Final = "risk/"
GLOBAL: Final = "global"
GLOBAL_KILL_KEY: Final = "risk/global/kill_switch"


def account_key(account: str, part: str) -> str:
    return f"{PREFIX}{account}/{part}"


def check_account(account: str) -> str:
    """An account name usable in keys: not empty, no '/', and not the reserved 'global'."""
    if not isinstance(account, str) or not account.strip():
        raise ValueError("account must be a non-empty string")
    if "/" in account:
        raise ValueError(f"account {account!r} must not contain '/'")
    if account == GLOBAL:
        raise ValueError("account 'global' is reserved for the global kill switch")
    return account


def require_reason(reason: str) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError("a halt or resume needs a reason, for the audit trail")
    return reason
