"""`report.html`: one self-contained page a trader reads, with interactive charts inline.

The metrics beside the baselines, the trade statistics, equity, drawdown, trades on price,
exposure and monthly returns as plotly charts (zoom, hover) carrying their library inline,
then the trade list, the per-symbol rows, the calendar of returns, denials by code and breaker
trips grouped by breaker. Everything from a model or a file is escaped (`report_text.escape`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from evals.report import EvalResult
from evals.report_charts import charts
from evals.report_text import LABELS, MISSING, escape, money, number, pct, price, signed_pct
from graphs.summary import BreakerTrip
from tools.metrics import PerformanceMetrics

__all__ = ["escape", "grouped_trips", "render_html"]

PAGE_STYLE = """<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; color: #222; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: .5rem 0; }
td, th { border-bottom: 1px solid #ddd; padding: .25rem .6rem; text-align: right; }
td:first-child, th:first-child { text-align: left; }
.meta { color: #555; } .warn { color: #b03a2e; }
</style>"""
"""The look every report page shares."""

MAX_TRADE_ROWS = 500
"""The page lists this many trades; trades.csv and report.json hold them all."""
ROWS = (
    ("total_return", "Total return", signed_pct),
    ("cagr", "CAGR", signed_pct),
    ("sharpe", "Sharpe", number),
    ("sortino", "Sortino", number),
    ("calmar", "Calmar", number),
    ("max_drawdown", "Max drawdown", pct),
    ("volatility", "Volatility (annual)", pct),
    ("win_rate", "Win rate", pct),
    ("trades", "Trades", lambda v: f"{int(v):,}"),
    ("exposure", "Exposure", pct),
    ("turnover", "Turnover", number),
    ("fees_paid", "Fees paid", money),
)
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], empty: str = "none") -> str:
    """A table of cells already made safe (escaped or formatted here)."""
    header = "".join(f"<th>{h}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    body = body or f"<tr><td colspan={len(head)}>{empty}</td></tr>"
    return f"<table><tr>{header}</tr>{body}</table>"


def metrics_table(result: EvalResult) -> str:
    columns: dict[str, PerformanceMetrics] = {"agent": result.report.metrics}
    columns.update(result.report.baselines)
    return _table(
        ["metric", *(escape(LABELS.get(c, c)) for c in columns)],
        [[label, *(show(getattr(m, key)) for m in columns.values())] for key, label, show in ROWS],
    )


def trade_stats_table(result: EvalResult) -> str:
    s = result.report.trade_stats
    if s is None:
        return ""
    factor = number(s.profit_factor) if s.profit_factor is not None else "n/a (no losing trade)"
    held = s.average_holding_hours
    rows = [
        ("Closed trades", f"{s.trades:,} ({s.wins:,} won, {s.losses:,} lost)"),
        ("Win rate", pct(s.win_rate)),
        ("Profit factor", factor),
        ("Expectancy per trade", f"{_pnl(s.expectancy)} ({signed_pct(s.expectancy_return)})"),
        ("Average win", _pnl(s.average_win)),
        ("Average loss", _pnl(s.average_loss)),
        ("Largest win / loss", f"{_pnl(s.largest_win)} / {_pnl(s.largest_loss)}"),
        ("Longest losing streak", f"{s.longest_losing_streak:,}"),
        ("Average holding time", MISSING if held is None else f"{held:,.1f} h"),
        ("Fees paid", money(s.fees_paid)),
        ("Fee drag (fees over starting equity)", pct(s.fee_drag)),
        ("Positions open at the end", f"{s.open_positions:,}"),
    ]
    return _table(["statistic", "value"], rows)


def _pnl(value: float | None) -> str:
    return money(value, signed=True)


def trades_table(result: EvalResult) -> str:
    trades = result.report.trades
    shown_rows = [
        [
            escape(t.symbol), escape(t.entry_time[:16]), escape(t.exit_time[:16]),
            price(t.entry_price), price(t.exit_price), f"{t.quantity:.6g}", money(t.notional),
            _pnl(t.pnl), signed_pct(t.trade_return), money(t.fees),
            f"{t.holding_hours:,.1f} h ({t.holding_candles:,})", escape(t.exit_reason.value),
            escape(t.strategy),
        ]
        for t in trades[:MAX_TRADE_ROWS]
    ]  # fmt: skip
    head = ["symbol", "entry (UTC)", "exit (UTC)", "entry", "exit", "size", "notional", "P&amp;L",
            "return", "fees", "held (candles)", "exit reason", "strategy"]  # fmt: skip
    more = len(trades) - MAX_TRADE_ROWS
    tail = (
        f"<p class=meta>{more:,} more trades in trades.csv and report.json.</p>" if more > 0 else ""
    )
    return _table(head, shown_rows, "no closed trade") + tail


def per_symbol_table(result: EvalResult) -> str:
    rows = [
        [
            escape(r.symbol), f"{r.trades:,}", f"{r.wins:,}", _pnl(r.realized_pnl),
            _pnl(r.unrealized_pnl) + (" (open)" if r.open_at_end else ""),
            money(r.fees_paid), signed_pct(r.contribution), pct(r.exposure),
            pct(r.average_weight),
        ]
        for r in result.report.per_symbol
    ]  # fmt: skip
    head = ["symbol", "trades", "wins", "realized P&amp;L", "unrealized P&amp;L", "fees",
            "contribution", "exposure", "average weight"]  # fmt: skip
    return _table(head, rows)


def calendar_table(result: EvalResult) -> str:
    """Monthly returns, one row per year with its yearly return; * marks a partial period."""
    periods = result.report.periods
    if periods is None:
        return ""
    cells: dict[str, dict[int, str]] = {}
    for m in periods.monthly:
        year, month = m.period.split("-")
        cells.setdefault(year, {})[int(month)] = signed_pct(m.total_return) + "*" * m.partial
    rows = [
        [
            escape(y.period),
            *(cells.get(y.period, {}).get(i, "") for i in range(1, 13)),
            signed_pct(y.total_return) + "*" * y.partial,
        ]
        for y in periods.yearly
    ]
    return _table(["year", *MONTHS, "year"], rows) + "<p class=meta>* partial period.</p>"


@dataclass(frozen=True)
class TripGroup:
    breaker: str
    count: int
    stages: tuple[str, ...]
    first: str
    last: str
    last_reason: str


def grouped_trips(trips: Sequence[BreakerTrip]) -> list[TripGroup]:
    """Trips and halts per breaker, most frequent first: a breaker that trips a thousand times
    is one row with its count, not a thousand rows."""
    by: dict[str, list[BreakerTrip]] = {}
    for trip in trips:
        by.setdefault(trip.breaker, []).append(trip)
    groups = [
        TripGroup(
            breaker=name,
            count=len(mine),
            stages=tuple(sorted({t.stage.value for t in mine})),
            first=mine[0].ts,
            last=mine[-1].ts,
            last_reason=mine[-1].reason,
        )
        for name, mine in by.items()
    ]
    return sorted(groups, key=lambda g: (-g.count, g.breaker))


def trips_table(result: EvalResult) -> str:
    rows = [
        [escape(g.breaker), f"{g.count:,}", escape(", ".join(g.stages)), escape(g.first[:16]),
         escape(g.last[:16]), escape(g.last_reason)]
        for g in grouped_trips(result.breaker_trips)
    ]  # fmt: skip
    head = ["breaker", "trips", "stages", "first (UTC)", "last (UTC)", "last reason"]
    return _table(head, rows)


def denials_table(result: EvalResult) -> str:
    denials = result.report.risk.denials
    rows = [[escape(code), f"{n:,}"] for code, n in sorted(denials.items(), key=lambda i: -i[1])]
    return _table(["refusal code", "denied proposals"], rows, "no proposal was denied")


def _notes(result: EvalResult) -> str:
    r = result.report
    warnings = "".join(f"<p class=warn>{escape(w)}</p>" for w in r.warnings)
    notes = "".join(f"<p class=meta>Note: {escape(n)}.</p>" for n in r.notes)
    return warnings + notes


def render_html(result: EvalResult) -> str:
    r = result.report
    plots = charts(result)
    synthetic = " <b class=warn>SYNTHETIC DATA</b>" if r.market.synthetic else ""
    partial = "<p class=warn>Partial report: the replay was interrupted.</p>" if r.partial else ""
    exposure = f"<h2>Exposure</h2>{plots['exposure']}" if "exposure" in plots else ""
    monthly = plots.get("monthly", "")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>tradegraph eval · {escape(r.market.symbol)} {escape(r.market.timeframe)}</title>
{PAGE_STYLE}</head><body>
<h1>{escape(r.market.symbol)} {escape(r.market.timeframe)} ·
analyst {escape(r.agent.analyst)}{synthetic}</h1>
<p class=meta>{escape(r.market.first)} → {escape(r.market.last)} · {r.market.bars:,} candles from
{escape(r.market.source)} · run {escape(r.run_id)} · memory {"on" if r.agent.memory else "off"}
· config {escape(r.agent.config_hash[:12])} ·
trace root {escape(r.determinism.trace_root_hash[:16])}</p>
{partial}{_notes(result)}
<h2>Metrics</h2>
{metrics_table(result)}
<p class=meta>Decided at each candle's close, filled at the next open with slippage and fees;
baselines fill the same way. Limit violations found by the independent re-check:
<b>{r.risk.violations}</b>. Final trading state: {escape(r.risk.final_state)}.</p>
<h2>Trade statistics</h2>{trade_stats_table(result)}
<h2>Equity</h2>{plots["equity"]}
<h2>Drawdown</h2>{plots["drawdown"]}
<h2>Trades on price</h2>{plots["price"]}
<p class=meta>Crosses: circuit-breaker trips (hover for the breaker and its reason).</p>
{exposure}
<h2>Monthly and yearly returns</h2>{monthly}{calendar_table(result)}
<h2>Trades</h2>{trades_table(result)}
<h2>Per symbol</h2>{per_symbol_table(result)}
<h2>Denials by refusal code</h2>{denials_table(result)}
<h2>Breaker trips</h2>{trips_table(result)}
<h2>LLM</h2>
<p>{r.llm.requests:,} requests · {r.llm.input_tokens:,} input, {r.llm.output_tokens:,} output,
{r.llm.cache_read_tokens:,} cache-read tokens · ${r.llm.cost_usd:,.4f}</p>
<p class=meta>{r.perf.decisions_per_second:,.0f} decisions/s · {r.perf.wall_seconds:,.1f} s.</p>
</body></html>
"""
