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


@pytest.fixture
def range_oversold_features() -> Features:
    """A quiet range with an oversold bounce off the lower band: the contrarian's setting."""
    return Features(
        ts=0,
        close=100.0,
        ready=True,
        return_1=0.004,
        rsi_14=28.0,
        ema_fast=100.5,
        ema_slow=101.0,
        atr_14=1.0,
        adx_14=15.0,
        macd_hist=-0.1,
        bb_position=0.08,
        volume_z=0.3,
        regime=Regime.RANGE,
    )


@pytest.fixture
def early_momentum_features() -> Features:
    """Momentum before ADX confirms a trend (range regime): only the aggressive persona's."""
    return Features(
        ts=0,
        close=100.0,
        ready=True,
        return_24=0.03,
        rsi_14=64.0,
        ema_fast=99.0,
        ema_slow=97.5,
        atr_14=1.0,
        adx_14=16.0,
        macd_hist=0.35,
        bb_position=0.85,
        volume_z=1.0,
        regime=Regime.RANGE,
    )


@pytest.fixture
def strong_uptrend_features(uptrend_features) -> Features:
    """A strong, clean uptrend every trend persona wants (the conservative included)."""
    return uptrend_features.model_copy(
        update={"adx_14": 40.0, "ema_fast": 99.5, "return_24": 0.02, "bb_position": 0.75}
    )
