"""Conservative: only strong, confirmed, calm uptrends; a tight stop, half the risk, early exits.

It waits for what the balanced persona wants plus more proof: a strong ADX, price above the fast
EMA, an RSI in the middle of its range and the Bollinger band not stretched. It risks half as
much, and it does not wait for the trend to break: it takes the target, or leaves as soon as
momentum fades.
"""

from __future__ import annotations

from agents.personas.base import ExitSignal, RulePersona, Setup, clamp, gain_in_atr, pct, price
from core.types import Brief, Features, Regime

MIN_ADX = 28.0
RSI_BAND = (52.0, 68.0)
MAX_BB_POSITION = 0.9


class Conservative(RulePersona):
    name = "conservative"
    stop_atr = 1.5
    target_atr = 3.0
    risk_per_trade = 0.005

    def setup(self, f: Features) -> Setup | None:
        if not (
            f.regime is Regime.TREND_UP
            and f.adx_14 >= MIN_ADX
            and f.ema_fast > f.ema_slow
            and f.close > f.ema_fast
            and f.macd_hist > 0
            and RSI_BAND[0] <= f.rsi_14 <= RSI_BAND[1]
            and f.bb_position <= MAX_BB_POSITION
        ):
            return None
        gap = (f.ema_fast - f.ema_slow) / f.ema_slow
        return Setup(
            confidence=0.65 + 0.25 * clamp((f.adx_14 - MIN_ADX) / 22.0) + 0.05 * (f.volume_z > 0),
            reasons=(
                f"strong calm uptrend (ADX {f.adx_14:.1f}, EMA12 above EMA48 by {pct(gap)}, "
                f"volatility {f.volatility:.0%} with no spike), close above EMA12, "
                f"MACD histogram positive, RSI {f.rsi_14:.0f}, Bollinger position "
                f"{f.bb_position:.2f}"
            ),
        )

    def why_flat(self, f: Features) -> str:
        if f.regime is not Regime.TREND_UP:
            return f"{f.regime} regime (ADX {f.adx_14:.1f}): only strong uptrends qualify"
        if f.adx_14 < MIN_ADX:
            return f"uptrend not strong enough (ADX {f.adx_14:.1f} < {MIN_ADX:g})"
        return (
            f"uptrend not clean: RSI {f.rsi_14:.0f} (wants {RSI_BAND[0]:g}-{RSI_BAND[1]:g}), "
            f"Bollinger position {f.bb_position:.2f}, MACD histogram {f.macd_hist:+.3g}"
        )

    def exit_signal(self, brief: Brief) -> ExitSignal | None:
        f = brief.features
        gained = gain_in_atr(brief)
        if gained >= self.target_atr:
            return ExitSignal(0.8, f"target reached, up {gained:.1f} ATRs since entry")
        if f.regime in (Regime.TREND_DOWN, Regime.HIGH_VOLATILITY):
            return ExitSignal(0.8, f"the uptrend is gone: {f.regime} regime (ADX {f.adx_14:.1f})")
        if f.macd_hist < 0 and f.close < f.ema_fast:
            return ExitSignal(
                0.7,
                f"momentum fading: MACD histogram {f.macd_hist:+.3g} and close "
                f"{price(f.close)} below EMA12 {price(f.ema_fast)}",
            )
        return None

    def why_stay(self, brief: Brief) -> str:
        f = brief.features
        return (
            f"up {gain_in_atr(brief):.1f} of {self.target_atr:g} target ATRs, momentum holds "
            f"(MACD histogram {f.macd_hist:+.3g}, RSI {f.rsi_14:.0f})"
        )
