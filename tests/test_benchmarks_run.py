"""The benchmark scripts still run against the current code (tiny sizes; nothing is timed)."""

import numpy as np
import pytest

from benchmarks.bench_analyst import request_economics
from benchmarks.bench_memory import bench_recall, bench_traces


def test_memory_benchmark_writes_traces_and_recalls(capsys):
    rate = bench_traces(40, 16)
    p50, p95 = bench_recall(300, 20, np.random.default_rng(1))

    assert rate > 0 and 0 < p50 <= p95
    assert "traces/s" in capsys.readouterr().out


@pytest.mark.slow
def test_analyst_benchmark_reads_every_scripted_cassette_and_says_they_are_scripted(capsys):
    requests, decisions, sent, prefix = request_economics()

    out = capsys.readouterr().out
    assert requests >= decisions > 0 and 0 < prefix < sent
    assert out.startswith("measured on SCRIPTED cassettes (tests/cassettes/anthropic/scripted)")
    assert "all scripted cassettes" in out


def test_reconcile_benchmark_settles_every_order_it_placed():
    from benchmarks.bench_reconcile import one_reconcile
    from tests.fake_exchange.plugin import recorded_markets

    recorded_markets()  # skips, saying why, without ../shared/fixtures

    seconds = one_reconcile(20)

    assert seconds > 0


def test_agent_benchmark_reads_memory_before_and_after(capsys):
    from benchmarks.bench_agent import memory

    memory(120)

    out = capsys.readouterr().out
    assert "after 100 cycles" in out and "after 120" in out and "wake-ups/s" in out


def test_portfolio_optimize_benchmark_builds_ten_assets_and_times_them():
    from benchmarks.bench_portfolio_optimize import MARKET, ten_assets, time_method
    from tools.portfolio import PortfolioCaps, PortfolioRequest

    if not MARKET.is_dir():
        pytest.skip(f"{MARKET} is absent: the benchmark reads a recording")
    closes = ten_assets(MARKET)

    times = time_method(
        closes,
        PortfolioRequest(method="hrp", lookback=500),
        PortfolioCaps(max_weight=0.15, max_gross=1.0),
        2,
    )

    assert closes.closes.shape[1] == 10 and len(times) == 2 and min(times) > 0


def test_chat_tools_benchmark_times_tools_the_desk_has(tmp_path):
    from benchmarks.bench_chat_tools import median_s, tool_calls
    from graphs.chat.desk import ChatDesk, chat_registry
    from tests.graphs.chat.conftest import desk_settings

    names = set(chat_registry(ChatDesk(desk_settings(tmp_path))).names())

    assert {name for name, _ in tool_calls()} <= names
    assert median_s(lambda: None, 3) >= 0


def test_chat_http_benchmark_times_each_kind_of_request(tmp_path):
    from benchmarks.bench_chat_http import measure

    timings = measure(tmp_path, 2)

    assert len(timings) == 4 and all(len(times) == 2 for times in timings.values())
    first = timings["model turn: request -> first event"]
    last = timings["model turn: request -> last event"]
    assert all(0 < f <= t for f, t in zip(first, last, strict=True))


def test_mcp_benchmark_times_the_calls_over_http(tmp_path):
    from benchmarks.bench_mcp import CALLS, over_http

    figures = over_http(tmp_path, rounds=1)

    assert set(figures) == {name for name, _ in CALLS} | {"propose_trade (once)"}
    assert all(seconds > 0 for seconds in figures.values())


def test_metrics_benchmark_scrapes_a_small_store(tmp_path):
    from benchmarks.bench_metrics import fill, scrape_times

    fill(tmp_path, 30)
    first, rest, size = scrape_times(tmp_path, 1)

    assert first > 0 and len(rest) == 1 and size > 0


def test_notify_benchmark_queues_without_waiting_on_a_receiver_that_is_down():
    from benchmarks.bench_notify import notify_latency

    median, p99 = notify_latency(200)

    assert 0 < median <= p99


@pytest.mark.slow
def test_dashboard_benchmark_times_the_server_and_reads_the_browsers_paint_timings(tmp_path):
    from benchmarks.bench_dashboard import CHROMIUM, first_paints, served, server_times
    from benchmarks.rest_store import build_store

    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is absent: `apt-get install chromium` (.ci/run does)")
    build_store(tmp_path, 20)
    screenshot = tmp_path / "dashboard.png"

    with served(tmp_path) as (url, token):
        times, size = server_times(url, token, 2)
        paints = first_paints(url, token, 2, screenshot)

    assert len(times) == 2 and all(seconds > 0 for seconds in times) and size > 0
    assert len(paints) == 2 and screenshot.stat().st_size > 0
    for paint in paints:
        assert 0 < paint["response_start"] <= paint["first_contentful_paint"]
        assert paint["dom_content_loaded"] > 0
