"""Reading the validator's inputs: numbers from the proposal, and the book (portfolio, marks,
open orders, correlations) as the checks need it.

Policy: a number that comes from the analyst or the market (size, prices, confidence) may be
anything, and the checks refuse what is wrong with their own codes. A non-finite or wrongly typed
number anywhere else (portfolio, limits, rules, context, breakers) is corruption: these helpers
raise, and `validate` turns the exception into Denied(INTERNAL_ERROR).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from operator import attrgetter
from typing import Final, NamedTuple

from core.types import (
    BreakerSnapshot,
    InstrumentRules,
    Order,
    Portfolio,
    Position,
    RiskContext,
    RiskLimits,
    Side,
)

MINUTE_MS = 60_000
DAY_MS = 86_400_000


def is_positive(value: float) -> bool:
    """Finite and above zero: NaN and the infinities are not positive here."""
    return 0.0 < value < math.inf


def number(value: object, name: str) -> float:
    """A real number (possibly NaN or infinite); bool, str, None and others raise TypeError."""
    if type(value) is float:
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} is a {type(value).__name__}, not a number")
    return float(value)


def optional_number(value: object, name: str) -> float | None:
    return None if value is None else number(value, name)


def finite(value: object, name: str) -> float:
    result = number(value, name)
    if not math.isfinite(result):
        raise ValueError(f"{name}={result} is not finite")
    return result


def text(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} is a {type(value).__name__}, not a str")
    return value


def _at_least(value: object, floor: float, name: str) -> float:
    result = finite(value, name)
    if not result >= floor:
        raise ValueError(f"{name}={result} is below {floor}")
    return result


def _between(value: object, low: float, high: float, name: str) -> float:
    result = finite(value, name)
    if not low <= result <= high:
        raise ValueError(f"{name}={result} is outside [{low}, {high}]")
    return result


def all_finite(values: Sequence[float]) -> bool:
    """Every value a finite number: the fast path of the corruption checks. False means "look
    closer" (the slow path then names the culprit, or passes)."""
    try:
        return math.isfinite(math.fsum(values))
    except (OverflowError, ValueError):
        return False


_NON_NEGATIVE: Final = ("max_order_notional", "duplicate_window_seconds")
_UNIT: Final = (
    "fee_reserve",
    "risk_per_trade",
    "max_position_fraction",
    "max_gross_exposure",
    "min_confidence",
    "price_collar",
    "correlation_threshold",
    "max_correlated_exposure",
)
_OPTIONAL: Final = ("volatility_target", "kelly_fraction")
_INTS: Final = ("max_open_positions", "max_orders_per_minute", "max_orders_per_day")
_LIMITS: Final = attrgetter(*_NON_NEGATIVE, *_UNIT, *_OPTIONAL, *_INTS)


def checked_limits(limits: RiskLimits) -> RiskLimits:
    """Limits come from configuration; one that is not finite or out of range is corruption."""
    if not isinstance(limits, RiskLimits):
        raise TypeError(f"limits is a {type(limits).__name__}, not RiskLimits")
    inf = math.inf
    (notional, window, fee, risk, position, gross, confidence, collar, threshold, correlated,
     target, kelly, open_positions, per_minute, per_day) = _LIMITS(limits)  # fmt: skip
    ok = (
        0.0 <= notional < inf
        and 0.0 <= window < inf
        and 0.0 <= fee <= 1.0
        and 0.0 <= risk <= 1.0
        and 0.0 <= position <= 1.0
        and 0.0 <= gross <= 1.0
        and 0.0 <= confidence <= 1.0
        and 0.0 <= collar <= 1.0
        and 0.0 <= threshold <= 1.0
        and 0.0 <= correlated <= 1.0
        and (target is None or 0.0 < target < inf)
        and (kelly is None or 0.0 < kelly < inf)
        and type(open_positions) is int
        and type(per_minute) is int
        and type(per_day) is int
        and type(limits.allowed_symbols) is tuple
        and type(limits.require_stop_loss) is bool
    )
    if not ok:
        _name_the_bad_limit(limits)
    return limits


