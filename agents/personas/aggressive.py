"""Aggressive: momentum entries before the trend is confirmed, a wide stop, leave on a break.

It does not wait for ADX to call a trend: the fast EMA above the slow one, a positive MACD
histogram, a strong RSI and a positive day are enough. The stop is three ATRs away so noise
does not shake it out, it risks the full 1%, and it exits only when the trend breaks: the fast
EMA under the slow one with the close below it.
"""

from __future__ import annotations

from agents.personas.base import ExitSignal, RulePersona, Setup, clamp, pct, price
from core.types import Brief, Features, Regime

RSI_BAND = (55.0, 80.0)


class Aggressive(RulePersona):
    name = "aggressive"
    stop_atr = 3.0
    target_atr = 6.0
    risk_per_trade = 0.01

    def setup(self, f: Features) -> Setup | None:
        if not (
            f.regime is not Regime.HIGH_VOLATILITY
            and f.ema_fast > f.ema_slow
            and f.close > f.ema_fast
            and f.macd_hist > 0
            and RSI_BAND[0] <= f.rsi_14 <= RSI_BAND[1]
            and f.return_24 > 0
        ):
            return None
        push = f.macd_hist / f.atr_14 if f.atr_14 > 0 else 0.0
        return Setup(
            confidence=0.6 + 0.2 * clamp(push / 0.5) + 0.1 * (f.volume_z > 0.5),
            reasons=(
                f"momentum (RSI {f.rsi_14:.0f}, MACD histogram {push:+.2f} ATR, "
                f"24-candle return {pct(f.return_24)}, volume z {f.volume_z:+.1f}), "
                f"close above EMA12 above EMA48, ADX {f.adx_14:.1f} not required"
            ),
        )

    def why_flat(self, f: Features) -> str:
        if f.regime is Regime.HIGH_VOLATILITY:
            return f"volatility {f.volatility:.0%} annualized is a spike"
        if f.ema_fast <= f.ema_slow:
            return f"no momentum: EMA12 {price(f.ema_fast)} not above EMA48 {price(f.ema_slow)}"
        return (
            f"momentum not there: RSI {f.rsi_14:.0f} (wants {RSI_BAND[0]:g}-{RSI_BAND[1]:g}), "
            f"MACD histogram {f.macd_hist:+.3g}, 24-candle return {pct(f.return_24)}"
        )

    def exit_signal(self, brief: Brief) -> ExitSignal | None:
        f = brief.features
        if f.ema_fast < f.ema_slow and f.close < f.ema_slow:
            return ExitSignal(
                0.75,
                f"trend broke: EMA12 {price(f.ema_fast)} below EMA48 {price(f.ema_slow)} "
                f"and close {price(f.close)} under it",
            )
        return None

    def why_stay(self, brief: Brief) -> str:
        f = brief.features
        return (
            f"no trend break (EMA12 {price(f.ema_fast)}, EMA48 {price(f.ema_slow)}), "
            f"RSI {f.rsi_14:.0f}"
        )
