"""The decision cycle's research tools: what the Claude analyst may consult before proposing.

Each reads the history as of now (closed candles only) or the situation memory's point-in-time
recall. Their names, descriptions and input schemas are what recorded LLM conversations were
sent, byte for byte (tests/tools/snapshots/claude_analyst_tools.json pins them): change
one and every recorded cassette stops replaying.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tools.backtest import BacktestResult, Hypothesis, quick_backtest
from tools.registry import Tool, ToolContext
from tools.timeframes import TimeframeQuery, TimeframeView, higher_timeframe_view


# No docstring: it would become the schema's description and change the recorded requests.
class SimilarQuery(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    k: int = Field(default=10, ge=1, le=30, description="how many similar situations")


class SimilarSituation(BaseModel):
    """One recalled situation and what followed it over the next 24 candles."""

    model_config = ConfigDict(frozen=True)

    ts: int
    similarity: float
    forward_return_24: float
    max_adverse: float


class SimilarSituations(BaseModel):
    """The recalled situations and their summary; the summary is None when none was found."""

    model_config = ConfigDict(frozen=True)

    count: int
    mean_forward_return_24: float | None
    share_positive: float | None
    situations: list[SimilarSituation]


def _higher_timeframe(query: TimeframeQuery, context: ToolContext) -> TimeframeView:
    research, _ = context.need_research("higher_timeframe")
    return higher_timeframe_view(research.history, query.timeframe)


def _backtest(query: Hypothesis, context: ToolContext) -> BacktestResult:
    research, _ = context.need_research("backtest")
    return quick_backtest(research.history, query)


def _similar(query: SimilarQuery, context: ToolContext) -> SimilarSituations:
    research, brief = context.need_research("similar_situations")
    found = research.recall(brief.features.vector(), query.k)
    returns = [s.forward_return for s in found]
    return SimilarSituations(
        count=len(found),
        mean_forward_return_24=round(sum(returns) / len(returns), 6) if returns else None,
        share_positive=round(sum(r > 0 for r in returns) / len(returns), 3) if returns else None,
        situations=[
            SimilarSituation(
                ts=s.ts,
                similarity=round(s.similarity, 4),
                forward_return_24=round(s.forward_return, 6),
                max_adverse=round(s.max_adverse, 6),
            )
            for s in found
        ],
    )


HIGHER_TIMEFRAME = Tool(
    name="higher_timeframe",
    description=(
        "Features (regime, RSI, EMAs, ADX, MACD, ATR, volatility) of this market resampled "
        "to a higher timeframe, from completed higher-timeframe candles only. Use it to "
        "check whether the larger trend agrees with the brief."
    ),
    input_model=TimeframeQuery,
    output_model=TimeframeView,
    run=_higher_timeframe,
    scope="research",
)

BACKTEST = Tool(
    name="backtest",
    description=(
        "Quick long-only backtest of a simple rule (ema_cross, rsi_reversion or breakout) "
        "over the recent closed candles, filled at the next candle's open as the paper "
        "broker fills (slippage and fees). "
        "Returns trades, win rate, total return against buy-and-hold, max drawdown, "
        "exposure and the rule's current signal. Evidence, not a guarantee."
    ),
    input_model=Hypothesis,
    output_model=BacktestResult,
    run=_backtest,
    scope="research",
)

SIMILAR_SITUATIONS = Tool(
    name="similar_situations",
    description=(
        "More past situations like this one (by feature similarity), each with what "
        "followed over the next 24 candles, and their summary. Only situations whose "
        "outcome was already known are returned."
    ),
    input_model=SimilarQuery,
    output_model=SimilarSituations,
    run=_similar,
    scope="research",
    keep_none=True,
)

RESEARCH_TOOLSET: tuple[Tool[Any, Any], ...] = (HIGHER_TIMEFRAME, BACKTEST, SIMILAR_SITUATIONS)
"""In the order the analyst is shown them."""