def _name_the_bad_limit(limits: RiskLimits) -> None:
    """The slow path of `checked_limits`: raise naming the culprit."""
    for name in _NON_NEGATIVE:
        _at_least(getattr(limits, name), 0.0, f"limits.{name}")
    for name in _UNIT:
        _between(getattr(limits, name), 0.0, 1.0, f"limits.{name}")
    for name in _OPTIONAL:
        value = getattr(limits, name)
        if value is not None and not is_positive(number(value, f"limits.{name}")):
            raise ValueError(f"limits.{name}={value} is not finite and positive")
    for name in _INTS:
        if type(getattr(limits, name)) is not int:
            raise TypeError(f"limits.{name} is not an int")
    raise TypeError("limits.allowed_symbols must be a tuple, require_stop_loss a bool")


_RULES: Final = attrgetter("amount_step", "price_tick", "min_amount", "max_amount", "min_notional")


def checked_rules(rules: InstrumentRules | None) -> InstrumentRules | None:
    """Exchange rules: each one None or finite, steps and maximum above zero, minimums >= 0."""
    if rules is None:
        return None
    if not isinstance(rules, InstrumentRules):
        raise TypeError(f"context.rules is a {type(rules).__name__}, not InstrumentRules")
    inf = math.inf
    step, tick, min_amount, max_amount, min_notional = _RULES(rules)
    ok = (
        (step is None or 0.0 < step < inf)
        and (tick is None or 0.0 < tick < inf)
        and (max_amount is None or 0.0 < max_amount < inf)
        and (min_amount is None or 0.0 <= min_amount < inf)
        and (min_notional is None or 0.0 <= min_notional < inf)
    )
    if not ok:
        raise ValueError(
            f"exchange rules out of range: amount_step={step} price_tick={tick} "
            f"min_amount={min_amount} max_amount={max_amount} min_notional={min_notional}"
        )
    return rules


def size_multiplier(breakers: BreakerSnapshot) -> float:
    """The staged-drawdown multiplier, in [0, 1]: a breaker may shrink sizes, never grow them."""
    return _between(breakers.size_multiplier, 0.0, 1.0, "breakers.size_multiplier")


def volatility(context: RiskContext) -> float | None:
    value = context.volatility
    return None if value is None else _at_least(value, 0.0, "context.volatility")


class Book(NamedTuple):
    """The portfolio as the checks see it, marked to market, net of what open orders reserve.

    Equity and exposures count the traded symbol at the reference price, every other symbol at
    its mark in `RiskContext.marks`, or at its average price when it has no mark.
    """

    cash: float
    held: float
    equity: float
    other_exposure: float
    """Sum of |quantity| x mark over every symbol but the traded one."""
    other_open_positions: int
    """Symbols other than the traded one with a quantity above zero."""
    correlated: tuple[str, ...]
    """Held symbols whose correlation with the traded one is at least the threshold."""
    correlated_exposure: float
    """Sum of |quantity| x mark over `correlated`."""
    reserved_cash: float
    """Notional of open BUY orders (every symbol: they all spend the same cash)."""
    reserved_held: float
    """Quantity of open SELL orders of the traded symbol."""
    pending_buy: float = 0.0
    """Quantity of open BUY orders of the traded symbol: exposure that is already on its way."""

    @property
    def committed(self) -> float:
        """What the position will be if every open BUY of the symbol fills: the quantity the
        position, exposure and size checks of a new BUY must add to."""
        return self.held + self.pending_buy

    @property
    def free_cash(self) -> float:
        return self.cash - self.reserved_cash

    @property
    def free_held(self) -> float:
        return self.held - self.reserved_held


