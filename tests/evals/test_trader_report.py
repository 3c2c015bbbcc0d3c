"""The report a trader reads, on short synthetic evaluations run in process: the trade list
against the ledger, exit reasons, statistics, periods, exposure, per-symbol rows, notes and
warnings, and the page's interactive charts, tables and grouping of breaker trips."""

import csv
import dataclasses
import io
import math
import re

import pytest

from core.ledger import Ledger
from evals.harness import evaluate
from evals.report import MIN_TRADES, trace_root_hash
from evals.report_html import MAX_TRADE_ROWS, grouped_trips, render_html, trades_table
from evals.trade_list import ExitReason, TradeRow
from graphs.assembly import RunRequest
from graphs.summary import BreakerTrip
from tools.metrics import performance
from tools.trades import closed_trades

# The tests that read one evaluation share a worker, so it runs once.
pytestmark = pytest.mark.xdist_group("trader-report")
TIGHT_DRAWDOWN = (
    ("breakers", {"drawdown_reduce_size": 0.002, "drawdown_reducing": 0.004,
                  "drawdown_halt": 0.006}),
)  # fmt: skip


def _evaluate(folder, **request):
    result, recorder = evaluate(RunRequest(market="synthetic:5", memory=False, **request), folder)
    return result, recorder, folder


@pytest.fixture(scope="module")
def replay(tmp_path_factory):
    """12.5 days of hourly candles: a few trades, stops and analyst sells among them."""
    return _evaluate(tmp_path_factory.mktemp("replay"), bars=300)


@pytest.fixture(scope="module")
def flattened(tmp_path_factory):
    """A drawdown breaker so tight that it halts and flattens the first losing position."""
    return _evaluate(tmp_path_factory.mktemp("flat"), bars=300, overrides=TIGHT_DRAWDOWN)


def test_the_trade_list_is_the_round_trips_of_the_ledger_fills(replay):
    result, _, folder = replay
    report = result.report
    ledger = Ledger(folder / "ledger.sqlite", f"replay:{report.run_id}", 10_000.0)

    trips = closed_trades(ledger.fills())

    assert len(trips) >= 3
    assert [(r.symbol, r.entry_ms, r.exit_ms, r.quantity) for r in report.trades] == [
        (t.symbol, t.opened_ms, t.closed_ms, t.quantity) for t in trips
    ]
    assert [r.pnl for r in report.trades] == pytest.approx([t.pnl for t in trips])
    assert report.metrics.trades == len(report.trades)


def test_stop_losses_and_analyst_sells_are_told_apart_in_a_replay(replay):
    result, recorder, _ = replay
    stops = {
        f.ts for t in recorder.traces for f in t.fills if f.client_order_id.startswith("stop-")
    }

    reasons = {r.exit_reason for r in result.report.trades}

    assert {ExitReason.STOP_LOSS, ExitReason.ANALYST_SELL} <= reasons
    assert {
        r.exit_ms for r in result.report.trades if r.exit_reason is ExitReason.STOP_LOSS
    } <= stops
    assert {r.strategy for r in result.report.trades} <= {
        "conservative", "balanced", "aggressive", "contrarian"
    }  # fmt: skip


def test_a_breaker_flatten_is_the_exit_reason_of_the_position_it_closed(flattened):
    result, recorder, _ = flattened

    reasons = [r.exit_reason for r in result.report.trades]

    assert ExitReason.BREAKER_FLATTEN in reasons
    assert any(t.flatten for t in recorder.traces)


def test_breaker_trips_are_grouped_by_breaker_with_counts(flattened):
    result, _, _ = flattened
    trips = result.breaker_trips

    groups = grouped_trips(trips)

    assert len(trips) > len(groups) >= 1
    assert sum(g.count for g in groups) == len(trips)
    drawdown = next(g for g in groups if g.breaker == "drawdown")
    assert (drawdown.first, drawdown.last) == (trips[0].ts, trips[-1].ts)
    page = render_html(result)
    section = page[page.index("<h2>Breaker trips</h2>") : page.index("<h2>LLM</h2>")]
    assert section.count("<tr>") == 1 + len(groups)
    assert f"<td>drawdown</td><td>{drawdown.count}</td>" in section


def test_breaker_text_is_escaped_in_the_grouped_table(replay):
    result, _, _ = replay
    trip = BreakerTrip(ts="2024-01-02T00:00:00Z", kind="trip", breaker="<b>x</b>",
                       stage="halt", reason="<img src=x onerror=alert(1)>\x1b[31m")  # fmt: skip

    page = render_html(dataclasses.replace(result, breaker_trips=(trip, trip)))

    assert "<img src=x" not in page and "<b>x</b>" not in page and "\x1b" not in page
    assert "&lt;b&gt;x&lt;/b&gt;</td><td>2</td>" in page


