"""Each offline persona: enters in its own setting, stands aside outside it, exits its own way."""

import pytest

from agents.personas import Aggressive, Balanced, Conservative, Contrarian, default_personas
from core.types import Action, Features, Regime, TradingState

SETTINGS = {
    "conservative": "strong_uptrend_features",
    "balanced": "uptrend_features",
    "aggressive": "early_momentum_features",
    "contrarian": "range_oversold_features",
}
"""The fixture holding each persona's own setting."""

FEATURE_WORDS = {
    "conservative": "ADX 40.0",
    "balanced": "ADX 32.0",
    "aggressive": "RSI 64",
    "contrarian": "RSI 28",
}


def _persona(name):
    return next(p for p in default_personas() if p.name == name)


@pytest.fixture
def downtrend_features(uptrend_features) -> Features:
    return uptrend_features.model_copy(
        update={
            "regime": Regime.TREND_DOWN,
            "ema_fast": 97.0,
            "macd_hist": -0.3,
            "rsi_14": 38.0,
            "return_24": -0.04,
        }
    )


@pytest.mark.parametrize("name", list(SETTINGS))
def test_each_persona_buys_in_its_own_setting_with_a_stop_a_target_and_a_thesis(
    name, make_brief, request
):
    features = request.getfixturevalue(SETTINGS[name])

    proposal = _persona(name).entry(make_brief(features=features))

    assert proposal.action is Action.BUY
    assert proposal.stop_loss is not None and proposal.stop_loss < features.close
    assert proposal.take_profit is not None and proposal.take_profit > features.close
    assert 0 < proposal.size_fraction <= 0.5
    assert proposal.confidence >= 0.6
    assert proposal.thesis.startswith(f"{name}: enter long")
    assert FEATURE_WORDS[name] in proposal.thesis


@pytest.mark.parametrize(
    ("name", "elsewhere"),
    [
        ("conservative", "uptrend_features"),  # ADX 32 and the close below EMA12: not enough
        ("conservative", "range_oversold_features"),
        ("balanced", "early_momentum_features"),
        ("balanced", "range_oversold_features"),
        ("aggressive", "range_oversold_features"),
        ("aggressive", "downtrend_features"),
        ("contrarian", "strong_uptrend_features"),
        ("contrarian", "early_momentum_features"),
        ("contrarian", "downtrend_features"),
    ],
)
def test_each_persona_stands_aside_outside_its_setting(name, elsewhere, make_brief, request):
    features = request.getfixturevalue(elsewhere)
    persona = _persona(name)

    proposal = persona.entry(make_brief(features=features))

    assert proposal.action is Action.HOLD
    assert proposal.thesis.startswith(f"{name}: stand aside")
    assert not persona.wants_long(features)


@pytest.mark.parametrize("fixture", [*SETTINGS.values(), "downtrend_features"])
@pytest.mark.parametrize("headroom", [0.5, 0.1, 0.003])
def test_every_buy_has_a_stop_below_the_price_and_fits_the_headroom(
    fixture, headroom, make_brief, request
):
    brief = make_brief(features=request.getfixturevalue(fixture), max_buy_fraction=headroom)

    for persona in default_personas():
        proposal = persona.entry(brief)
        if proposal.action is Action.BUY:
            assert 0 < proposal.stop_loss < brief.price
            assert proposal.take_profit > brief.price
            assert proposal.size_fraction <= headroom


@pytest.mark.parametrize(
    ("persona", "fixture", "risk"),
    [
        (Conservative(), "strong_uptrend_features", 0.005),
        (Balanced(), "uptrend_features", 0.01),
        (Aggressive(), "early_momentum_features", 0.01),
        (Contrarian(), "range_oversold_features", 0.0075),
    ],
)
def test_size_risks_the_personas_share_of_equity_at_the_stop(
    persona, fixture, risk, make_brief, request
):
    brief = make_brief(features=request.getfixturevalue(fixture), max_buy_fraction=1.0)

    proposal = persona.entry(brief)
    loss_at_stop = proposal.size_fraction * (100.0 - proposal.stop_loss) / 100.0

    assert loss_at_stop == pytest.approx(risk, abs=1e-4)


def test_stances_are_the_entry_setups(make_brief, request):
    for name, fixture in SETTINGS.items():
        features = request.getfixturevalue(fixture)
        wanting = {p.name for p in default_personas() if p.wants_long(features)}
        assert name in wanting
        for persona in default_personas():
            bought = persona.entry(make_brief(features=features)).action is Action.BUY
            assert bought == (persona.name in wanting)


def test_below_the_minimum_confidence_is_a_hold_with_the_reason(make_brief, request):
    for name, fixture in SETTINGS.items():
        brief = make_brief(features=request.getfixturevalue(fixture), min_confidence=0.99)

        proposal = _persona(name).entry(brief)

        assert proposal.action is Action.HOLD
        assert "below the 0.99 minimum" in proposal.thesis


