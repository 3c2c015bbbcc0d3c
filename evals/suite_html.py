"""The combined suite report as one self-contained HTML page: an aggregate per configuration,
then a table per market linking each job's own report."""

from __future__ import annotations

import html
from typing import Any

from core.text import shown


def escape(text: str) -> str:
    """Text from a model or a file, in the page as data: no control characters, HTML-escaped
    (quotes too, so it is safe inside an attribute)."""
    return html.escape(shown(text))


def render_suite_html(combined: dict[str, Any]) -> str:
    def pct(x: float) -> str:
        return f"{x:+.2%}" if x else "0.00%"

    def num(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.2f}"

    markets: dict[str, list[dict[str, Any]]] = {}
    for row in combined["rows"]:
        markets.setdefault(row["market"], []).append(row)
    sections = []
    for market, rows in markets.items():
        lines = []
        for r in rows:
            if "error" in r:
                lines.append(f"<tr><td>{escape(r['config'])}</td><td colspan=6>failed: "
                             f"{escape(r['error'])}</td></tr>")  # fmt: skip
                continue
            m, hold = r["report"]["metrics"], r["report"]["baselines"]["buy_and_hold"]
            link = escape(f"{r['label']}/report.html")
            lines.append(
                f'<tr><td><a href="{link}">{escape(r["config"])}</a></td>'
                f"<td>{pct(m['total_return'])}</td><td>{m['max_drawdown']:.2%}</td>"
                f"<td>{num(m['sharpe'])}</td><td>{m['trades']}</td>"
                f"<td>{pct(hold['total_return'])}</td><td>{r['report']['risk']['violations']}</td></tr>"
            )
        sections.append(
            f"<h2>{escape(market)}</h2><table><tr><th>config</th><th>return</th><th>max DD</th>"
            f"<th>Sharpe</th><th>trades</th><th>buy &amp; hold</th><th>violations</th></tr>"
            + "".join(lines)
            + "</table>"
        )
    agg_rows = "".join(
        f"<tr><td>{escape(c)}</td><td>{a['markets']}</td><td>{pct(a['mean_total_return'])}</td>"
        f"<td>{a['mean_max_drawdown']:.2%}</td><td>{num(a['mean_sharpe'])}</td>"
        f"<td>{pct(a['mean_buy_and_hold_return'])}</td><td>{a['beat_buy_and_hold']}</td>"
        f"<td>{a['violations']}</td></tr>"
        for c, a in combined["aggregate"].items()
    )
    partial = "<p><b>Partial: the suite was interrupted.</b></p>" if combined["partial"] else ""
    compared = _comparisons(combined.get("comparisons", []))
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>tradegraph suite · {escape(combined["suite"])}</title>
<style>body {{ font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1000px; }}
table {{ border-collapse: collapse; }} td, th {{ border-bottom: 1px solid #ddd;
padding: .25rem .8rem; text-align: right; }} td:first-child, th:first-child {{ text-align: left; }}
</style></head><body><h1>Suite {escape(combined["suite"])}</h1>{partial}
<h2>Aggregate</h2><table><tr><th>config</th><th>markets</th><th>mean return</th>
<th>mean max DD</th><th>mean Sharpe</th><th>mean buy &amp; hold</th><th>beat buy &amp; hold</th>
<th>violations</th></tr>{agg_rows}</table>
{compared}
{"".join(sections)}
</body></html>
"""


def _comparisons(raw: list[dict[str, Any]]) -> str:
    """Each configuration against the control: a forest plot (markets, then pooled) and the
    table of differences with their intervals."""
    from evals.forest import comparison_table, forest_plot
    from evals.suite_compare import ConfigComparison

    parts = []
    for number, data in enumerate(raw):
        comparison = ConfigComparison.model_validate(data)
        shown_rows = [*comparison.markets, *([comparison.pooled] if comparison.pooled else [])]
        title = f"{escape(comparison.candidate)} against {escape(comparison.control)}"
        if not shown_rows:
            parts.append(f"<h3>{title}</h3><p>No market where both finished.</p>")
            continue
        first = shown_rows[0]
        skipped = "".join(f"<li>left out: {escape(s)}</li>" for s in comparison.skipped)
        skipped += "".join(
            f"<li>{escape(n)}</li>" for n in dict.fromkeys(n for r in shown_rows for n in r.notes)
        )
        parts.append(
            f"<h3>{title}</h3><p>Candidate minus control per market and pooled (the mean over "
            f"markets), with {first.confidence:.0%} intervals from {first.resamples:,} "
            f"stationary-bootstrap resamples of the paired per-candle returns (seed "
            f"{first.seed}).</p><ul>{skipped}</ul>"
            + forest_plot(shown_rows, include_plotlyjs=number == 0)
            + comparison_table(shown_rows)
        )
    if not parts:
        return ""
    return "<h2>Paired comparisons</h2>" + "".join(parts)
