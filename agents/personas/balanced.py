"""Balanced: ride confirmed uptrends that still have momentum, leave when the trend breaks.

This is the rule the offline analyst always had: an uptrend regime with the fast EMA above the
slow one, a positive MACD histogram and an RSI that is rising but not overbought. The stop sits
two ATRs below, the target four above, and the stop costs 1% of equity.
"""

from __future__ import annotations

from agents.personas.base import ExitSignal, RulePersona, Setup, clamp, pct, price
from core.types import Brief, Features, Regime


class Balanced(RulePersona):
    name = "balanced"
    stop_atr = 2.0
    target_atr = 4.0
    risk_per_trade = 0.01

    def setup(self, f: Features) -> Setup | None:
        uptrend = f.regime is Regime.TREND_UP and f.ema_fast > f.ema_slow
        momentum = f.macd_hist > 0 and 50.0 < f.rsi_14 < 75.0
        if not (uptrend and momentum):
            return None
        strength = clamp((f.adx_14 - 20.0) / 30.0)
        gap = (f.ema_fast - f.ema_slow) / f.ema_slow
        return Setup(
            confidence=0.55 + 0.3 * strength + 0.05 * (f.volume_z > 0),
            reasons=(
                f"uptrend (ADX {f.adx_14:.1f}, EMA12 above EMA48 by {pct(gap)}), "
                f"MACD histogram positive, RSI {f.rsi_14:.0f} not overbought"
            ),
        )

    def why_flat(self, f: Features) -> str:
        if f.regime is Regime.HIGH_VOLATILITY:
            return f"volatility {f.volatility:.0%} annualized is a spike"
        if f.regime is Regime.TREND_DOWN:
            return f"downtrend (ADX {f.adx_14:.1f}, EMA12 below EMA48)"
        if f.regime is Regime.RANGE:
            return f"no trend (ADX {f.adx_14:.1f}), RSI {f.rsi_14:.0f}"
        return (
            f"uptrend without momentum confirmation (MACD histogram {f.macd_hist:+.3g}, "
            f"RSI {f.rsi_14:.0f})"
        )

    def exit_signal(self, brief: Brief) -> ExitSignal | None:
        f = brief.features
        if f.ema_fast < f.ema_slow and f.macd_hist < 0:
            return ExitSignal(
                0.75,
                f"trend broke, EMA12 {price(f.ema_fast)} fell below EMA48 {price(f.ema_slow)} "
                f"and the MACD histogram turned negative",
            )
        return None

    def why_stay(self, brief: Brief) -> str:
        f = brief.features
        return (
            f"trend intact (EMA12 above EMA48 or MACD still positive), RSI {f.rsi_14:.0f}, "
            f"ADX {f.adx_14:.1f}"
        )
