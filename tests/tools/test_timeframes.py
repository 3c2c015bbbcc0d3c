import json

import numpy as np
import pytest
from pydantic import ValidationError

from core.market.history import MarketHistory
from core.market.series import CandleSeries
from core.types import Regime
from tests.support import HOUR_MS, T0, history_of, info, series_from_closes
from tools.timeframes import TimeframeQuery, higher_timeframe_view, resample_closed

DAY_MS = 24 * HOUR_MS


def _walk(n: int, seed: int = 5, drift: float = 0.0005) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 100 * np.exp(np.cumsum(drift + 0.01 * rng.standard_normal(n)))


def _daily(n: int, start: int) -> CandleSeries:
    close = _walk(n)
    return CandleSeries(
        ts=start + DAY_MS * np.arange(n, dtype=np.int64),
        open=close * 0.99,
        high=close * 1.02,
        low=close * 0.97,
        close=close,
        volume=np.full(n, 5.0),
    )


def test_four_hour_bars_aggregate_open_high_low_close_and_volume_of_their_hours():
    hourly = series_from_closes([10.0, 12.0, 9.0, 11.0, 11.5, 13.0, 12.5, 14.0])
    history = history_of(hourly)

    bars = resample_closed(history, "4h")

    assert bars.ts.tolist() == [T0, T0 + 4 * HOUR_MS]
    assert bars.open.tolist() == [hourly.open[0], hourly.open[4]]
    assert bars.high.tolist() == [hourly.high[:4].max(), hourly.high[4:].max()]
    assert bars.low.tolist() == [hourly.low[:4].min(), hourly.low[4:].min()]
    assert bars.close.tolist() == [11.0, 14.0]
    assert bars.volume.tolist() == [40.0, 40.0]


def test_bucket_still_forming_is_left_out_until_its_last_candle_has_closed():
    hourly = series_from_closes(list(np.linspace(100, 120, 12)))

    forming = resample_closed(history_of(hourly.window(0, 11)), "4h")
    complete = resample_closed(history_of(hourly), "4h")

    assert forming.ts.tolist() == [T0, T0 + 4 * HOUR_MS]
    assert complete.ts.tolist() == [T0, T0 + 4 * HOUR_MS, T0 + 8 * HOUR_MS]


def test_bucket_the_history_starts_inside_is_left_out():
    hourly = series_from_closes(list(np.linspace(100, 120, 12)))

    bars = resample_closed(history_of(hourly.window(1, 12)), "4h")

    assert bars.ts.tolist() == [T0 + 4 * HOUR_MS, T0 + 8 * HOUR_MS]
    assert bars.open[0] == hourly.open[4]


def test_weekly_bars_open_on_monday_like_exchange_candles():
    daily = _daily(24, start=T0 - 4 * DAY_MS)  # Thursday 2023-12-28
    history = history_of(daily, info(timeframe="1d"))

    bars = resample_closed(history, "1w")

    assert bars.ts.tolist() == [T0, T0 + 7 * DAY_MS]  # Mondays 2024-01-01 and 01-08
    assert bars.close.tolist() == [daily.close[10], daily.close[17]]


def test_resampled_bars_at_t_are_exactly_the_complete_bars_of_a_longer_history():
    hourly = series_from_closes(_walk(1500))
    full = resample_closed(history_of(hourly), "4h", limit=10_000)

    for cut in (401, 402, 403, 404, 777):
        now = int(hourly.ts[cut - 1]) + HOUR_MS
        at_t = resample_closed(history_of(hourly.window(0, cut)), "4h", limit=10_000)

        complete = full.ts + 4 * HOUR_MS <= now
        assert at_t.ts.tolist() == full.ts[complete].tolist()
        assert at_t.close.tolist() == full.close[complete].tolist()
        assert at_t.high.tolist() == full.high[complete].tolist()


def test_view_at_t_is_the_same_during_a_long_replay_and_on_the_prefix_alone():
    hourly = series_from_closes(_walk(1500))
    replayed = MarketHistory(info())
    seen = {}
    for i in range(len(hourly)):
        replayed.append(hourly.candle(i))
        if i in (598, 599, 1201, 1499):
            seen[i] = higher_timeframe_view(replayed, "4h")

    for i, view in seen.items():
        assert higher_timeframe_view(history_of(hourly.window(0, i + 1)), "4h") == view


def test_view_never_shows_the_four_hour_bar_still_forming():
    closes = _walk(1003)
    closes[-3:] = closes[-4] * 1.5  # a spike inside the bar that is still forming
    history = history_of(series_from_closes(closes))

    view = higher_timeframe_view(history, "4h")

    assert view.bar_open == "2024-02-11T12:00Z"  # hours 996..999, the last complete bar
    assert view.close == pytest.approx(closes[999], rel=1e-7)
    assert view.close != pytest.approx(closes[-1], rel=1e-3)


def test_view_reads_an_hourly_uptrend_as_a_four_hour_uptrend():
    history = history_of(series_from_closes(_walk(1200, drift=0.003)))

    view = higher_timeframe_view(history, "4h")

    assert view.ready
    assert view.bars == 250
    assert view.timeframe == "4h"
    assert view.regime is Regime.TREND_UP
    assert view.ema_fast is not None and view.ema_slow is not None
    assert view.ema_fast > view.ema_slow
    assert view.note is None


def test_view_is_compact_json_with_rounded_numbers():
    history = history_of(series_from_closes(_walk(1200)))

    payload = json.loads(higher_timeframe_view(history, "4h").model_dump_json())

    assert len(payload) <= 16
    assert all(len(str(v)) <= 20 for v in payload.values())


def test_too_few_daily_bars_are_not_ready_and_say_why():
    history = history_of(series_from_closes(_walk(24 * 30)))

    view = higher_timeframe_view(history, "1d")

    assert view.ready is False
    assert view.bars == 30
    assert view.rsi_14 is None
    assert view.note is not None and "30 complete 1d bars" in view.note


def test_history_shorter_than_one_bar_gives_an_empty_view():
    history = history_of(series_from_closes([100.0, 101.0, 102.0]))

    view = higher_timeframe_view(history, "1d")

    assert view.bars == 0
    assert view.ready is False
    assert view.bar_open is None


@pytest.mark.parametrize(
    ("base", "timeframe", "reason"),
    [
        ("1h", "30m", "not higher"),
        ("1h", "1h", "not higher"),
        ("4h", "6h", "whole multiple"),
        ("1h", "5h", "unknown timeframe"),
        ("1h", "1M", "unknown timeframe"),
        ("1h", "2w", "unknown timeframe"),
        ("1h", "four hours", "unknown timeframe"),
    ],
)
def test_timeframe_that_cannot_be_built_from_the_history_is_refused(
    base: str, timeframe: str, reason: str
):
    history = history_of(series_from_closes([100.0] * 10), info(timeframe=base))

    with pytest.raises(ValueError, match=reason):
        higher_timeframe_view(history, timeframe)


def test_query_accepts_a_ccxt_timeframe_and_refuses_anything_else():
    assert TimeframeQuery.model_validate_json('{"timeframe": "4h"}').timeframe == "4h"
    with pytest.raises(ValidationError):
        TimeframeQuery.model_validate_json('{"timeframe": "7h"}')
    with pytest.raises(ValidationError):
        TimeframeQuery.model_validate_json('{"timeframe": "4h", "at": "2030-01-01"}')
