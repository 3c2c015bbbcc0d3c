import numpy as np
import pytest
from pydantic import ValidationError

from core.market.history import MarketHistory
from core.market.series import CandleSeries
from tests.support import HOUR_MS, T0, history_of, info, series_from_closes
from tools.backtest import Hypothesis, quick_backtest

CLOSES = [
    100, 101, 103, 106, 104, 101, 98, 96, 97, 100, 104, 108, 111, 109, 105,
    100, 97, 95, 96, 99, 103, 107, 110, 112, 108, 103, 99, 96, 98, 102,
]  # fmt: skip


def _gapped(closes: list[float]) -> CandleSeries:
    """Candles whose open is away from the previous close, so next-open fills are visible."""
    close = np.asarray(closes, dtype=np.float64)
    gaps = np.where(np.arange(len(close)) % 2 == 1, 0.5, -0.7)
    open_ = np.concatenate(([close[0]], close[:-1] + gaps[:-1]))
    return CandleSeries(
        ts=T0 + HOUR_MS * np.arange(len(close), dtype=np.int64),
        open=open_,
        high=np.maximum(open_, close) + 1.0,
        low=np.minimum(open_, close) - 1.0,
        close=close,
        volume=np.full(len(close), 10.0),
    )


def _ema(values: list[float], period: int) -> list[float | None]:
    """TA-Lib's EMA: seeded with the simple mean of the first `period` values."""
    out: list[float | None] = [None] * len(values)
    k = 2 / (period + 1)
    previous = sum(values[:period]) / period
    out[period - 1] = previous
    for i in range(period, len(values)):
        previous = k * values[i] + (1 - k) * previous
        out[i] = previous
    return out


def _loop_ema_cross(
    open_: list[float], close: list[float], fast: int, slow: int, fee: float, slip_bps: float
) -> tuple[list[float], float, float, float]:
    """Reference: trade returns, total return, max drawdown and exposure, one candle at a time,
    filled as the paper broker fills (next open, slippage against the trade, fee on the
    notional, buy sized so that cost plus fee is the cash)."""
    ema_fast, ema_slow = _ema(close, fast), _ema(close, slow)
    slip = slip_bps / 10_000
    cash, units, paid = 1.0, 0.0, 0.0
    trades: list[float] = []
    in_market, peak, drawdown = 0, 1.0, 0.0
    for i in range(len(close)):
        if i > 0:
            f, s = ema_fast[i - 1], ema_slow[i - 1]
            want = f is not None and s is not None and f > s
            if want and units == 0:
                price = open_[i] * (1 + slip)
                units, paid, cash = cash / (price * (1 + fee)), cash, 0.0
            elif not want and units > 0:
                price = open_[i] * (1 - slip)
                cash, units = units * price - units * price * fee, 0.0
                trades.append(cash / paid - 1)
        in_market += units > 0
        equity = cash + units * close[i]
        peak = max(peak, equity)
        drawdown = max(drawdown, 1 - equity / peak)
    return trades, cash + units * close[-1] - 1, drawdown, in_market / len(close)


