"""`report.html`: one self-contained page a trader reads, plots embedded as PNG images.

Equity against the baselines, the agent's drawdown against buy-and-hold's, trades marked on
price, denials by refusal code, breaker trips, and the metrics table side by side.
"""

from __future__ import annotations

import base64
import html
import importlib
import io
from datetime import UTC, datetime
from typing import Any

from core.text import shown
from evals.report import EvalResult
from tools.metrics import PerformanceMetrics


def escape(text: str) -> str:
    """Text from a model or a file, in the page as data: no control characters, HTML-escaped
    (quotes too, so it is safe inside an attribute)."""
    return html.escape(shown(text))


COLOURS = {
    "agent": "#1f5fbf",
    "buy_and_hold": "#888888",
    "sma_crossover": "#d08a1c",
    "cash": "#3a9a5a",
}
LABELS = {
    "agent": "agent",
    "buy_and_hold": "buy & hold",
    "sma_crossover": "SMA 20/50",
    "cash": "cash",
}
ROWS = (
    ("total_return", "Total return", "pct"),
    ("cagr", "CAGR", "pct"),
    ("sharpe", "Sharpe", "num"),
    ("sortino", "Sortino", "num"),
    ("calmar", "Calmar", "num"),
    ("max_drawdown", "Max drawdown", "pct"),
    ("volatility", "Volatility (annual)", "pct"),
    ("win_rate", "Win rate", "pct"),
    ("trades", "Trades", "int"),
    ("exposure", "Exposure", "pct"),
    ("turnover", "Turnover", "num"),
    ("fees_paid", "Fees paid", "money"),
)


def _png(figure: Any) -> str:
    mdates: Any = importlib.import_module("matplotlib.dates")

    for ax in figure.axes:
        if ax.get_label() != "bars":
            locator = mdates.AutoDateLocator()
            ax.xaxis.set_major_locator(locator)
            ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode()


def _times(ms: list[int]) -> list[datetime]:
    return [datetime.fromtimestamp(t / 1000, tz=UTC) for t in ms]


def _drawdown(curve: list[float]) -> list[float]:
    peak, out = float("-inf"), []
    for value in curve:
        peak = max(peak, value)
        out.append(value / peak - 1.0 if peak > 0 else 0.0)
    return out


def plots(result: EvalResult) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    when: Any = _times(result.times_ms)
    images: dict[str, str] = {}

    fig, ax = plt.subplots(figsize=(10, 3.6))
    for name, curve in result.equity.items():
        ax.plot(when, curve, label=LABELS.get(name, name), color=COLOURS.get(name),
                linewidth=1.6 if name == "agent" else 1.0)  # fmt: skip
    ax.set_ylabel("equity")
    ax.legend(loc="best", frameon=True, framealpha=0.85)
    ax.grid(alpha=0.3)
    images["equity"] = _png(fig)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(10, 2.4))
    for name in ("agent", "buy_and_hold"):
        ax.fill_between(when, _drawdown(result.equity[name]), 0, alpha=0.35,
                        color=COLOURS[name], label=LABELS[name])  # fmt: skip
    ax.set_ylabel("drawdown")
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.legend(loc="lower left", frameon=False)
    ax.grid(alpha=0.3)
    images["drawdown"] = _png(fig)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(10, 3.6))
    ax.plot(when, result.close, color="#444444", linewidth=0.8, label="close")
    if result.buys:
        bought: Any = _times([t for t, _ in result.buys])
        ax.scatter(bought, [p for _, p in result.buys],
                   marker="^", color="#2a9d3a", s=28, label="buy fill", zorder=3)  # fmt: skip
    if result.sells:
        sold: Any = _times([t for t, _ in result.sells])
        ax.scatter(sold, [p for _, p in result.sells],
                   marker="v", color="#c0392b", s=28, label="sell fill", zorder=3)  # fmt: skip
    for trip in result.breaker_trips:
        tripped: Any = datetime.fromisoformat(trip.ts.replace("Z", "+00:00"))
        ax.axvline(tripped, color="#c0392b",
                   alpha=0.25, linewidth=0.8)  # fmt: skip
    ax.set_ylabel("price")
    ax.legend(loc="upper left", frameon=False)
    ax.grid(alpha=0.3)
    images["trades"] = _png(fig)
    plt.close(fig)

    denials = result.report.risk.denials
    if denials:
        fig, ax = plt.subplots(figsize=(10, 0.5 + 0.35 * len(denials)))
        ax.set_label("bars")
        codes = sorted(denials, key=denials.__getitem__)
        ax.barh(codes, [denials[c] for c in codes], color="#c0392b")
        ax.set_xlabel("denied proposals")
        images["denials"] = _png(fig)
        plt.close(fig)
    return images


