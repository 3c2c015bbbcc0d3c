"""What a person reads of a tool's result, an approval and an execution, in a few lines.

The model reads a tool's result as JSON; a slash command answers with these lines instead.
Every text from a store (a thesis, a lesson, a headline) passes through `core.text.shown`
when a surface prints it; here it is only laid out.
"""

from __future__ import annotations

import json
from typing import Any

from graphs.chat.contract import PendingApproval
from graphs.chat.tool_answers import RENDERERS

MAX_LINES = 40
MAX_LINE = 300


def render_result(tool: str, result: dict[str, Any]) -> str:
    """A tool's result as lines: its own layout (a backtest's figures, a decision's why, ...),
    else key: value (also when a result is not the shape its layout expects)."""
    if "metrics" in result and "buy_and_hold_return" in result:
        return _backtest(result)
    layout = RENDERERS.get(tool)
    if layout is not None:
        try:
            return _bounded(layout(result))
        except (KeyError, TypeError, ValueError):
            pass
    lines = []
    for key, value in result.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            lines.append(f"{key}:")
            lines += [f"  {_compact(item)}" for item in value]
        else:
            lines.append(f"{key}: {_compact(value)}")
    return _bounded(lines)


def _backtest(result: dict[str, Any]) -> str:
    metrics, hold = result["metrics"], result["buy_and_hold"]
    trades, tail = result["trades"], result["tail_risk"]
    params = ", ".join(f"{k}={v}" for k, v in result.get("params", {}).items())
    return "\n".join(
        [
            f"{result['strategy']} ({params}) over {result['candles']:,} candles, "
            f"{result['start'][:16]} to {result['end'][:16]} UTC",
            f"return {_pct(metrics['total_return'])}  buy and hold "
            f"{_pct(result['buy_and_hold_return'])}  max drawdown "
            f"{_share(metrics['max_drawdown'])} (hold {_share(hold['max_drawdown'])})",
            f"sharpe {_num(metrics.get('sharpe'))}  sortino {_num(metrics.get('sortino'))}  "
            f"exposure {_share(metrics['exposure'])}  fees {metrics['fees_paid']:,.2f}",
            f"trades {trades['count']}  win rate {_share(trades['win_rate'])}  average "
            f"{_pct(trades['average_return'])}  held {trades['average_bars_held']:.1f} candles",
            f"VaR 99% {_share(tail['var_99'])}  ES 99% {_share(tail['es_99'])} per candle; "
            f"last signal {result['last_signal']}",
        ]
    )


def render_approval(pending: PendingApproval) -> str:
    """A proposal as the person deciding reads it: the order, each check, what to do."""
    price = ""
    if pending.limit_price is not None:
        price += f" limit {pending.limit_price:g}"
    if pending.stop_price is not None:
        price += f" stop {pending.stop_price:g}"
    head = (
        f"{pending.side} {pending.quantity:g} {pending.symbol} {pending.order_type}{price} "
        f"on account {pending.account}"
    )
    checks = [f"  {'ok ' if c.passed else 'NO '} {c.name}: {c.detail}" for c in pending.checks]
    if not pending.approved_by_validator:
        codes = ", ".join(pending.refusal_codes) or "refused"
        return "\n".join(
            [f"DENIED by the risk validator ({codes}): {head}", *checks, "  nothing is traded"]
        )
    return "\n".join(
        [
            f"APPROVAL NEEDED ({pending.approval_id}): {head}",
            *checks,
            "  approve or reject it; it expires in "
            f"{max(0, (pending.expires_at_ms - pending.created_at_ms) // 60_000)} min",
        ]
    )


def _compact(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def _bounded(lines: list[str]) -> str:
    cut = [line if len(line) <= MAX_LINE else line[: MAX_LINE - 1] + "…" for line in lines]
    if len(cut) > MAX_LINES:
        cut = [*cut[:MAX_LINES], f"… {len(cut) - MAX_LINES} more lines"]
    return "\n".join(cut)


def _pct(value: float | None) -> str:
    if value is None:
        return "-"
    shown = f"{value * 100:+.2f}%"
    return "0.00%" if shown in ("+0.00%", "-0.00%") else shown


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.2f}%"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
