"""`tradegraph backtest --out DIR`: report.json and a self-contained report.html.

The page reads like the evaluation report: the strategy beside buy-and-hold on the same candles
and costs, its tail risk, its trades, equity and drawdown as plotly charts carrying their
library inline, and, after a walk-forward, every fold's in-sample and out-of-sample figures
(the gap between the two is the overfitting). Parameters and names are escaped.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.types import MarketInfo
from evals.report_charts import CHART_CONFIG, thinned
from evals.report_html import PAGE_STYLE, ROWS, _table
from evals.report_text import escape, number, pct, signed_pct
from tools.strategy_backtest import StrategyBacktest
from tools.walk_forward import WalkForwardResult

TAIL_ROWS = (
    ("var_95", "VaR 95% (one candle)"),
    ("es_95", "Expected shortfall 95%"),
    ("var_99", "VaR 99%"),
    ("es_99", "Expected shortfall 99%"),
    ("var_95_1d", "VaR 95% (one day)"),
    ("es_99_1d", "Expected shortfall 99% (one day)"),
)


def write_backtest_report(
    folder: Path,
    market: MarketInfo,
    backtest: StrategyBacktest,
    walk_forward: dict[str, Any] | None = None,
    walk_forward_html: str = "",
) -> tuple[Path, Path]:
    """report.json (the backtest, the market and any walk-forward) and report.html."""
    document = {
        "market": market.model_dump(mode="json"),
        "backtest": backtest.model_dump(mode="json"),
        "walk_forward": walk_forward,
    }
    json_path, html_path = folder / "report.json", folder / "report.html"
    json_path.write_text(json.dumps(document, indent=2, allow_nan=False) + "\n")
    html_path.write_text(render_backtest_html(market, backtest, walk_forward_html))
    return json_path, html_path


def metrics_rows(backtest: StrategyBacktest) -> list[list[str]]:
    strategy, held = backtest.metrics, backtest.buy_and_hold
    return [
        [label, show(getattr(strategy, key)), show(getattr(held, key))] for key, label, show in ROWS
    ]


def tail_rows(backtest: StrategyBacktest) -> list[list[str]]:
    return [[label, pct(getattr(backtest.tail_risk, key))] for key, label in TAIL_ROWS]


def _charts(backtest: StrategyBacktest) -> str:
    import plotly.graph_objects as go

    curves = backtest.curves()
    times = [datetime.fromtimestamp(int(t) / 1000, UTC) for t in curves.time_ms]
    equity = go.Figure()
    for name, values in (
        (backtest.strategy, curves.equity),
        ("buy and hold", curves.buy_and_hold_equity),
    ):
        x, y = thinned(times, [float(v) for v in values])
        equity.add_scatter(x=x, y=y, name=escape(name), mode="lines")
    equity.update_layout(height=380, margin={"t": 20, "b": 30}, yaxis_title="equity")
    drawdown = go.Figure()
    x, y = thinned(times, [-float(v) for v in curves.drawdown])
    drawdown.add_scatter(x=x, y=y, name="drawdown", fill="tozeroy", mode="lines")
    drawdown.update_layout(height=240, margin={"t": 20, "b": 30}, yaxis_tickformat=".0%")
    first: str = equity.to_html(full_html=False, include_plotlyjs=True, config=CHART_CONFIG)
    second: str = drawdown.to_html(full_html=False, include_plotlyjs=False, config=CHART_CONFIG)
    return f"<h2>Equity</h2>{first}<h2>Drawdown</h2>{second}"


def _params(params: dict[str, Any]) -> str:
    return ", ".join(f"{escape(str(k))}={escape(str(v))}" for k, v in params.items()) or "defaults"


def render_backtest_html(
    market: MarketInfo, backtest: StrategyBacktest, walk_forward_html: str = ""
) -> str:
    b = backtest
    synthetic = " <b class=warn>SYNTHETIC DATA</b>" if market.synthetic else ""
    title = f"{escape(market.symbol)} {escape(market.timeframe)}"
    trades = b.trades
    trade_rows: Sequence[Sequence[str]] = [
        ["Closed trades", f"{trades.count:,}"],
        ["Win rate", pct(trades.win_rate)],
        ["Average trade (net)", signed_pct(trades.average_return)],
        ["Average candles held", number(trades.average_bars_held)],
        ["Open at the end", "yes" if trades.open_at_end else "no"],
        ["Signal at the last close", b.last_signal],
    ]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>tradegraph backtest · {escape(b.strategy)} · {title}</title>
{PAGE_STYLE}</head><body>
<h1>{escape(b.strategy)} · {escape(market.symbol)} {escape(market.timeframe)}{synthetic}</h1>
<p class=meta>{escape(b.start)} → {escape(b.end)} · {b.candles:,} candles from
{escape(market.source)} · parameters {_params(b.params)} · fee {pct(b.costs.fee_rate)} per side,
slippage {b.costs.slippage_bps:g} bps · the first {b.warmup_candles:,} candles warm up (flat)</p>
<h2>Metrics</h2>
{_table(["metric", escape(b.strategy), "buy and hold"], metrics_rows(b))}
<p class=meta>Decided at each candle's close, filled at the next open with slippage and fees, as
the paper broker fills; buy-and-hold fills the same way on the same candles.</p>
<h2>Tail risk</h2>
{_table(["measure", "loss"], tail_rows(b))}
<p class=meta>Historical, from the strategy's candle-to-candle returns; one-day figures scale by
the square root of the candles in a day.</p>
<h2>Trades</h2>{_table(["", ""], trade_rows)}
{_charts(b)}
{walk_forward_html}
</body></html>
"""


