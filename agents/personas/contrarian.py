"""Contrarian: buy oversold dips inside a range, sell when price is back at the mean.

Ranges revert; trends do not. It buys only in a range regime (no trend either way, no
volatility spike) when RSI is oversold, the close sits near the lower Bollinger band and the
last candle closed up (a bounce, not a falling knife), and leaves when the close is back at the
middle band or RSI has recovered, or at the stop. It risks 0.75% of equity per trade.
"""

from __future__ import annotations

from agents.personas.base import ExitSignal, RulePersona, Setup, clamp, pct
from core.types import Brief, Features, Regime

MAX_RSI = 35.0
MAX_BB_POSITION = 0.2
MEAN_BB_POSITION = 0.5
RECOVERED_RSI = 55.0


class Contrarian(RulePersona):
    name = "contrarian"
    stop_atr = 2.0
    target_atr = 3.0
    risk_per_trade = 0.0075

    def setup(self, f: Features) -> Setup | None:
        if not (
            f.regime is Regime.RANGE
            and f.rsi_14 <= MAX_RSI
            and f.bb_position <= MAX_BB_POSITION
            and f.return_1 > 0
        ):
            return None
        depth = clamp((MAX_RSI - f.rsi_14) / 12.0)
        return Setup(
            confidence=0.62 + 0.25 * depth,
            reasons=(
                f"oversold in a range (ADX {f.adx_14:.1f}, no downtrend): RSI {f.rsi_14:.0f}, "
                f"Bollinger position {f.bb_position:.2f}, bouncing (last candle "
                f"{pct(f.return_1)})"
            ),
        )

    def why_flat(self, f: Features) -> str:
        if f.regime is not Regime.RANGE:
            return f"{f.regime} regime (ADX {f.adx_14:.1f}): mean reversion needs a range"
        if f.rsi_14 > MAX_RSI or f.bb_position > MAX_BB_POSITION:
            return (
                f"not oversold: RSI {f.rsi_14:.0f} (wants <= {MAX_RSI:g}), Bollinger position "
                f"{f.bb_position:.2f} (wants <= {MAX_BB_POSITION:g})"
            )
        return f"oversold (RSI {f.rsi_14:.0f}) but still falling (last candle {pct(f.return_1)})"

    def exit_signal(self, brief: Brief) -> ExitSignal | None:
        f = brief.features
        if f.bb_position >= MEAN_BB_POSITION:
            return ExitSignal(0.8, f"back at the mean: Bollinger position {f.bb_position:.2f}")
        if f.rsi_14 >= RECOVERED_RSI:
            return ExitSignal(0.8, f"RSI recovered to {f.rsi_14:.0f}")
        return None

    def why_stay(self, brief: Brief) -> str:
        f = brief.features
        return f"waiting for the mean: Bollinger position {f.bb_position:.2f}, RSI {f.rsi_14:.0f}"
