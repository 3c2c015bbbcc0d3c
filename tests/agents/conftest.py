import pytest

from core.types import Brief, Features, Regime, TradingState


@pytest.fixture
def uptrend_features() -> Features:
    return Features(
        ts=0,
        close=100.0,
        ready=True,
        rsi_14=62.0,
        ema_fast=101.0,
        ema_slow=98.0,
        atr_14=1.0,
        adx_14=32.0,
        macd_hist=0.4,
        volume_z=0.5,
        regime=Regime.TREND_UP,
    )


@pytest.fixture
def make_brief(uptrend_features):
    def build(**changes) -> Brief:
        values = dict(
            symbol="SYN/USDT",
            now_ms=0,
            price=100.0,
            synthetic=True,
            features=uptrend_features,
            position_quantity=0.0,
            position_avg_price=0.0,
            position_stop=None,
            cash=10_000.0,
            equity=10_000.0,
            trading_state=TradingState.ACTIVE,
            max_buy_fraction=0.5,
            min_confidence=0.6,
        )
        values.update(changes)
        return Brief(**values)

    return build