def walk_forward_section(result: WalkForwardResult, held_return: float) -> str:
    """The folds, in-sample beside out-of-sample, and the stitched out-of-sample equity."""
    import plotly.graph_objects as go

    objective = escape(result.objective)
    rows = [
        [
            str(f.index + 1),
            f"{escape(_day(f.in_sample.first_ts))} → {escape(_day(f.in_sample.last_ts))}",
            f"{escape(_day(f.out_of_sample.first_ts))} → {escape(_day(f.out_of_sample.last_ts))}",
            _params(f.params),
            number(f.in_sample_score),
            number(f.out_of_sample_score),
            signed_pct(f.in_sample_return),
            signed_pct(f.out_of_sample_return),
            f"{f.out_of_sample_trades:,}",
        ]
        for f in result.folds
    ]
    head = [
        "fold", "in-sample", "out-of-sample", "chosen parameters", f"IS {objective}",
        f"OOS {objective}", "IS return", "OOS return", "OOS trades",
    ]  # fmt: skip
    figure = go.Figure()
    figure.add_scatter(y=list(result.equity), name="out-of-sample equity", mode="lines")
    figure.update_layout(height=320, margin={"t": 20, "b": 30}, xaxis_title="candle")
    chart: str = figure.to_html(full_html=False, include_plotlyjs=False, config=CHART_CONFIG)
    s = result.stitched
    return f"""<h2>Walk-forward</h2>
<p class=meta>{result.points} grid points, best by {objective} on each in-sample window of
{result.windows.in_sample:,} candles, then traded on the next {result.windows.out_of_sample:,}
candles it never saw.</p>
{_table(head, rows)}
<p>Out of sample, stitched: return <b>{signed_pct(s.total_return)}</b> (buy and hold
{signed_pct(held_return)} over the same candles), max drawdown {pct(s.max_drawdown)}, Sharpe
{number(s.sharpe)}. Mean {objective} in sample {number(result.mean_in_sample_score)}, out of
sample {number(result.mean_out_of_sample_score)}: the gap, {number(result.overfitting_gap)}, is
the overfitting. Folds positive out of sample: {pct(result.positive_share)}.</p>
{chart}"""


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")