def test_under_30_days_the_annualized_figures_are_null_with_a_note(replay):
    result, _, _ = replay
    report = result.report

    nulls = [
        (m.cagr, m.sharpe, m.sortino, m.calmar)
        for m in (report.metrics, *report.baselines.values())
    ]

    assert all(row == (None, None, None, None) for row in nulls)
    assert any("annualized figures" in n and "shorter than 30" in n for n in report.notes)
    assert "<tr><td>Sharpe</td><td>n/a</td>" in render_html(result)


@pytest.mark.slow
def test_over_30_days_the_annualized_figures_are_there(tmp_path):
    result, _, _ = _evaluate(tmp_path, bars=45, timeframe="1d")

    m = result.report.metrics

    assert None not in (m.cagr, m.sharpe, m.sortino, m.calmar)
    assert not any("annualized" in n for n in result.report.notes)


def test_fewer_than_30_trades_warn_that_the_statistics_are_noisy(replay):
    result, _, _ = replay
    report = result.report

    assert report.trade_stats is not None and report.trade_stats.trades < MIN_TRADES
    assert any("fewer than 30" in w and "noisy" in w for w in report.warnings)


def test_the_equity_series_is_the_curve_the_metrics_come_from(replay):
    result, _, _ = replay
    report = result.report
    series = report.series

    again = performance([series.initial, *series.agent], period_seconds=3600)

    assert len(series.times_ms) == len(series.agent) == len(series.exposure) == report.market.bars
    assert again.total_return == report.metrics.total_return
    assert again.max_drawdown == report.metrics.max_drawdown
    assert all(0.0 <= x <= 1.0 for x in series.exposure) and max(series.exposure) > 0
    held = [x > 0 for x in series.exposure]
    assert sum(held) / len(held) == pytest.approx(report.metrics.exposure)


def test_periods_and_per_symbol_contributions_add_up_to_the_total_return(replay):
    result, _, _ = replay
    report = result.report
    total = report.metrics.total_return

    monthly = math.prod(1 + p.total_return for p in report.periods.monthly) - 1
    yearly = math.prod(1 + p.total_return for p in report.periods.yearly) - 1

    assert monthly == pytest.approx(total) and yearly == pytest.approx(total)
    assert sum(r.contribution for r in report.per_symbol) == pytest.approx(total)
    assert report.per_symbol[0].trades == len(report.trades)


def test_the_page_carries_plotly_inline_once_and_loads_nothing(replay):
    result, _, folder = replay

    page = (folder / "report.html").read_text()

    assert page.count("plotly.js v") == 1  # the bundle's banner: inline, once
    assert page.count('class="plotly-graph-div"') >= 5
    assert '<script src="http' not in page and not re.search(r"<script[^>]*\bsrc=", page)
    assert "<img" not in page
    headings = ("Trade statistics", "Equity", "Drawdown", "Trades on price", "Exposure",
                "Monthly and yearly returns", "Trades", "Per symbol", "Breaker trips")  # fmt: skip
    for heading in headings:
        assert f"<h2>{heading}</h2>" in page
    for trade in result.report.trades:
        assert f"<td>{trade.entry_time[:16]}</td><td>{trade.exit_time[:16]}</td>" in page


def test_signs_only_where_a_sign_is_meant(replay):
    page = render_html(replay[0])

    for row in ("Max drawdown", "Volatility (annual)", "Win rate", "Exposure"):
        cells = re.search(rf"<tr><td>{re.escape(row)}</td>(.*?)</tr>", page).group(1)
        assert "+" not in cells and "-" not in cells
    fee_drag = re.search(r"<td>Fee drag[^<]*</td><td>([^<]*)</td>", page).group(1)
    assert fee_drag[0].isdigit()


def test_a_long_trade_list_is_capped_on_the_page_and_says_where_the_rest_is(replay):
    result, _, _ = replay
    many = result.report.trades[:1] * (MAX_TRADE_ROWS + 7)
    long = dataclasses.replace(result, report=result.report.model_copy(update={"trades": many}))

    table = trades_table(long)

    assert table.count("<tr>") == 1 + MAX_TRADE_ROWS
    assert "7 more trades in trades.csv and report.json" in table


def test_trades_csv_beside_the_report_reads_back_as_the_json_rows(replay):
    result, _, folder = replay

    rows = list(csv.DictReader(io.StringIO((folder / "trades.csv").read_text())))

    assert [TradeRow.model_validate(r) for r in rows] == result.report.trades


def test_the_determinism_root_is_over_the_traces_alone(replay):
    result, recorder, _ = replay

    assert result.report.determinism.trace_root_hash == trace_root_hash(recorder.traces)
    assert result.report.schema_version == 2
