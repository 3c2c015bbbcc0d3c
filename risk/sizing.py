"""Sizing: the quantity an order gets, and the caps that resize a BUY down (never up).

A SELL gets `size_fraction` of the holding. A BUY asks for `size_fraction` of equity at the
reference price, then the caps apply, in this order:

1. requested: size_fraction x equity / reference price;
2. risk budgets, the smallest of
   - risk per trade: quantity x (entry - stop) <= risk_per_trade x equity, where entry is the
     worse of the reference and the limit price (the larger) and a missing stop counts as 0
     (without a stop, the whole notional is at risk);
   - volatility target (when `limits.volatility_target` and `context.volatility` > 0):
     (held + quantity) x reference <= equity x volatility_target / volatility;
   - fractional Kelly (when `limits.kelly_fraction`, a stop and a take-profit are set):
     quantity x execution price <= kelly_fraction x max(0, p - (1 - p) / b) x equity, with
     p = confidence and b = (take_profit - reference) / (reference - stop);
3. staged drawdown: what the budgets allow x `breakers.size_multiplier` (in [0, 1]). It scales
   the budgets rather than being one more cap in the minimum, so a drawdown stage always takes
   size off, even when a risk budget already binds;
4. correlation cap, a hard ceiling applied last, only when some held symbol's correlation with
   the traded one is at least `correlation_threshold`: the exposure to the traded symbol and
   those correlated ones after the order <= max_correlated_exposure x equity;
5. exchange rounding: down to `rules.amount_step`, then down to 8 decimals;
6. float guard: if rounding noise leaves any cap's inequality false, one step less.

The binding cap is the one that set the size (the earliest on a tie; None when the request was
within every cap). If the capped quantity is zero or below the exchange minimum, the order is
denied with the binding cap's code (`CAP_CODES`).
"""

from __future__ import annotations

import math
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Context, Decimal
from enum import StrEnum
from functools import lru_cache
from typing import Final, NamedTuple

from core.types import RefusalCode as Code
from core.types import RiskLimits

QUANTITY_DECIMALS: Final = 8
SMALLEST_QUANTITY: Final = 1e-8
_QUANTUM: Final = Decimal(1).scaleb(-QUANTITY_DECIMALS)
# Enough digits for any finite float (up to ~1.8e308) plus the decimals, so quantize never fails.
_DECIMAL: Final = Context(prec=400, rounding=ROUND_DOWN)
_ONE: Final = Decimal(1)


class Cap(StrEnum):
    RISK_PER_TRADE = "risk_per_trade"
    VOLATILITY = "volatility_target"
    KELLY = "kelly_fraction"
    DRAWDOWN = "size_multiplier"
    CORRELATION = "max_correlated_exposure"


CAP_CODES: Final = {
    Cap.RISK_PER_TRADE: Code.RISK_PER_TRADE_EXCEEDED,
    Cap.VOLATILITY: Code.VOLATILITY_CAP,
    Cap.KELLY: Code.KELLY_CAP,
    Cap.DRAWDOWN: Code.DRAWDOWN_SIZE_CAP,
    Cap.CORRELATION: Code.CORRELATION_CAP,
}
"""The refusal code of each cap, for an order the cap shrinks to nothing sendable."""


# --- exchange rounding ------------------------------------------------------------------------


def round_down(quantity: float, step: float | None = None) -> float:
    """Down to a multiple of `step` (when given), then down to 8 decimals; never up.

    Exact in decimal, from the shortest repr of each float, so 0.29 stays 0.29 and 0.3 with a
    0.1 step stays 0.3. A quantity that is not finite and positive comes back unchanged, for the
    checks to refuse. The float fast path is used only where it provably gives the same result
    as the decimal one (see `_fast_round_down`).
    """
    if not 0.0 < quantity < math.inf:
        return quantity
    fast = _fast_round_down(quantity, _QUANTUM_FLOAT if step is None else step)
    return fast if fast is not None else exact_round_down(quantity, step)


def exact_round_down(quantity: float, step: float | None) -> float:
    """`round_down` in decimal arithmetic, for any positive finite quantity and step."""
    value = Decimal(repr(quantity))
    if step is not None:
        unit = _grid(step)[0]
        value = _DECIMAL.multiply(_DECIMAL.divide_int(value, unit), unit)
    return float(value.quantize(_QUANTUM, rounding=ROUND_DOWN, context=_DECIMAL))


