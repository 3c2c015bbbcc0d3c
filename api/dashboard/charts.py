"""The equity chart as inline SVG, drawn on the server: the account's equity, the buy-and-hold
of the symbols it traded from the same starting equity, and the drawdown as an area below.

The series come from the decision index (the equity each decision recorded, the close of its
candle), never from the traces; at most `MAX_POINTS` points are drawn, the drawdown measured
on every point before thinning, so a deep trough between two drawn points still shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import numpy as np
from markupsafe import Markup

from memory.decision_index import DecisionRow

MAX_POINTS: Final = 1_000
WIDTH: Final = 960
PRICE_HEIGHT: Final = 260
DRAWDOWN_HEIGHT: Final = 80
LEFT: Final = 100
RIGHT: Final = 10
TOP: Final = 10
GAP: Final = 24


@dataclass(frozen=True)
class EquitySeries:
    """Equal-length series, oldest first: time (ms), equity, buy-and-hold, drawdown (0..1)."""

    times: tuple[int, ...]
    equity: tuple[float, ...]
    hold: tuple[float, ...]
    drawdown: tuple[float, ...]

    @property
    def max_drawdown(self) -> float:
        return max(self.drawdown, default=0.0)


def equity_series(rows: Sequence[DecisionRow], max_points: int = MAX_POINTS) -> EquitySeries:
    """The series of `rows` (decisions that recorded an equity, oldest first), thinned to at
    most `max_points`. Buy-and-hold: the starting equity put equally in each symbol at its
    first close, each held at its latest close since (a symbol with no close yet is cash)."""
    recorded = [row for row in rows if row.equity is not None]
    if not recorded:
        return EquitySeries((), (), (), ())
    times = np.array([row.ts for row in recorded], dtype=np.int64)
    equity = np.array([row.equity for row in recorded], dtype=float)
    peak = np.maximum.accumulate(equity)
    drawdown = np.where(peak > 0, (peak - equity) / np.where(peak > 0, peak, 1.0), 0.0)
    hold = equity[0] * _held_growth(recorded)
    keep = _thinned(len(recorded), max_points)
    return EquitySeries(
        times=tuple(int(t) for t in times[keep]),
        equity=tuple(float(v) for v in equity[keep]),
        hold=tuple(float(v) for v in hold[keep]),
        drawdown=tuple(float(v) for v in _deepest(drawdown, keep)),
    )


def _held_growth(rows: Sequence[DecisionRow]) -> np.ndarray:
    """At each row, the mean over the symbols of (latest close / first close), 1 for a
    symbol not priced yet: the growth of money split equally between them at the start."""
    priced: dict[str, tuple[list[int], list[float]]] = {row.symbol: ([], []) for row in rows}
    for i, row in enumerate(rows):
        if row.close is not None and row.close > 0:
            at, closes = priced[row.symbol]
            at.append(i)
            closes.append(row.close)
    growth = np.zeros(len(rows))
    for at, closes in priced.values():
        if not at:
            growth += 1.0
            continue
        latest = np.full(len(rows), -1, dtype=np.int64)
        latest[at] = np.arange(len(at))
        latest = np.maximum.accumulate(latest)
        held = np.asarray(closes) / closes[0]
        growth += np.where(latest >= 0, held[np.maximum(latest, 0)], 1.0)
    return growth / len(priced)


def _thinned(count: int, max_points: int) -> np.ndarray:
    """Indices of at most `max_points` evenly spread points, the first and last kept."""
    if count <= max_points:
        return np.arange(count)
    return np.unique(np.round(np.linspace(0, count - 1, max_points)).astype(np.int64))


def _deepest(drawdown: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """At each kept point, the deepest drawdown since the kept point before it."""
    starts = np.concatenate(([0], keep[:-1] + 1))
    return np.maximum.reduceat(drawdown, starts)[: len(keep)] if len(keep) else keep


def equity_svg(series: EquitySeries, quote: str) -> Markup:
    """The chart of `series` (at least one point), amounts in `quote`."""
    low = min(min(series.equity), min(series.hold))
    high = max(max(series.equity), max(series.hold))
    if high - low < 1e-9:
        low, high = low - 1, high + 1
    first, last = series.times[0], series.times[-1]
    span = max(last - first, 1)
    plot_w = WIDTH - LEFT - RIGHT
    dd_top = TOP + PRICE_HEIGHT + GAP
    deepest = max(series.max_drawdown, 1e-9)

    def x(ts: int) -> float:
        return LEFT + (ts - first) / span * plot_w

    def y(value: float) -> float:
        return TOP + (high - value) / (high - low) * PRICE_HEIGHT

    def y_dd(fraction: float) -> float:
        return dd_top + fraction / deepest * DRAWDOWN_HEIGHT

    equity_d = _line([(x(t), y(v)) for t, v in zip(series.times, series.equity, strict=True)])
    hold_d = _line([(x(t), y(v)) for t, v in zip(series.times, series.hold, strict=True)])
    dd_points = [(x(t), y_dd(v)) for t, v in zip(series.times, series.drawdown, strict=True)]
    drawdown_d = (
        f"M{x(first):.1f},{dd_top:.1f}"
        + "".join(f"L{px:.1f},{py:.1f}" for px, py in dd_points)
        + f"L{x(last):.1f},{dd_top:.1f}Z"
    )
    height = dd_top + DRAWDOWN_HEIGHT + 22
    labels = [
        _text(LEFT - 6, TOP + 10, f"{high:,.0f} {quote}", "end"),
        _text(LEFT - 6, TOP + PRICE_HEIGHT, f"{low:,.0f} {quote}", "end"),
        _text(LEFT - 6, dd_top + 10, "0%", "end"),
        _text(LEFT - 6, dd_top + DRAWDOWN_HEIGHT, f"-{series.max_drawdown:.1%}", "end"),
        _text(LEFT, height - 4, _date(first), "start"),
        _text(WIDTH - RIGHT, height - 4, _date(last), "end"),
        _text(LEFT + 6, dd_top - 6, "drawdown", "start"),
    ]
    axes = (
        f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + PRICE_HEIGHT}"/>'
        f'<line class="axis" x1="{LEFT}" y1="{TOP + PRICE_HEIGHT}" x2="{WIDTH - RIGHT}" '
        f'y2="{TOP + PRICE_HEIGHT}"/>'
        f'<line class="axis" x1="{LEFT}" y1="{dd_top}" x2="{WIDTH - RIGHT}" y2="{dd_top}"/>'
    )
    return Markup(
        f'<svg viewBox="0 0 {WIDTH} {height:.0f}" role="img" '
        f'aria-label="equity, buy-and-hold and drawdown">'
        f"{axes}"
        f'<path class="drawdown" d="{drawdown_d}"/>'
        f'<path class="buy-and-hold" d="{hold_d}"/>'
        f'<path class="equity" d="{equity_d}"/>'
        f"{''.join(labels)}</svg>"
    )


def _line(points: list[tuple[float, float]]) -> str:
    head, *rest = points
    return f"M{head[0]:.1f},{head[1]:.1f}" + "".join(f"L{px:.1f},{py:.1f}" for px, py in rest)


def _text(x: float, y: float, label: str, anchor: str) -> str:
    return f'<text x="{x:.0f}" y="{y:.0f}" text-anchor="{anchor}">{Markup.escape(label)}</text>'


def _date(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")
