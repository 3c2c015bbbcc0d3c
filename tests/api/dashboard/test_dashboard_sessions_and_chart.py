"""The dashboard's session store (idle expiry, logout, a bounded number) and its equity chart
(thinned to at most 1,000 points, buy-and-hold from the same start, drawdown from the peak)."""

from __future__ import annotations

import re

import pytest

from api.dashboard import sessions as session_module
from api.dashboard.charts import MAX_POINTS, equity_series, equity_svg
from api.dashboard.sessions import DashboardSessions
from memory.decision_index import DecisionRow


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_session_ends_after_twelve_idle_hours_and_each_use_starts_them_again() -> None:
    clock = Clock()
    sessions = DashboardSessions(clock=clock)
    session_id = sessions.open("tg_token")

    clock.now = 11 * 3600
    used = sessions.token_of(session_id)
    clock.now = 22 * 3600
    still = sessions.token_of(session_id)
    clock.now = 34 * 3600 + 1
    expired = sessions.token_of(session_id)

    assert (used, still, expired) == ("tg_token", "tg_token", None)


def test_session_ids_are_random_32_byte_values_and_logout_forgets_one() -> None:
    sessions = DashboardSessions()
    first, second = sessions.open("tg_a"), sessions.open("tg_a")

    sessions.close(first)

    assert first != second and len(first) == 43 and "tg_a" not in first
    assert (sessions.token_of(first), sessions.token_of(second)) == (None, "tg_a")


def test_past_the_bound_the_least_recently_used_session_is_ended(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(session_module, "MAX_SESSIONS", 2)
    clock = Clock()
    sessions = DashboardSessions(clock=clock)
    oldest = sessions.open("tg_1")
    clock.now = 1
    kept = sessions.open("tg_2")
    clock.now = 2
    newest = sessions.open("tg_3")

    assert [sessions.token_of(s) for s in (oldest, kept, newest)] == [None, "tg_2", "tg_3"]


def rows(closes: list[float], equities: list[float]) -> list[DecisionRow]:
    return [
        DecisionRow(
            ts=i * 3_600_000,
            run_id="r",
            seq=i,
            symbol="BTC/USDT",
            action="HOLD",
            verdict="hold",
            equity=equity,
            close=close,
        )
        for i, (close, equity) in enumerate(zip(closes, equities, strict=True))
    ]


def test_buy_and_hold_starts_at_the_starting_equity_and_follows_the_price() -> None:
    series = equity_series(rows([100.0, 110.0, 90.0], [1000.0, 1050.0, 945.0]))

    assert series.hold == (1000.0, 1100.0, 900.0)
    assert series.drawdown == (0.0, 0.0, (1050 - 945) / 1050)


def test_a_long_run_is_thinned_to_a_thousand_points_keeping_its_deepest_drawdown() -> None:
    count = 25_000
    equities = [1000.0 + (i % 500) for i in range(count)]
    equities[12_345] = 10.0
    series = equity_series(rows([100.0] * count, equities))

    assert len(series.times) <= MAX_POINTS and series.times[-1] == (count - 1) * 3_600_000
    assert series.max_drawdown == (1499.0 - 10.0) / 1499.0


def test_the_svg_has_the_three_paths_and_labelled_axes() -> None:
    svg = str(equity_svg(equity_series(rows([100.0, 120.0], [1000.0, 990.0])), "USDT"))

    assert [m for m in re.findall(r'<path class="([a-z-]+)"', svg)] == [
        "drawdown",
        "buy-and-hold",
        "equity",
    ]
    assert "1,200 USDT" in svg and "1970-01-01 00:00" in svg and "-1.0%" in svg


def test_buy_and_hold_of_several_symbols_splits_the_start_equally_cash_until_priced() -> None:
    traded = [
        DecisionRow(ts=i, run_id="r", seq=i, symbol=symbol, action="HOLD", verdict="hold",
                    equity=1000.0, close=close)
        for i, (symbol, close) in enumerate(
            [("BTC/USDT", 100.0), ("BTC/USDT", 110.0), ("ETH/USDT", 50.0), ("ETH/USDT", 60.0)]
        )
    ]  # fmt: skip

    hold = equity_series(traded).hold

    assert [round(value, 6) for value in hold] == [1000.0, 1050.0, 1050.0, 1150.0]
