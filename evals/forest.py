"""Paired comparisons on a page: a table and a forest plot (one interval per market and
metric, the pooled one last), interactive and self-contained (plotly's bundle inline)."""

from __future__ import annotations

import html
from collections.abc import Sequence

from core.text import shown
from evals.paired import METRICS, Metric, PairedComparison, Verdict

VERDICT_COLOURS = {
    Verdict.BETTER: "#2e8b57",
    Verdict.WORSE: "#c0392b",
    Verdict.NO_DIFFERENCE: "#777777",
}


def _text(value: str) -> str:
    return html.escape(shown(value, one_line=True))


def _value(metric: Metric, value: float, signed: bool) -> str:
    if metric.in_points:
        return f"{value * 100:+.2f} pp" if signed else f"{value:.2%}"
    return f"{value:+.2f}" if signed else f"{value:.2f}"


def comparison_table(comparisons: Sequence[PairedComparison]) -> str:
    """Rows of market x metric: control, candidate, difference, interval, verdict."""
    rows = []
    for comparison in comparisons:
        for row in comparison.metrics:
            colour = VERDICT_COLOURS[row.verdict]
            rows.append(
                f"<tr><td>{_text(comparison.market)}</td><td>{row.metric.label}</td>"
                f"<td>{_value(row.metric, row.control, False)}</td>"
                f"<td>{_value(row.metric, row.candidate, False)}</td>"
                f"<td>{_value(row.metric, row.difference, True)}</td>"
                f"<td>{_value(row.metric, row.low, True)} to "
                f"{_value(row.metric, row.high, True)}</td>"
                f'<td style="color:{colour}">{row.verdict.value}</td></tr>'
            )
    return (
        "<table><thead><tr><th>market</th><th>metric</th><th>control</th><th>candidate</th>"
        "<th>difference</th><th>95% interval</th><th>verdict</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def forest_plot(comparisons: Sequence[PairedComparison], *, include_plotlyjs: bool) -> str:
    """One panel per metric: each market's difference with its interval, a line at zero."""
    from plotly.subplots import make_subplots

    shown_metrics = [
        m for m in METRICS if any(r.metric is m for c in comparisons for r in c.metrics)
    ]
    figure = make_subplots(
        rows=1,
        cols=len(shown_metrics),
        subplot_titles=[
            f"{m.label} ({'pp' if m.in_points else 'difference'})" for m in shown_metrics
        ],
        shared_yaxes=True,
        horizontal_spacing=0.04,
    )
    for column, metric in enumerate(shown_metrics, 1):
        scale = 100.0 if metric.in_points else 1.0
        pairs = [(c, r) for c in comparisons for r in c.metrics if r.metric is metric]
        rows = [r for _, r in pairs]
        labels = [shown(c.market, one_line=True) for c, _ in pairs]
        figure.add_trace(
            {
                "type": "scatter",
                "mode": "markers",
                "x": [r.difference * scale for r in rows],
                "y": labels,
                "marker": {"color": [VERDICT_COLOURS[r.verdict] for r in rows], "size": 9},
                "error_x": {
                    "type": "data",
                    "symmetric": False,
                    "array": [(r.high - r.difference) * scale for r in rows],
                    "arrayminus": [(r.difference - r.low) * scale for r in rows],
                },
                "customdata": [r.verdict.value for r in rows],
                "hovertemplate": "%{y}: %{x:.3f} (%{customdata})<extra></extra>",
                "showlegend": False,
            },
            row=1,
            col=column,
        )
        figure.add_vline(x=0, line_dash="dot", line_color="#999999", row=1, col=column)
    figure.update_yaxes(autorange="reversed")
    figure.update_layout(
        height=140 + 32 * len(comparisons),
        margin={"l": 10, "r": 10, "t": 40, "b": 30},
        template="plotly_white",
    )
    return str(
        figure.to_html(
            full_html=False, include_plotlyjs=include_plotlyjs, config={"responsive": True}
        )
    )


def comparison_page(title: str, comparisons: Sequence[PairedComparison], notes: str = "") -> str:
    """A whole self-contained page: the forest plot, then the table."""
    first = comparisons[0]
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{_text(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:2em;color:#222}"
        "table{border-collapse:collapse}td,th{padding:4px 10px;border-bottom:1px solid #ddd;"
        "text-align:right}td:first-child,td:nth-child(2),th{text-align:left}</style>"
        f"</head><body><h1>{_text(title)}</h1>"
        f"<p>{_text(first.candidate)} against {_text(first.control)} (the control): the "
        f"difference candidate minus control, with a {first.confidence:.0%} interval from "
        f"{first.resamples:,} stationary-bootstrap resamples of the paired per-candle returns "
        f"(seed {first.seed}). {_text(notes)}</p>"
        + "".join(
            f"<p><i>{_text(n)}</i></p>"
            for n in dict.fromkeys(n for c in comparisons for n in c.notes)
        )
        + forest_plot(comparisons, include_plotlyjs=True)
        + comparison_table(comparisons)
        + "</body></html>"
    )
