"""The offline analyst: a deterministic trend-following rule with a thesis a trader can read.

It needs no key and no network, so every fresh machine can run the whole cycle. It enters
confirmed uptrends with a stop two ATRs below the price, sized so that the stop costs about 1%
of equity, and leaves when the trend breaks or the stop is crossed.
"""

from __future__ import annotations

from agents.base import AnalystResult, ResearchContext
from core.types import Action, Brief, Features, Proposal, Regime

STOP_ATR = 2.0
TARGET_ATR = 4.0
RISK_PER_TRADE = 0.01
MEMORY_MIN_SAMPLES = 3


def _pct(x: float) -> str:
    return f"{x * 100:+.2f}%"


def _memory_view(brief: Brief) -> tuple[float, str]:
    """Confidence nudge and a sentence from the outcomes of similar past situations."""
    if len(brief.recalled) < MEMORY_MIN_SAMPLES:
        return 0.0, ""
    weights = [max(r.similarity, 0.0) + 1e-9 for r in brief.recalled]
    mean = sum(w * r.forward_return for w, r in zip(weights, brief.recalled, strict=True)) / sum(
        weights
    )
    nudge = 0.05 if mean > 0 else -0.15
    return nudge, f"; {len(brief.recalled)} similar past situations averaged {_pct(mean)} after"


class OfflineAnalyst:
    """Trend/momentum rule; `name` is what traces and summaries call it."""

    name = "offline"
    model = None
    prompt_version = "offline-trend@1"

    def propose(self, brief: Brief, research: ResearchContext | None = None) -> AnalystResult:
        proposal = self._decide(brief)
        return AnalystResult(proposal=proposal, prompt_version=self.prompt_version)

    def _decide(self, brief: Brief) -> Proposal:
        f = brief.features
        if not f.ready:
            return Proposal.hold(brief.symbol, "warming up: not enough closed candles yet")
        if brief.position_quantity > 0:
            return self._manage_position(brief, f)
        return self._consider_entry(brief, f)

    def _manage_position(self, brief: Brief, f: Features) -> Proposal:
        stop = brief.position_stop
        if stop is not None and f.close <= stop:
            return Proposal(
                action=Action.SELL,
                symbol=brief.symbol,
                size_fraction=1.0,
                confidence=0.9,
                thesis=f"exit: close {f.close:,.2f} crossed the stop {stop:,.2f}",
            )
        if f.ema_fast < f.ema_slow and f.macd_hist < 0:
            return Proposal(
                action=Action.SELL,
                symbol=brief.symbol,
                size_fraction=1.0,
                confidence=0.75,
                thesis=(
                    f"exit: trend broke, EMA12 {f.ema_fast:,.2f} fell below EMA48 "
                    f"{f.ema_slow:,.2f} and the MACD histogram turned negative"
                ),
            )
        return Proposal.hold(
            brief.symbol,
            f"hold position: trend intact (EMA12 above EMA48 or MACD still positive), "
            f"RSI {f.rsi_14:.0f}",
        )

    def _consider_entry(self, brief: Brief, f: Features) -> Proposal:
        uptrend = f.regime is Regime.TREND_UP and f.ema_fast > f.ema_slow
        momentum = f.macd_hist > 0 and 50.0 < f.rsi_14 < 75.0
        if not (uptrend and momentum):
            return Proposal.hold(brief.symbol, self._why_flat(f))
        stop = f.close - STOP_ATR * f.atr_14
        if f.atr_14 <= 0 or stop <= 0:
            return Proposal.hold(brief.symbol, "stand aside: ATR too small to place a stop")
        stop_distance = (f.close - stop) / f.close
        size = min(RISK_PER_TRADE / stop_distance, brief.max_buy_fraction * 0.95)
        if size <= 0:
            return Proposal.hold(brief.symbol, "stand aside: no risk headroom left")
        strength = min(max((f.adx_14 - 20.0) / 30.0, 0.0), 1.0)
        nudge, memory_note = _memory_view(brief)
        confidence = min(0.95, max(0.0, 0.55 + 0.3 * strength + 0.05 * (f.volume_z > 0) + nudge))
        if confidence < brief.min_confidence:
            return Proposal.hold(
                brief.symbol,
                f"weak setup: uptrend but confidence {confidence:.2f} is below the "
                f"{brief.min_confidence:.2f} minimum (ADX {f.adx_14:.1f}){memory_note}",
            )
        target = f.close + TARGET_ATR * f.atr_14
        gap = (f.ema_fast - f.ema_slow) / f.ema_slow
        return Proposal(
            action=Action.BUY,
            symbol=brief.symbol,
            size_fraction=round(size, 4),
            stop_loss=stop,
            take_profit=target,
            confidence=round(confidence, 3),
            thesis=(
                f"enter long: uptrend (ADX {f.adx_14:.1f}, EMA12 above EMA48 by {_pct(gap)}), "
                f"MACD histogram positive, RSI {f.rsi_14:.0f} not overbought; "
                f"stop {STOP_ATR:g}xATR at {stop:,.2f}, "
                f"target {TARGET_ATR:g}xATR at {target:,.2f}{memory_note}"
            ),
        )

    @staticmethod
    def _why_flat(f: Features) -> str:
        if f.regime is Regime.HIGH_VOLATILITY:
            return f"stand aside: volatility {f.volatility:.0%} annualized is a spike"
        if f.regime is Regime.TREND_DOWN:
            return f"stand aside: downtrend (ADX {f.adx_14:.1f}, EMA12 below EMA48)"
        if f.regime is Regime.RANGE:
            return f"stand aside: no trend (ADX {f.adx_14:.1f}), RSI {f.rsi_14:.0f}"
        return f"stand aside: uptrend without momentum confirmation (RSI {f.rsi_14:.0f})"