def test_no_entries_unless_trading_is_active(make_brief, strong_uptrend_features):
    brief = make_brief(
        features=strong_uptrend_features,
        trading_state=TradingState.REDUCING,
        breaker_reasons=("drawdown 10.2%: exits only",),
    )

    for persona in default_personas():
        proposal = persona.entry(brief)
        assert proposal.action is Action.HOLD
        assert "no entries while trading is REDUCING (drawdown 10.2%" in proposal.thesis


def test_warmup_is_a_hold_for_every_persona(make_brief):
    brief = make_brief(features=Features(ts=0, close=100.0, ready=False))

    for persona in default_personas():
        assert persona.entry(brief).action is Action.HOLD
        assert not persona.wants_long(brief.features)


@pytest.mark.parametrize(("timeframe", "trades"), [("1m", False), ("5m", False), ("1h", True)])
def test_candles_shorter_than_an_hour_are_not_traded(
    timeframe, trades, make_brief, uptrend_features
):
    proposal = Balanced().entry(make_brief(features=uptrend_features, timeframe=timeframe))

    assert (proposal.action is Action.BUY) == trades
    if not trades:
        assert f"{timeframe} candles are too short" in proposal.thesis


def test_a_stop_too_close_to_pay_the_round_trip_is_a_hold(make_brief, uptrend_features):
    calm = uptrend_features.model_copy(update={"atr_14": 0.1})

    proposal = Balanced().entry(make_brief(features=calm))

    assert proposal.action is Action.HOLD
    assert "round trip would eat" in proposal.thesis


@pytest.mark.parametrize("persona", default_personas(), ids=lambda p: p.name)
def test_a_crossed_stop_sells_everything(persona, make_brief, uptrend_features):
    brief = make_brief(
        features=uptrend_features,
        position_quantity=2.0,
        position_avg_price=105.0,
        position_stop=101.0,
    )

    proposal = persona.exit(brief)

    assert proposal.action is Action.SELL
    assert proposal.size_fraction == 1.0
    assert proposal.thesis.startswith(f"{persona.name}: exit: close 100.00 crossed the stop")


def test_a_trend_break_ends_balanced_but_not_aggressive_while_price_holds_the_slow_ema(
    make_brief, uptrend_features
):
    """Aggressive exits only on a real break (close under EMA48); balanced already leaves."""
    crossing = uptrend_features.model_copy(
        update={"ema_fast": 99.0, "ema_slow": 99.5, "macd_hist": -0.2, "regime": Regime.RANGE}
    )
    brief = make_brief(
        features=crossing, position_quantity=1.0, position_avg_price=98.0, position_stop=95.0
    )

    assert Balanced().exit(brief).action is Action.SELL
    assert Aggressive().exit(brief).action is Action.HOLD
    broken = crossing.model_copy(update={"close": 99.0})
    assert Aggressive().exit(make_brief(features=broken, position_quantity=1.0)).action is (
        Action.SELL
    )


def test_conservative_takes_its_target_and_leaves_when_momentum_fades(
    make_brief, strong_uptrend_features
):
    at_target = make_brief(
        features=strong_uptrend_features, position_quantity=1.0, position_avg_price=96.5
    )
    fading = make_brief(
        features=strong_uptrend_features.model_copy(update={"macd_hist": -0.1, "close": 99.0}),
        position_quantity=1.0,
        position_avg_price=98.5,
    )
    riding = make_brief(
        features=strong_uptrend_features, position_quantity=1.0, position_avg_price=99.0
    )

    assert "target reached" in Conservative().exit(at_target).thesis
    assert "momentum fading" in Conservative().exit(fading).thesis
    assert Conservative().exit(riding).action is Action.HOLD
    assert Balanced().exit(at_target).action is Action.HOLD


def test_contrarian_sells_back_at_the_mean(make_brief, range_oversold_features):
    recovered = range_oversold_features.model_copy(update={"bb_position": 0.55, "rsi_14": 49.0})
    still_low = range_oversold_features.model_copy(update={"bb_position": 0.3, "rsi_14": 41.0})

    sold = Contrarian().exit(make_brief(features=recovered, position_quantity=1.0))
    kept = Contrarian().exit(make_brief(features=still_low, position_quantity=1.0))

    assert sold.action is Action.SELL and "back at the mean: Bollinger position 0.55" in sold.thesis
    assert kept.action is Action.HOLD and "waiting for the mean" in kept.thesis


def test_a_big_open_gain_is_locked_in_once_the_account_is_in_a_drawdown_stage(
    make_brief, uptrend_features
):
    """60 units bought at 90 hold 600 of 10,000 in open profit: sold before a give-back."""
    holding = dict(
        features=uptrend_features, position_quantity=60.0, position_avg_price=90.0, equity=10_000.0
    )

    calm = Balanced().exit(make_brief(**holding))
    cut = Balanced().exit(make_brief(**holding, size_multiplier=0.5))

    assert calm.action is Action.HOLD
    assert cut.action is Action.SELL and "lock in the gain" in cut.thesis