def read_book(
    portfolio: Portfolio,
    symbol: str,
    market_symbol: str,
    reference: float,
    context: RiskContext,
    threshold: float,
) -> Book:
    """The book, or an exception if the portfolio or the context is corrupt.

    Only what the computation uses is checked: a mark or a correlation of a symbol that is not
    held does not matter. Checks are range comparisons (`-inf < x < inf`), which refuse NaN and
    raise TypeError on a string or None: this runs on every call.
    """
    cash = finite(portfolio.cash, "portfolio.cash")
    positions, marks, correlations = portfolio.positions, context.marks, context.correlations
    for name, table in (("positions", positions), ("marks", marks), ("correlations", correlations)):
        if type(table) is not dict:
            raise TypeError(f"{name} is a {type(table).__name__}, not a dict")
    inf = math.inf
    held = equity = other_exposure = correlated_exposure = 0.0
    other_open = 0
    correlated: list[str] = []
    for name, position in positions.items():
        if not isinstance(position, Position):
            raise TypeError(f"portfolio.positions[{name!r}] is a {type(position).__name__}")
        quantity = position.quantity
        mark = reference if name == market_symbol else marks.get(name, position.avg_price)
        if not (-inf < quantity < inf and 0.0 < mark < inf):
            _name_the_bad_position(name, quantity, mark, reference)
        equity += quantity * mark
        if name == symbol:
            held = quantity
        elif quantity > 0:
            value = quantity * mark
            other_exposure += value
            other_open += 1
            correlation = correlations.get(name)
            if correlation is not None:
                if not -1.0 <= correlation <= 1.0:
                    raise ValueError(f"correlation of {name}={correlation} is not in [-1, 1]")
                if correlation >= threshold:
                    correlated.append(name)
                    correlated_exposure += value
        else:
            other_exposure -= quantity * mark  # |quantity| x mark
    reserved_cash, reserved_held, pending_buy, pending_other = _reserved(
        context.open_orders, symbol
    )
    for name, value in pending_other.items():
        other_exposure += value
        held_other = positions.get(name)
        if held_other is None or not held_other.quantity > 0:
            other_open += 1
    return Book(
        cash=cash,
        held=held,
        equity=cash + equity if 0.0 < reference < inf else math.nan,
        other_exposure=other_exposure,
        other_open_positions=other_open,
        correlated=tuple(correlated),
        correlated_exposure=correlated_exposure,
        reserved_cash=reserved_cash,
        reserved_held=reserved_held,
        pending_buy=pending_buy,
    )


def _name_the_bad_position(name: str, quantity: float, mark: float, reference: float) -> None:
    """Raise, naming what is wrong with a position (a bad reference price is not corruption:
    the checks refuse it as INVALID_PRICE)."""
    finite(quantity, f"position {name} quantity")
    if mark is not reference and not is_positive(number(mark, f"mark of {name}")):
        raise ValueError(f"mark (or avg_price) of {name}={mark} is not finite and positive")


def _reserved(
    open_orders: tuple[Order, ...], symbol: str
) -> tuple[float, float, float, dict[str, float]]:
    """Cash reserved by open BUYs (at their limit price, else their reference price), the
    quantity of `symbol` reserved by open SELLs, the quantity of `symbol` on its way in open
    BUYs, and the notional of open BUYs of every other symbol."""
    if type(open_orders) is not tuple:
        raise TypeError(f"context.open_orders is a {type(open_orders).__name__}, not a tuple")
    cash = held = buying = 0.0
    other: dict[str, float] = {}
    for order in open_orders:
        if not isinstance(order, Order):
            raise TypeError(f"an open order is a {type(order).__name__}, not an Order")
        quantity = order.quantity
        if not 0.0 <= quantity < math.inf:
            raise ValueError(f"open order {order.client_order_id} quantity={quantity}")
        if order.side is Side.BUY:
            price = order.reference_price if order.limit_price is None else order.limit_price
            if not 0.0 <= price < math.inf:
                raise ValueError(f"open order {order.client_order_id} price={price}")
            cash += quantity * price
            if order.symbol == symbol:
                buying += quantity
            else:
                other[order.symbol] = other.get(order.symbol, 0.0) + quantity * price
        elif order.side is Side.SELL:
            if order.symbol == symbol:
                held += quantity
        else:
            raise ValueError(f"open order {order.client_order_id} has side {order.side!r}")
    return cash, held, buying, other


def held_quantity(portfolio: Portfolio, symbol: str) -> float:
    """The quantity of `symbol` held (0 when none), looking at nothing else in the portfolio:
    the flatten path must not be blocked by a corrupt position in another symbol."""
    positions = portfolio.positions
    if type(positions) is not dict:
        raise TypeError(f"portfolio.positions is a {type(positions).__name__}, not a dict")
    position = positions.get(symbol)
    if position is None:
        return 0.0
    if not isinstance(position, Position):
        raise TypeError(f"portfolio.positions[{symbol!r}] is a {type(position).__name__}")
    return finite(position.quantity, f"position {symbol} quantity")


def reserved_sells(open_orders: tuple[Order, ...], symbol: str) -> float:
    """The quantity of `symbol` that open SELL orders already reserve (other orders ignored)."""
    reserved = 0.0
    for order in open_orders:
        if isinstance(order, Order) and order.side is Side.SELL and order.symbol == symbol:
            reserved += _at_least(order.quantity, 0.0, f"open order {order.client_order_id}")
    return reserved
