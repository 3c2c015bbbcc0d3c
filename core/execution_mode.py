"""The execution mode guard: which broker may trade, decided before anything touches a network.

Paper is the default and needs nothing. A sandbox needs exchange keys. Live trading needs two
separate confirmations, the settings' `execution.mode = "live"` and the command's
`--i-understand-live-trading`, so neither a stray config file nor a stray flag alone can move
real money. This is pure: it reads settings and answers, and the caller creates an exchange
object only after it said yes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import SecretStr

from core.errors import UserError
from core.settings import ExecutionSettings

BrokerKind = Literal["paper", "sandbox", "live"]
LIVE_CONFIRMATION_FLAG = "--i-understand-live-trading"
KEY_VARIABLES = "TRADEGRAPH_EXECUTION__API_KEY and TRADEGRAPH_EXECUTION__API_SECRET"


@dataclass(frozen=True)
class ExchangeAccess:
    """What the guard allowed: an exchange, whether in its sandbox, and the keys (SecretStr,
    so printing this shows no secret)."""

    exchange: str
    sandbox: bool
    api_key: SecretStr
    secret: SecretStr


def allowed_exchange_access(
    broker: str, settings: ExecutionSettings, *, live_confirmed: bool
) -> ExchangeAccess | None:
    """None for paper; the exchange access for sandbox or live when allowed; else one
    UserError line saying what is missing."""
    if broker == "paper":
        return None
    if broker not in ("sandbox", "live"):
        raise UserError(f"unknown broker {broker!r}: choose paper, sandbox or live")
    if broker == "live":
        missing = [
            what
            for what, given in (
                ('execution.mode = "live" in the settings', settings.mode == "live"),
                (f"{LIVE_CONFIRMATION_FLAG} on the command", live_confirmed),
            )
            if not given
        ]
        if missing:
            raise UserError(
                "live trading refused: it needs " + " and ".join(missing) + " (paper is default)"
            )
    key, secret = settings.api_key, settings.api_secret
    if key is None or secret is None or not key.get_secret_value() or not secret.get_secret_value():
        raise UserError(f"{broker} trading needs exchange keys: set {KEY_VARIABLES}")
    return ExchangeAccess(
        exchange=settings.exchange, sandbox=broker == "sandbox", api_key=key, secret=secret
    )
