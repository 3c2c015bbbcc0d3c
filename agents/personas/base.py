"""What an offline persona is, and the arithmetic every persona shares (gates, stop, size, thesis).

A persona is one trading character over the same quant features: when it wants to be long (its
stance, which memory scores), how it enters, and how it leaves a position it opened. Personas
hold no state, so the same brief always gives the same proposal. Each one lives in its own
module and says only what makes it different: its setup, its exit signal and its risk.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar, Protocol

from core.errors import UserError
from core.types import Action, Brief, Features, Proposal, TradingState, timeframe_seconds

HEADROOM_USE = 0.95
"""Share of the brief's buy headroom a persona may ask for: the rest absorbs fees and rounding."""

ROUND_TRIP_COST = 0.003
"""What a round trip costs in taker fees and slippage, as a fraction of the price (assumed)."""

MAX_COST_SHARE = 0.5
"""Largest share of the stop distance the round trip may eat: in a market too calm for the stop
to sit at least 0.6% away, most of a trade's edge would go to the exchange."""

LOCK_GAIN_SHARE = 0.05
"""Open profit, as a share of equity, that a position is sold to keep once the account is in a
drawdown stage: a winner giving back its gains is what walks a trend follower into the
exits-only and halt stages, which latch while flat."""

MIN_CANDLE_SECONDS = 3600
"""Shortest candle the personas trade. A trend's drift over a trade grows with the candle's
length and the round trip does not: on the 1m and 5m recordings, the 24-candle return after
the personas' entries averaged about zero before costs, so every trade there paid fees for
nothing. Briefs without a timeframe are not gated."""


class Persona(Protocol):
    """The meta-selector's view of a persona."""

    name: str

    def wants_long(self, features: Features) -> bool:
        """The stance kept in memory: would this persona be long here (features only)."""
        ...

    def entry(self, brief: Brief) -> Proposal:
        """BUY (with stop, target, confidence and size) or HOLD, while flat."""
        ...

    def exit(self, brief: Brief) -> Proposal:
        """SELL or HOLD, for an open position this persona manages."""
        ...


@dataclass(frozen=True)
class Setup:
    """An entry setup that holds here: its confidence and the feature values that made it."""

    confidence: float
    reasons: str


@dataclass(frozen=True)
class ExitSignal:
    confidence: float
    reason: str


def pct(x: float) -> str:
    return f"{x * 100:+.2f}%"


def price(x: float) -> str:
    return f"{x:,.2f}" if x >= 100 else f"{x:,.6g}"


def clamp(x: float, low: float = 0.0, high: float = 1.0) -> float:
    return min(max(x, low), high)


def warming_up(brief: Brief) -> Proposal:
    return Proposal.hold(brief.symbol, "warming up: not enough closed candles yet")


