"""The report's interactive charts: plotly figures, each an HTML fragment to embed in the page.

The first fragment carries the plotly.js bundle inline and the others reuse it, so the page
zooms and hovers offline, with no CDN and no second copy of the library. Long curves are
thinned to at most `MAX_POINTS` per line, keeping each bucket's lowest and highest point, so
the troughs and peaks a reader looks for survive and the file stays a few megabytes. Every
text that comes from a model or a file goes through `escape` before it reaches a label.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evals.report import EvalResult
from evals.report_text import COLOURS, LABELS, escape, ms

MAX_POINTS = 4000
CHART_CONFIG = {"displaylogo": False, "responsive": True}


def thinned(
    xs: Sequence[Any], ys: Sequence[float], limit: int = MAX_POINTS
) -> tuple[list[Any], list[float]]:
    """At most about `limit` points of a line: each bucket's first, lowest and highest."""
    n = len(ys)
    if n <= limit:
        return list(xs), list(ys)
    buckets = max(1, limit // 3)
    keep = {n - 1}
    for b in range(buckets):
        lo, hi = b * n // buckets, (b + 1) * n // buckets
        if lo >= hi:
            continue
        part = ys[lo:hi]
        keep.update((lo, lo + part.index(min(part)), lo + part.index(max(part))))
    index = sorted(keep)
    return [xs[i] for i in index], [ys[i] for i in index]


def drawdown(curve: Sequence[float]) -> list[float]:
    """Fall from the running peak at each point, as a fraction <= 0."""
    peak, out = float("-inf"), []
    for value in curve:
        peak = max(peak, value)
        out.append(value / peak - 1.0 if peak > 0 else 0.0)
    return out


def charts(result: EvalResult) -> dict[str, str]:
    """HTML fragments by name: equity, drawdown, price, exposure, and monthly when there are
    monthly returns. The first (equity) holds the plotly.js bundle."""
    import plotly.graph_objects as go

    figures: dict[str, Any] = {}
    when = result.times_ms

    equity = go.Figure()
    for name, curve in result.equity.items():
        x, y = thinned(when, curve)
        equity.add_trace(go.Scatter(x=x, y=y, name=escape(LABELS.get(name, name)),
                                      mode="lines", line={"color": COLOURS.get(name),
                                      "width": 2 if name == "agent" else 1}))  # fmt: skip
    figures["equity"] = _layout(equity, "equity", height=380)

    falls = go.Figure()
    for name in ("agent", "buy_and_hold"):
        x, y = thinned(when, drawdown(result.equity[name]))
        falls.add_trace(go.Scatter(x=x, y=y, name=LABELS[name], fill="tozeroy", mode="lines",
                                   line={"color": COLOURS[name], "width": 1}))  # fmt: skip
    figures["drawdown"] = _layout(falls, "drawdown", height=260, percent=True)

    price = go.Figure()
    x, y = thinned(when, result.close)
    price.add_trace(go.Scatter(x=x, y=y, name="close", mode="lines",
                                 line={"color": "#444444", "width": 1}))  # fmt: skip
    for fills, label, symbol, colour in (
        (result.buys, "buy fill", "triangle-up", "#2a9d3a"),
        (result.sells, "sell fill", "triangle-down", "#c0392b"),
    ):
        if fills:
            price.add_trace(go.Scatter(x=[t for t, _ in fills], y=[p for _, p in fills],
                                         name=label, mode="markers", marker={"symbol": symbol,
                                         "color": colour, "size": 8}))  # fmt: skip
    trips = result.breaker_trips
    if trips:
        lowest = min(result.close) if result.close else 0.0
        price.add_trace(go.Scatter(
            x=[ms(t.ts) for t in trips], y=[lowest] * len(trips),
            name="breaker trip", mode="markers", marker={"symbol": "x", "color": "#c0392b"},
            text=[escape(f"{t.breaker} → {t.stage}: {t.reason}") for t in trips],
            hoverinfo="text+x",
        ))  # fmt: skip
    figures["price"] = _layout(price, "price", height=380)

    series = result.report.series
    if series is not None:
        held = go.Figure()
        x, y = thinned(series.times_ms, series.exposure)
        held.add_trace(go.Scatter(x=x, y=y, name="exposure", fill="tozeroy", mode="lines",
                                  line={"color": COLOURS["agent"], "width": 1}))  # fmt: skip
        figures["exposure"] = _layout(held, "share of equity in positions", height=220,
                                      percent=True, legend=False)  # fmt: skip

    periods = result.report.periods
    if periods is not None and periods.monthly:
        months = periods.monthly
        bars = go.Figure(go.Bar(
            x=[m.period + (" (partial)" if m.partial else "") for m in months],
            y=[m.total_return for m in months],
            marker={"color": ["#2a9d3a" if m.total_return >= 0 else "#c0392b" for m in months]},
            name="monthly return",
        ))  # fmt: skip
        figures["monthly"] = _layout(bars, "monthly return", height=260, percent=True,
                                     dates=False, legend=False)  # fmt: skip

    return {
        name: figure.to_html(full_html=False, include_plotlyjs=i == 0, config=CHART_CONFIG)
        for i, (name, figure) in enumerate(figures.items())
    }


def _layout(
    figure: Any,
    title: str,
    *,
    height: int,
    percent: bool = False,
    dates: bool = True,
    legend: bool = True,
) -> Any:
    figure.update_layout(
        template="plotly_white",
        height=height,
        margin={"l": 60, "r": 20, "t": 10, "b": 40},
        yaxis={"title": title, "tickformat": ".1%" if percent else None},
        xaxis={"type": "date"} if dates else {"type": "category"},
        hovermode="x unified" if dates else "closest",
        showlegend=legend,
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
    )
    return figure