_QUANTUM_FLOAT: Final = 1e-8
_FAST_LIMIT: Final = 2.0**50


def _fast_round_down(quantity: float, step: float) -> float | None:
    """floor(quantity / step) x step in float, or None when that might differ from decimal.

    With S = step as a decimal of d <= 8 decimals (S = m x 10^-d) and n = floor(q / S):
    - the float ratio q / step is within ratio x 4.4e-16 of the exact one, so n is exact
      when the fractional part is farther than that (plus a margin) from 0 and from 1;
    - n x step is within 2.2e-16 relative of n x S; when n x m < 2^50 that error is below
      half of 10^-d, so round(n x step, d), correctly rounded by CPython, is float(n x S).
    Tested against `exact_round_down` in tests/risk/test_validator_sizing.py.
    """
    _, decimals, mantissa = _grid(step)
    if decimals is None:
        return None
    ratio = quantity / step
    if not ratio * mantissa < _FAST_LIMIT:
        return None
    whole = math.floor(ratio)
    margin = 1e-9 + ratio * 1e-15
    if margin < ratio - whole < 1.0 - margin:
        return round(whole * step, decimals)
    # Near a multiple k x S. If float(k x S) is the quantity itself, its repr is k x S (below the
    # bound, distinct multiples of 10^-d are distinct floats), so it is on the grid already.
    on_grid = round(round(ratio) * step, decimals)
    return quantity if on_grid == quantity else None


@lru_cache(maxsize=64)
def _grid(step: float) -> tuple[Decimal, int | None, int]:
    """A step or tick as the decimal it stands for ("0.0001", not its binary approximation),
    its number of decimals when at most 8 (else None), and its integer mantissa (0.05 -> 5)."""
    unit = Decimal(repr(step))
    sign, _, exponent = unit.normalize().as_tuple()
    if not isinstance(exponent, int) or sign:
        return unit, None, 0
    decimals = max(0, -exponent)
    mantissa = int(unit.scaleb(decimals))
    return unit, (decimals if decimals <= QUANTITY_DECIMALS else None), mantissa


def step_down(quantity: float, step: float | None) -> float:
    """One amount step (or one 8-decimal quantum) less, not below zero."""
    unit = _grid(step)[0] if step is not None else _QUANTUM
    return max(0.0, float(_DECIMAL.subtract(Decimal(repr(quantity)), unit)))


def round_to_tick(price: float, tick: float | None) -> float:
    """To the nearest multiple of `tick` (half to even); unchanged without a tick, or when the
    price is not finite and positive. Nearest, not "toward the safe side": the collar, the stop
    side and the risk cap all look at the rounded price, so rounding cannot slip past them."""
    if tick is None or not 0.0 < price < math.inf:
        return price
    if round(price / tick) * tick == price:
        return price  # already on the grid
    unit = _grid(tick)[0]
    ratio = _DECIMAL.divide(Decimal(repr(price)), unit)
    return float(_DECIMAL.multiply(ratio.quantize(_ONE, ROUND_HALF_EVEN), unit))


# --- the caps ---------------------------------------------------------------------------------


class BuyTerms(NamedTuple):
    """The right-hand sides of the cap inequalities, computed once per BUY (None: no such cap)."""

    reference: float
    execution: float
    held: float
    loss_per_unit: float
    risk_budget: float | None
    volatility_value: float | None
    kelly_notional: float | None
    correlated_exposure: float
    correlated_value: float | None
    multiplier: float

    def unfit(self, quantity: float) -> tuple[Cap, ...]:
        """The caps whose inequality (as in the module docstring) `quantity` breaks."""
        risk, volatility, kelly, correlated = (
            self.risk_budget,
            self.volatility_value,
            self.kelly_notional,
            self.correlated_value,
        )
        value = (self.held + quantity) * self.reference
        fits = (
            (risk is None or quantity * self.loss_per_unit <= risk),
            (volatility is None or value <= volatility),
            (kelly is None or quantity * self.execution <= kelly),
            (correlated is None or self.correlated_exposure + value <= correlated),
        )
        if all(fits):
            return ()
        return tuple(cap for cap, ok in zip(INEQUALITIES, fits, strict=True) if not ok)