class RulePersona(ABC):
    """A persona written as rules: subclasses give the setup, the exit signal and the risk;
    the gates, stop, size and thesis are computed here the same way for every persona."""

    name: str
    stop_atr: ClassVar[float]
    """Stop distance below the entry, in ATRs."""
    target_atr: ClassVar[float]
    """Take-profit distance above the entry, in ATRs."""
    risk_per_trade: ClassVar[float]
    """Share of equity lost if the stop is hit; it sets the size (capped by the headroom)."""

    @abstractmethod
    def setup(self, f: Features) -> Setup | None:
        """The entry setup when this persona's conditions hold on ready features, else None."""

    @abstractmethod
    def why_flat(self, f: Features) -> str:
        """Why there is no setup, in feature values."""

    @abstractmethod
    def exit_signal(self, brief: Brief) -> ExitSignal | None:
        """Why to leave the open position now (the stop aside), or None to stay."""

    @abstractmethod
    def why_stay(self, brief: Brief) -> str:
        """Why the open position is kept, in feature values."""

    def wants_long(self, features: Features) -> bool:
        return features.ready and self.setup(features) is not None

    def entry(self, brief: Brief) -> Proposal:
        f = brief.features
        if not f.ready:
            return warming_up(brief)
        if brief.trading_state is not TradingState.ACTIVE:
            why = "; ".join(brief.breaker_reasons) or "breakers"
            return self._hold(brief, f"no entries while trading is {brief.trading_state} ({why})")
        if _too_short(brief.timeframe):
            return self._hold(
                brief,
                f"stand aside: {brief.timeframe} candles are too short for these rules, a "
                f"trend's move over a few of them does not pay a ~{ROUND_TRIP_COST:.1%} round "
                f"trip (they trade {MIN_CANDLE_SECONDS // 3600}h candles or longer)",
            )
        setup = self.setup(f)
        if setup is None:
            return self._hold(brief, f"stand aside: {self.why_flat(f)}")
        stop = f.close - self.stop_atr * f.atr_14
        target = f.close + self.target_atr * f.atr_14
        if f.atr_14 <= 0 or stop <= 0:
            return self._hold(brief, "stand aside: ATR too small to place a stop")
        stop_distance = (f.close - stop) / f.close
        if stop_distance * MAX_COST_SHARE < ROUND_TRIP_COST:
            return self._hold(
                brief,
                f"stand aside: {setup.reasons}, but a {self.stop_atr:g}xATR stop is only "
                f"{stop_distance:.2%} away: a ~{ROUND_TRIP_COST:.1%} round trip would eat "
                f"{ROUND_TRIP_COST / stop_distance:.0%} of the risk",
            )
        size = min(self.risk_per_trade / stop_distance, brief.max_buy_fraction * HEADROOM_USE)
        if size <= 0:
            return self._hold(brief, f"stand aside: {setup.reasons}, but no headroom to buy")
        confidence = round(clamp(setup.confidence, 0.0, 0.95), 3)
        if confidence < brief.min_confidence:
            return self._hold(
                brief,
                f"weak setup: {setup.reasons}, but confidence {confidence:.2f} is below the "
                f"{brief.min_confidence:.2f} minimum",
            )
        return Proposal(
            action=Action.BUY,
            symbol=brief.symbol,
            size_fraction=round(size, 4),
            stop_loss=stop,
            take_profit=target,
            confidence=confidence,
            thesis=(
                f"{self.name}: enter long: {setup.reasons}; stop {self.stop_atr:g}xATR at "
                f"{price(stop)}, target {self.target_atr:g}xATR at {price(target)}, "
                f"risking {self.risk_per_trade:.2%} of equity at the stop"
            ),
        )

    def exit(self, brief: Brief) -> Proposal:
        f = brief.features
        if not f.ready:
            return warming_up(brief)
        stop = brief.position_stop
        if stop is not None and f.close <= stop:
            return self._sell(
                brief, 0.9, f"exit: close {price(f.close)} crossed the stop {price(stop)}"
            )
        open_gain = brief.position_quantity * (f.close - brief.position_avg_price)
        if brief.size_multiplier < 1.0 and open_gain >= LOCK_GAIN_SHARE * brief.equity > 0:
            return self._sell(
                brief,
                0.8,
                f"lock in the gain: the account is in a drawdown stage (sizes x"
                f"{brief.size_multiplier:.2f}) while this position still holds "
                f"{open_gain / brief.equity:.1%} of equity in open profit; a further give-back "
                f"would take the account into exits-only, then a halt",
            )
        signal = self.exit_signal(brief)
        if signal is not None:
            return self._sell(brief, signal.confidence, f"exit: {signal.reason}")
        return self._hold(brief, f"hold position: {self.why_stay(brief)}")

    def _sell(self, brief: Brief, confidence: float, reason: str) -> Proposal:
        return Proposal(
            action=Action.SELL,
            symbol=brief.symbol,
            size_fraction=1.0,
            confidence=confidence,
            thesis=f"{self.name}: {reason}",
        )

    def _hold(self, brief: Brief, reason: str) -> Proposal:
        return Proposal.hold(brief.symbol, f"{self.name}: {reason}")


@lru_cache(maxsize=32)
def _too_short(timeframe: str) -> bool:
    if not timeframe:
        return False
    try:
        return timeframe_seconds(timeframe) < MIN_CANDLE_SECONDS
    except UserError:
        return False


def gain_in_atr(brief: Brief) -> float:
    """The open position's gain since entry, in today's ATRs (0 when unknown)."""
    f = brief.features
    if brief.position_avg_price <= 0 or f.atr_14 <= 0:
        return 0.0
    return (f.close - brief.position_avg_price) / f.atr_14
