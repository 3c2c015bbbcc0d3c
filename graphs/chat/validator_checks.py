"""The validator's verdict on a chat proposal, as the lines a person approving reads.

`risk.validate` returns an approval or the refusals that apply; this module spreads that over
the validator's checks (the groups of README's pre-trade table), one `ValidatorCheck` each:
passed with the figures it was held to, or failed with its refusals. It decides nothing: a
check is failed exactly when the validator refused with one of its codes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from core.types import (
    Approved,
    BreakerSnapshot,
    Denied,
    MarketSnapshot,
    Portfolio,
    RiskLimits,
    Side,
    Verdict,
)
from core.types import RefusalCode as Code
from graphs.chat.contract import ValidatorCheck
from graphs.chat.desk_base import MAX_LINE, clip


@dataclass(frozen=True)
class Asked:
    """The order as the proposal asked for it, and the book it was checked against."""

    side: Side
    quantity: float
    price: float
    """The limit price of a limit order, else the reference price."""
    stop: float | None
    confidence: float
    limits: RiskLimits
    breakers: BreakerSnapshot
    market: MarketSnapshot
    portfolio: Portfolio
    marks: dict[str, float]


Detail = Callable[[Asked, float], str]
"""What a passed check says, given the order and the quantity the validator would send."""


def _state(a: Asked, q: float) -> str:
    reasons = "; ".join(a.breakers.reasons)
    return a.breakers.state.value + (f" ({reasons})" if reasons else "")


def _data(a: Asked, q: float) -> str:
    issues = ", ".join(f"{i.kind}: {i.detail}" for i in a.market.issues)
    return f"issues {issues} (limit orders allowed)" if issues else "fresh, no data issue"


def _sizes(a: Asked, q: float) -> str:
    if a.side is Side.BUY and q < a.quantity * (1 - 1e-9):
        return f"resized down from {a.quantity:.8g} to {q:.8g} by the sizing caps"
    return f"{q:.8g} within risk per trade ({a.limits.risk_per_trade:.2%} of equity at the stop)"


def _collar(a: Asked, q: float) -> str:
    return f"prices within {a.limits.price_collar:.0%} of the reference {a.market.price:.8g}"


def _stop(a: Asked, q: float) -> str:
    if a.side is Side.SELL:
        return "an exit needs no stop"
    return f"stop at {a.stop:.8g}" if a.stop is not None else "not required by the settings"


def _confidence(a: Asked, q: float) -> str:
    if a.side is Side.SELL:
        return "an exit needs no minimum"
    return f"{a.confidence:.2f} >= minimum {a.limits.min_confidence:.2f}"


def _equity(a: Asked) -> float:
    return a.portfolio.equity({**a.marks, a.market.info.symbol: a.market.price})


def _notional(a: Asked, q: float) -> str:
    if a.side is Side.SELL:
        return "an exit is exempt"
    return f"{q * a.price:,.2f} <= limit {a.limits.max_order_notional:,.2f}"


def _position(a: Asked, q: float) -> str:
    if a.side is Side.SELL:
        return "an exit only lowers it"
    held = a.portfolio.quantity(a.market.info.symbol)
    value = (held + q) * a.market.price
    cap = a.limits.max_position_fraction
    return f"{value:,.2f} after the fill <= {cap:.0%} of equity {_equity(a):,.2f}"


def _exposure(a: Asked, q: float) -> str:
    if a.side is Side.SELL:
        return "an exit only lowers it"
    marks = {**a.marks, a.market.info.symbol: a.market.price}
    after = a.portfolio.exposure(marks) + q * a.market.price
    cap = a.limits.max_gross_exposure
    return f"{after:,.2f} after the fill <= {cap:.0%} of equity {_equity(a):,.2f}"


def _open_positions(a: Asked, q: float) -> str:
    held = sum(p.quantity > 0 for p in a.portfolio.positions.values())
    return f"{held} open, at most {a.limits.max_open_positions}"


def _long_only(a: Asked, q: float) -> str:
    return f"holding {a.portfolio.quantity(a.market.info.symbol):.8g}"


def _cash(a: Asked, q: float) -> str:
    if a.side is Side.SELL:
        return "an exit needs no cash"
    return f"cash {a.portfolio.cash:,.2f} covers {q * a.price:,.2f} and fees"


def _rate(a: Asked, q: float) -> str:
    limits = a.limits
    return f"at most {limits.max_orders_per_minute}/min and {limits.max_orders_per_day}/day"


def _passed(text: str) -> Detail:
    return lambda a, q: text


CHECKS: Final[tuple[tuple[str, tuple[Code, ...], Detail], ...]] = (
    ("trading state", (Code.HALTED, Code.REDUCING_ONLY), _state),
    ("market data", (Code.STALE_DATA,), _data),
    ("symbol", (Code.UNKNOWN_SYMBOL,), _passed("the market's own, and allowed")),
    ("quantity and prices", (Code.INVALID_QUANTITY, Code.INVALID_PRICE), _passed("valid")),
    (
        "sizing caps",
        (Code.RISK_PER_TRADE_EXCEEDED, Code.VOLATILITY_CAP, Code.KELLY_CAP, Code.DRAWDOWN_SIZE_CAP),
        _sizes,
    ),
    (
        "exchange amounts",
        (Code.BELOW_MIN_AMOUNT, Code.ABOVE_MAX_AMOUNT, Code.BELOW_MIN_NOTIONAL),
        _passed("within the exchange's rules"),
    ),
    ("price collar", (Code.PRICE_OUTSIDE_COLLAR,), _collar),
    ("stop-loss", (Code.STOP_LOSS_REQUIRED,), _stop),
    ("confidence", (Code.LOW_CONFIDENCE,), _confidence),
    ("order notional", (Code.MAX_NOTIONAL_EXCEEDED,), _notional),
    ("position share", (Code.MAX_POSITION_EXCEEDED,), _position),
    ("gross exposure", (Code.MAX_EXPOSURE_EXCEEDED,), _exposure),
    ("open positions", (Code.MAX_OPEN_POSITIONS,), _open_positions),
    ("correlation", (Code.CORRELATION_CAP,), _passed("within the correlated-exposure cap")),
    ("long-only", (Code.SHORT_NOT_ALLOWED,), _long_only),
    ("free cash", (Code.INSUFFICIENT_BALANCE,), _cash),
    ("order rate", (Code.RATE_LIMITED,), _rate),
    ("duplicate", (Code.DUPLICATE_ORDER,), _passed("no same order moments ago")),
    ("validator", (Code.INTERNAL_ERROR,), _passed("ran")),
)
"""Each check shown to a person: its name, the refusal codes that fail it, and what it says
when it passed."""


FACTS: Final = frozenset({"trading state", "market data"})
"""Checks whose passing line states a fact, true whatever else the validator refused; the
others show their figures only on an approval (a denied order may have skipped them)."""


def listed_checks(verdict: Verdict, asked: Asked) -> tuple[ValidatorCheck, ...]:
    """One line per check: failed with the validator's refusals, or passed with its figures."""
    refusals = verdict.refusals if isinstance(verdict, Denied) else ()
    quantity = verdict.order.quantity if isinstance(verdict, Approved) else asked.quantity
    lines = []
    for name, codes, detail in CHECKS:
        failed = [str(r) for r in refusals if r.code in codes]
        if failed:
            lines.append(ValidatorCheck(name=name, passed=False, detail=_cut("; ".join(failed))))
            continue
        if not isinstance(verdict, Approved) and name not in FACTS:
            lines.append(ValidatorCheck(name=name, passed=True, detail="no refusal"))
            continue
        try:
            said = detail(asked, quantity)
        except (ArithmeticError, TypeError, ValueError):  # a figure we cannot show: still passed
            said = "passed"
        lines.append(ValidatorCheck(name=name, passed=True, detail=_cut(said)))
    return tuple(lines)


def _cut(text: str) -> str:
    return clip(text, MAX_LINE * 2, one_line=True)
