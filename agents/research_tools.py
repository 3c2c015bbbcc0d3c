"""Read-only research the model may call during a cycle, and how each call is answered.

Every tool reads the history as of now (closed candles only) or the situation memory's
point-in-time recall; none can place an order, change a limit or reach the network. Results go
back as JSON in a tool_result: data for the model, never instructions. A bad call is answered
with the error, flagged `is_error`, so the model can correct itself within its round budget.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agents.base import ResearchContext
from core.types import Brief
from tools.backtest import Hypothesis, quick_backtest
from tools.timeframes import TimeframeQuery, higher_timeframe_view


class SimilarQuery(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    k: int = Field(default=10, ge=1, le=30, description="how many similar situations")


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema without pydantic's titles (bytes the model does not need)."""

    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k != "title"}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    schema: dict[str, Any] = strip(model.model_json_schema())
    return schema


RESEARCH_TOOLS: list[dict[str, Any]] = [
    {
        "name": "higher_timeframe",
        "description": (
            "Features (regime, RSI, EMAs, ADX, MACD, ATR, volatility) of this market resampled "
            "to a higher timeframe, from completed higher-timeframe candles only. Use it to "
            "check whether the larger trend agrees with the brief."
        ),
        "input_schema": _schema(TimeframeQuery),
    },
    {
        "name": "backtest",
        "description": (
            "Quick long-only backtest of a simple rule (ema_cross, rsi_reversion or breakout) "
            "over the recent closed candles, filled at the next candle's open as the paper "
            "broker fills (slippage and fees). "
            "Returns trades, win rate, total return against buy-and-hold, max drawdown, "
            "exposure and the rule's current signal. Evidence, not a guarantee."
        ),
        "input_schema": _schema(Hypothesis),
    },
    {
        "name": "similar_situations",
        "description": (
            "More past situations like this one (by feature similarity), each with what "
            "followed over the next 24 candles, and their summary. Only situations whose "
            "outcome was already known are returned."
        ),
        "input_schema": _schema(SimilarQuery),
    },
]


def _higher_timeframe(payload: object, brief: Brief, research: ResearchContext) -> object:
    query = TimeframeQuery.model_validate(payload)
    return higher_timeframe_view(research.history, query.timeframe)


def _backtest(payload: object, brief: Brief, research: ResearchContext) -> object:
    return quick_backtest(research.history, Hypothesis.model_validate(payload))


def _similar(payload: object, brief: Brief, research: ResearchContext) -> object:
    query = SimilarQuery.model_validate(payload or {})
    found = research.recall(brief.features.vector(), query.k)
    returns = [s.forward_return for s in found]
    return {
        "count": len(found),
        "mean_forward_return_24": round(sum(returns) / len(returns), 6) if returns else None,
        "share_positive": round(sum(r > 0 for r in returns) / len(returns), 3) if returns else None,
        "situations": [
            {
                "ts": s.ts,
                "similarity": round(s.similarity, 4),
                "forward_return_24": round(s.forward_return, 6),
                "max_adverse": round(s.max_adverse, 6),
            }
            for s in found
        ],
    }


_HANDLERS: dict[str, Callable[[object, Brief, ResearchContext], object]] = {
    "higher_timeframe": _higher_timeframe,
    "backtest": _backtest,
    "similar_situations": _similar,
}


def run_research_tool(
    call_id: str, name: str, payload: object, brief: Brief, research: ResearchContext
) -> dict[str, Any]:
    """The tool_result block answering one tool_use block."""
    handler = _HANDLERS.get(name)
    try:
        if handler is None:
            raise ValueError(f"no tool named {name!r}; call submit_proposal to finish")
        result = handler(payload, brief, research)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "input"
        return _error(call_id, f"invalid input at {where}: {first['msg']}")
    except ValueError as exc:
        return _error(call_id, str(exc))
    if isinstance(result, BaseModel):
        result = result.model_dump(mode="json", exclude_none=True)
    text = json.dumps(result, separators=(",", ":"), sort_keys=True)
    return {"type": "tool_result", "tool_use_id": call_id, "content": text}


def _error(call_id: str, message: str) -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": call_id, "content": message, "is_error": True}
