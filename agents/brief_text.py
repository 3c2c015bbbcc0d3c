"""The per-cycle part of a request: the brief as compact JSON inside <brief> tags, as data.

Compact on purpose: the brief is the only part of the request that changes from cycle to
cycle, so every byte here is a byte outside the prompt cache.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

from core.types import Brief

FEATURES = (
    "close", "return_1", "return_24", "rsi_14", "ema_fast", "ema_slow", "atr_14", "adx_14",
    "macd_hist", "bb_position", "volatility", "volume_z",
)  # fmt: skip


def _num(x: float) -> float | None:
    """Six significant digits: enough for any decision, and short."""
    if not math.isfinite(x):
        return None
    return float(f"{x:.6g}")


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%MZ")


def brief_payload(brief: Brief) -> dict[str, Any]:
    f = brief.features
    return {
        "symbol": brief.symbol,
        "timeframe": brief.timeframe,
        "time": _iso(brief.now_ms),
        "price": _num(brief.price),
        "synthetic": brief.synthetic,
        "regime": f.regime.value,
        "features": {name: _num(getattr(f, name)) for name in FEATURES},
        "position": {
            "quantity": _num(brief.position_quantity),
            "avg_price": _num(brief.position_avg_price),
            "stop": _num(brief.position_stop) if brief.position_stop is not None else None,
        },
        "cash": _num(brief.cash),
        "equity": _num(brief.equity),
        "risk": {
            "trading_state": brief.trading_state.value,
            "breakers": list(brief.breaker_reasons),
            "size_multiplier": _num(brief.size_multiplier),
            "max_buy_fraction": _num(brief.max_buy_fraction),
            "min_confidence": _num(brief.min_confidence),
        },
        "similar_situations": [
            {
                "time": _iso(r.ts),
                "similarity": _num(r.similarity),
                "forward_return_24": _num(r.forward_return),
                "max_adverse": _num(r.max_adverse),
            }
            for r in brief.recalled
        ],
        **(
            {
                "lessons": [
                    {
                        "written": _iso(lesson.written_at),
                        "similarity": _num(lesson.similarity),
                        "trade_return": _num(lesson.pnl_fraction),
                        "text": lesson.text,
                    }
                    for lesson in brief.lessons
                ]
            }
            if brief.lessons
            else {}
        ),
    }


def render_brief(brief: Brief) -> str:
    body = json.dumps(brief_payload(brief), separators=(",", ":"), ensure_ascii=False)
    return f"<brief>\n{body}\n</brief>\nDecide, then call submit_proposal."