def _walk(n: int, seed: int, drift: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 100 * np.exp(np.cumsum(drift + 0.01 * rng.standard_normal(n)))


def test_ema_cross_matches_a_plain_loop_that_fills_like_the_paper_broker():
    series = _gapped(CLOSES)
    hypothesis = Hypothesis(rule="ema_cross", fast=2, slow=5, fee_rate=0.002, slippage_bps=20)
    trades, total, drawdown, exposure = _loop_ema_cross(
        series.open.tolist(), series.close.tolist(), 2, 5, 0.002, 20
    )

    result = quick_backtest(history_of(series), hypothesis)

    assert len(trades) >= 2
    assert result.trades == len(trades)
    assert result.win_rate == pytest.approx(sum(r > 0 for r in trades) / len(trades), abs=1e-4)
    assert result.total_return == pytest.approx(total, abs=1e-6)
    assert result.max_drawdown == pytest.approx(drawdown, abs=1e-6)
    assert result.exposure == pytest.approx(exposure, abs=1e-4)
    assert result.bars == len(CLOSES)


def test_signal_on_the_last_candle_is_not_filled():
    history = history_of(series_from_closes([100.0] * 40 + [105.0]))

    result = quick_backtest(history, Hypothesis(rule="breakout", breakout_bars=10))

    assert result.last_signal == "long"
    assert result.trades == 0
    assert result.exposure == 0.0
    assert result.total_return == 0.0


def test_signal_one_candle_before_the_last_fills_at_the_last_open():
    history = history_of(series_from_closes([100.0] * 40 + [105.0, 106.0]))

    result = quick_backtest(
        history, Hypothesis(rule="breakout", breakout_bars=10, fee_rate=0, slippage_bps=0)
    )

    assert result.exposure == pytest.approx(1 / 42, abs=1e-4)
    assert result.total_return == pytest.approx(106.0 / 105.0 - 1, abs=1e-6)
    assert result.trades == 0


@pytest.mark.parametrize("rule", ["ema_cross", "rsi_reversion", "breakout"])
def test_result_at_t_is_the_same_whatever_came_later(rule: str):
    past = _walk(900, seed=11)
    boom = np.concatenate([past, past[-1] * np.exp(np.linspace(0, 1, 300))])
    crash = np.concatenate([past, past[-1] * np.exp(np.linspace(0, -1, 300))])
    hypothesis = Hypothesis(rule=rule, fast=8, slow=30, breakout_bars=20, lookback_bars=500)
    seen: list[object] = []
    for closes in (boom, crash):
        replayed = MarketHistory(info())
        series = series_from_closes(closes)
        for i in range(len(series)):
            replayed.append(series.candle(i))
            if i == 899:
                seen.append(quick_backtest(replayed, hypothesis))

    alone = quick_backtest(history_of(series_from_closes(past)), hypothesis)

    assert seen == [alone, alone]


def test_rule_long_over_the_whole_window_earns_buy_and_hold():
    history = history_of(series_from_closes(100 * np.exp(0.002 * np.arange(400))))
    hypothesis = Hypothesis(rule="ema_cross", fast=5, slow=20, lookback_bars=100)

    result = quick_backtest(history, hypothesis)

    assert result.bars == 100
    assert result.note is None
    assert result.exposure == pytest.approx(0.99)
    assert result.total_return == pytest.approx(result.buy_and_hold_return, abs=1e-6)
    assert result.max_drawdown == 0.0


def test_rsi_reversion_buys_dips_and_sells_recoveries_in_a_range():
    closes = 100 + 8 * np.sin(np.arange(600) / 6)
    history = history_of(series_from_closes(closes))

    result = quick_backtest(history, Hypothesis(rule="rsi_reversion", lookback_bars=500))

    assert result.trades >= 5
    assert result.win_rate == 1.0
    assert result.total_return > 0


def test_too_little_history_gives_no_trades_and_a_note():
    history = history_of(series_from_closes(list(np.linspace(100, 110, 20))))

    result = quick_backtest(history, Hypothesis(rule="ema_cross"))

    assert result.trades == 0
    assert result.bars == 20
    assert result.note is not None and "needs 49 closed candles, have 20" in result.note


def test_hypothesis_accepts_the_models_json():
    hypothesis = Hypothesis.model_validate_json('{"rule": "breakout", "breakout_bars": 48}')

    assert hypothesis.breakout_bars == 48
    assert hypothesis.lookback_bars == 1000


@pytest.mark.parametrize(
    "payload",
    [
        {"rule": "ema_cross", "fast": 20, "slow": 20},
        {"rule": "ema_cross", "fast": 1},
        {"rule": "rsi_reversion", "rsi_buy": 50, "rsi_sell": 45},
        {"rule": "rsi_reversion", "rsi_buy": float("nan")},
        {"rule": "breakout", "lookback_bars": 50_000},
        {"rule": "breakout", "fee_rate": 0.05},
        {"rule": "momentum"},
        {"rule": "ema_cross", "leverage": 3},
    ],
)
def test_hypothesis_out_of_bounds_or_unknown_is_refused(payload: dict[str, object]):
    with pytest.raises(ValidationError):
        Hypothesis.model_validate(payload)