def _cell(value: float | int, kind: str) -> str:
    if kind == "pct":
        return f"{value:+.2%}" if value else "0.00%"
    if kind == "int":
        return f"{int(value):,}"
    if kind == "money":
        return f"{value:,.2f}"
    return f"{value:.2f}"


def metrics_table(result: EvalResult) -> str:
    columns: dict[str, PerformanceMetrics] = {"agent": result.report.metrics}
    columns.update(result.report.baselines)
    head = "".join(f"<th>{escape(LABELS.get(c, c))}</th>" for c in columns)
    body = "".join(
        f"<tr><td>{label}</td>"
        + "".join(f"<td>{_cell(getattr(m, key), kind)}</td>" for m in columns.values())
        + "</tr>"
        for key, label, kind in ROWS
    )
    return f"<table><tr><th>metric</th>{head}</tr>{body}</table>"


def render_html(result: EvalResult) -> str:
    r = result.report
    images = plots(result)
    figure = '<img alt="{alt}" src="data:image/png;base64,{data}">'
    trips = (
        "".join(
            f"<tr><td>{escape(t.ts[:16])}</td><td>{escape(t.breaker)}</td>"
            f"<td>{escape(t.stage)}</td><td>{escape(t.reason)}</td></tr>"
            for t in result.breaker_trips
        )
        or "<tr><td colspan=4>none</td></tr>"
    )
    synthetic = " <b class=warn>SYNTHETIC DATA</b>" if r.market.synthetic else ""
    partial = "<p class=warn>Partial report: the replay was interrupted.</p>" if r.partial else ""
    denied = (
        figure.format(alt="denials by code", data=images["denials"])
        if "denials" in images
        else "<p>No proposal was denied.</p>"
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>tradegraph eval · {escape(r.market.symbol)} {escape(r.market.timeframe)}</title>
<style>
body {{ font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }}
h1 {{ font-size: 1.5rem; margin-bottom: .2rem; }} h2 {{ font-size: 1.1rem; margin-top: 2rem; }}
table {{ border-collapse: collapse; margin: .5rem 0; }}
td, th {{ border-bottom: 1px solid #ddd; padding: .25rem .8rem; text-align: right; }}
td:first-child, th:first-child {{ text-align: left; }}
img {{ max-width: 100%; }} .meta {{ color: #555; }} .warn {{ color: #b03a2e; }}
</style></head><body>
<h1>{escape(r.market.symbol)} {escape(r.market.timeframe)} ·
analyst {escape(r.agent.analyst)}{synthetic}</h1>
<p class=meta>{escape(r.market.first)} → {escape(r.market.last)} · {r.market.bars:,} candles from
{escape(r.market.source)} · run {escape(r.run_id)} · memory {"on" if r.agent.memory else "off"}
· config {r.agent.config_hash[:12]} · trace root {r.determinism.trace_root_hash[:16]}</p>
{partial}
<h2>Metrics</h2>
{metrics_table(result)}
<p class=meta>Decided at each candle's close, filled at the next open with slippage and fees;
baselines fill the same way. Limit violations found by the independent re-check:
<b>{r.risk.violations}</b>. Final trading state: {escape(r.risk.final_state)}.</p>
<h2>Equity</h2>{figure.format(alt="equity", data=images["equity"])}
<h2>Drawdown</h2>{figure.format(alt="drawdown", data=images["drawdown"])}
<h2>Trades on price</h2>{figure.format(alt="trades", data=images["trades"])}
<p class=meta>Red lines: circuit-breaker trips.</p>
<h2>Denials by refusal code</h2>{denied}
<h2>Breaker trips</h2>
<table><tr><th>time (UTC)</th><th>breaker</th><th>stage</th><th>reason</th></tr>{trips}</table>
<h2>LLM</h2>
<p>{r.llm.requests:,} requests · {r.llm.input_tokens:,} input, {r.llm.output_tokens:,} output,
{r.llm.cache_read_tokens:,} cache-read tokens · ${r.llm.cost_usd:,.4f}</p>
<p class=meta>{r.perf.decisions_per_second:,.0f} decisions/s · {r.perf.wall_seconds:,.1f} s.</p>
</body></html>
"""