def buy_terms(
    *,
    reference: float,
    execution: float,
    stop: float | None,
    take_profit: float | None,
    confidence: float,
    equity: float,
    held: float,
    correlated_exposure: float | None,
    volatility: float | None,
    multiplier: float,
    limits: RiskLimits,
) -> BuyTerms | None:
    """The caps' terms, or None when the prices, stop or equity are unusable (the order is
    refused for those anyway, and no cap can mean anything)."""
    usable = (
        0.0 < reference < math.inf
        and 0.0 < execution < math.inf
        and math.isfinite(equity)
        and (stop is None or 0.0 < stop < math.inf)
        and (take_profit is None or math.isfinite(take_profit))
    )
    if not usable:
        return None
    loss_per_unit = max(reference, execution) - (stop or 0.0)
    target, vol = limits.volatility_target, volatility
    kelly_notional = None
    if limits.kelly_fraction is not None and stop is not None and take_profit is not None:
        downside, upside = reference - stop, take_profit - reference
        if downside > 0 and upside > 0 and 0.0 <= confidence <= 1.0:
            edge = confidence - (1.0 - confidence) * downside / upside
            kelly_notional = limits.kelly_fraction * max(0.0, edge) * equity
    return BuyTerms(
        reference=reference,
        execution=execution,
        held=held,
        loss_per_unit=loss_per_unit,
        risk_budget=limits.risk_per_trade * equity if loss_per_unit > 0 else None,
        volatility_value=equity * target / vol if target is not None and vol else None,
        kelly_notional=kelly_notional,
        correlated_exposure=correlated_exposure or 0.0,
        correlated_value=(
            limits.max_correlated_exposure * equity if correlated_exposure is not None else None
        ),
        multiplier=multiplier,
    )


INEQUALITIES: Final = (Cap.RISK_PER_TRADE, Cap.VOLATILITY, Cap.KELLY, Cap.CORRELATION)
"""The caps that are inequalities, in `BuyTerms.unfit` order (the drawdown one is a factor)."""


class Sizing(NamedTuple):
    """The quantity asked for, the quantity the order gets, and which cap (if any) set it."""

    requested: float
    quantity: float
    binding: Cap | None = None
    terms: BuyTerms | None = None
    """What the BUY caps looked at (None for a SELL, or when no cap could apply)."""

    def unfit(self, quantity: float) -> tuple[Cap, ...]:
        return () if self.terms is None else self.terms.unfit(quantity)


def size_sell(requested: float, step: float | None) -> Sizing:
    return Sizing(requested=requested, quantity=round_down(requested, step))


def size_buy(requested: float, terms: BuyTerms | None, step: float | None) -> Sizing:
    """Apply the caps in the documented order; never returns more than `requested`."""
    if terms is None or not 0.0 < requested < math.inf:
        return Sizing(requested=requested, quantity=round_down(requested, step))
    quantity, binding = requested, None
    reference, held = terms.reference, terms.held
    if terms.risk_budget is not None:
        bound = terms.risk_budget / terms.loss_per_unit
        if bound < quantity:
            quantity, binding = max(0.0, bound), Cap.RISK_PER_TRADE
    if terms.volatility_value is not None:
        bound = terms.volatility_value / reference - held
        if bound < quantity:
            quantity, binding = max(0.0, bound), Cap.VOLATILITY
    if terms.kelly_notional is not None:
        bound = terms.kelly_notional / terms.execution
        if bound < quantity:
            quantity, binding = max(0.0, bound), Cap.KELLY
    if quantity * terms.multiplier < quantity:
        quantity, binding = quantity * terms.multiplier, Cap.DRAWDOWN
    if terms.correlated_value is not None:
        bound = (terms.correlated_value - terms.correlated_exposure) / reference - held
        if bound < quantity:
            quantity, binding = max(0.0, bound), Cap.CORRELATION
    quantity = round_down(quantity, step)
    for _ in range(3):
        unfit = terms.unfit(quantity)
        if not unfit:
            break
        binding = binding or unfit[0]
        quantity = round_down(step_down(quantity, step), step)
    else:
        quantity = 0.0
    return Sizing(requested=requested, quantity=quantity, binding=binding, terms=terms)
