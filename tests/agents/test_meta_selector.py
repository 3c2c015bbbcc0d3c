"""The offline meta-selector: regime prior, memory and lesson evidence, stances, who manages a
position."""

import pytest

from agents.offline import OfflineAnalyst, choose, lesson_evidence, persona_evidence
from agents.personas import default_personas
from core.types import Action, Features, RecalledLesson, RecalledSituation, Regime

NAMES = ("conservative", "balanced", "aggressive", "contrarian")


def _recalled(n: int, **returns: float) -> tuple[RecalledSituation, ...]:
    """n similar past situations in which each named persona earned the given return."""
    return tuple(
        RecalledSituation(
            id=f"s{i}",
            ts=i,
            similarity=0.9,
            forward_return=0.0,
            max_adverse=0.0,
            persona_returns={name: returns.get(name, 0.0) for name in NAMES},
        )
        for i in range(n)
    )


def _lessons(persona: str, *pnl_atr: float, similarity: float = 0.9) -> tuple[RecalledLesson, ...]:
    """Recalled lessons of trades `persona` opened from similar entries, one per result."""
    return tuple(
        RecalledLesson(
            id=f"lesson:{persona}:{i}",
            written_at=i,
            symbol="SYN/USDT",
            similarity=similarity,
            text="a lesson",
            pnl_fraction=result / 100.0,
            persona=persona,
            pnl_atr=result,
        )
        for i, result in enumerate(pnl_atr)
    )


@pytest.mark.parametrize(
    ("fixture", "chosen", "action"),
    [
        ("uptrend_features", "balanced", Action.BUY),
        ("strong_uptrend_features", "balanced", Action.BUY),
        ("range_oversold_features", "contrarian", Action.BUY),
        ("early_momentum_features", "contrarian", Action.HOLD),
    ],
)
def test_without_memory_the_regime_picks_the_persona(fixture, chosen, action, make_brief, request):
    features = request.getfixturevalue(fixture)

    proposal = OfflineAnalyst().propose(make_brief(features=features)).proposal

    assert proposal.action is action
    assert proposal.thesis.startswith(f"[{chosen}, {features.regime} regime; no memory yet] ")
    assert f"] {chosen}: " in proposal.thesis


@pytest.mark.parametrize("regime", [Regime.TREND_DOWN, Regime.HIGH_VOLATILITY])
def test_downtrends_and_volatility_spikes_go_to_the_conservative_persona(
    regime, make_brief, uptrend_features
):
    features = uptrend_features.model_copy(update={"regime": regime, "ema_fast": 97.0})

    proposal = OfflineAnalyst().propose(make_brief(features=features)).proposal

    assert proposal.action is Action.HOLD
    assert proposal.thesis.startswith(f"[conservative, {regime} regime")


def test_memory_switches_to_the_persona_that_did_better_in_similar_situations(
    make_brief, strong_uptrend_features
):
    """Every trend persona wants in; memory says aggressive earned +6% here, balanced lost."""
    recalled = _recalled(5, balanced=-0.03, aggressive=0.06, conservative=-0.01)

    plain = OfflineAnalyst().propose(make_brief(features=strong_uptrend_features)).proposal
    switched = OfflineAnalyst().propose(
        make_brief(features=strong_uptrend_features, recalled=recalled)
    )

    assert plain.thesis.startswith("[balanced, trend_up regime")
    proposal = switched.proposal
    assert proposal.action is Action.BUY
    assert proposal.thesis.startswith(
        "[aggressive over balanced (trend_up regime's pick); memory: aggressive +6.00% over 5 "
        "similar, balanced -3.00% over 5 similar] aggressive: enter long"
    )
    assert proposal.stop_loss == pytest.approx(100.0 - 3.0 * strong_uptrend_features.atr_14)


def test_memory_of_losses_makes_the_selector_stand_aside(make_brief, uptrend_features):
    """Balanced lost 4% in each of 5 situations like this; a flat persona earned 0: stay out."""
    recalled = _recalled(5, balanced=-0.04)

    proposal = OfflineAnalyst().propose(make_brief(recalled=recalled)).proposal

    assert proposal.action is Action.HOLD
    assert "over balanced (trend_up regime's pick)" in proposal.thesis
    assert "balanced -4.00% over 5 similar" in proposal.thesis


def test_small_differences_in_memory_do_not_overrule_the_regime(make_brief, uptrend_features):
    recalled = _recalled(5, balanced=0.001, aggressive=0.004)

    proposal = OfflineAnalyst().propose(make_brief(recalled=recalled)).proposal

    assert proposal.thesis.startswith("[balanced, trend_up regime; memory: balanced +0.10% over 5")


def test_fewer_than_three_samples_say_nothing(make_brief):
    recalled = _recalled(2, balanced=-0.2)

    proposal = OfflineAnalyst().propose(make_brief(recalled=recalled)).proposal

    assert proposal.action is Action.BUY
    assert "no memory yet" in proposal.thesis


def test_situations_without_persona_returns_are_not_evidence():
    """Memory written by another analyst (no personas) carries no stance to score."""
    bare = tuple(
        RecalledSituation(id=f"s{i}", ts=i, similarity=0.9, forward_return=0.05, max_adverse=0.0)
        for i in range(5)
    )

    assert persona_evidence("balanced", bare) is None


def test_evidence_is_the_similarity_weighted_mean():
    recalled = (
        *_recalled(2, balanced=0.02),
        RecalledSituation(
            id="far",
            ts=9,
            similarity=0.3,
            forward_return=0.0,
            max_adverse=0.0,
            persona_returns={"balanced": -0.04},
        ),
    )

    found = persona_evidence("balanced", recalled)

    assert found is not None and found.samples == 3
    assert found.mean == pytest.approx((0.9 * 0.02 * 2 + 0.3 * -0.04) / 2.1)


def test_ties_go_to_the_first_persona_in_the_fixed_order():
    features = Features(ts=0, close=100.0, ready=True, atr_14=1.0, regime=Regime.WARMUP)

    choice = choose(default_personas(), features, ())

    assert choice.persona.name == "conservative"


def test_all_four_stances_are_recorded_every_ready_cycle(make_brief, request):
    expected = {
        "uptrend_features": {"balanced"},
        "strong_uptrend_features": {"conservative", "balanced", "aggressive"},
        "range_oversold_features": {"contrarian"},
        "early_momentum_features": {"aggressive"},
    }
    for fixture, longs in expected.items():
        features = request.getfixturevalue(fixture)
        for position in (0.0, 1.0):
            stances = (
                OfflineAnalyst()
                .propose(make_brief(features=features, position_quantity=position))
                .persona_stances
            )
            assert stances == {name: 1.0 if name in longs else 0.0 for name in NAMES}


def test_no_stances_while_warming_up(make_brief):
    result = OfflineAnalyst().propose(make_brief(features=Features(ts=0, close=1.0, ready=False)))

    assert result.persona_stances == {}
    assert result.proposal.action is Action.HOLD


def test_the_position_stays_with_the_persona_that_opened_it(make_brief, range_oversold_features):
    """Contrarian buys the dip; when price is back at the mean it sells, although the regime
    now favours another persona that would have held."""
    analyst = OfflineAnalyst()
    bought = analyst.propose(make_brief(features=range_oversold_features)).proposal
    at_mean = range_oversold_features.model_copy(
        update={
            "bb_position": 0.6,
            "rsi_14": 58.0,
            "ema_fast": 101.5,
            "ema_slow": 100.8,
            "macd_hist": 0.2,
            "regime": Regime.TREND_UP,
            "adx_14": 22.0,
        }
    )
    holding = make_brief(
        features=at_mean, position_quantity=1.0, position_avg_price=100.2, position_stop=98.0
    )

    sold = analyst.propose(holding).proposal

    assert bought.action is Action.BUY and analyst.opener == "contrarian"
    assert sold.action is Action.SELL
    assert sold.thesis.startswith("[contrarian, manages the position it opened] contrarian: exit")
    restarted = OfflineAnalyst().propose(holding).proposal
    assert restarted.action is Action.HOLD
    assert restarted.thesis.startswith("[balanced, opener unknown, default manager] balanced:")


def test_a_hold_while_flat_does_not_change_the_manager(make_brief, uptrend_features, request):
    analyst = OfflineAnalyst()
    analyst.propose(make_brief(features=uptrend_features))
    analyst.propose(make_brief(features=request.getfixturevalue("early_momentum_features")))

    assert analyst.opener == "balanced"


def test_same_briefs_in_the_same_order_give_the_same_proposals(make_brief, request):
    features = [
        request.getfixturevalue(name)
        for name in (
            "range_oversold_features",
            "early_momentum_features",
            "uptrend_features",
            "strong_uptrend_features",
        )
    ]
    briefs = [
        make_brief(features=f, recalled=_recalled(i + 2, aggressive=0.01 * i))
        for i, f in enumerate(features)
    ]
    briefs += [make_brief(features=f, position_quantity=1.0) for f in features]

    def run():
        analyst = OfflineAnalyst()
        return [analyst.propose(b) for b in briefs]

    assert run() == run()


def test_losing_lessons_in_similar_entries_score_their_persona_lower(strong_uptrend_features):
    """Every trend persona wants in; balanced's own trades from entries like this lost about
    5 ATRs each (3 x 5 / 23 = 0.65 takes balanced under aggressive's prior)."""
    lessons = _lessons("balanced", -5.0, -4.0, -6.0)

    plain = choose(default_personas(), strong_uptrend_features, ())
    taught = choose(default_personas(), strong_uptrend_features, (), lessons)

    assert plain.persona.name == "balanced"
    assert taught.persona.name == "aggressive"
    assert taught.lessons["balanced"].samples == 3
    assert taught.lessons["balanced"].mean == pytest.approx(-5.0)


def test_the_thesis_says_when_lessons_weighed_in(make_brief, strong_uptrend_features):
    brief = make_brief(
        features=strong_uptrend_features, lessons=_lessons("balanced", -5.0, -4.0, -6.0)
    )

    result = OfflineAnalyst().propose(brief)

    assert result.proposal.action is Action.BUY
    assert result.persona == "aggressive"
    assert result.proposal.thesis.startswith(
        "[aggressive over balanced (trend_up regime's pick); lessons: balanced -5.00 ATR over "
        "3 trades] aggressive: enter long"
    )


def test_lessons_and_memory_are_both_named_when_both_weigh_in(make_brief):
    brief = make_brief(recalled=_recalled(5, balanced=0.01), lessons=_lessons("balanced", 1.5))

    proposal = OfflineAnalyst().propose(brief).proposal

    assert proposal.thesis.startswith(
        "[balanced, trend_up regime; memory: balanced +1.00% over 5 similar; "
        "lessons: balanced +1.50 ATR over 1 trade] balanced: enter long"
    )


def test_a_lesson_is_shrunk_like_memory_so_one_bad_trade_does_not_overrule_the_regime(
    strong_uptrend_features,
):
    """One stopped-out trade (-2 ATRs) weighs 2 x 1/21: not enough to pass over balanced."""
    choice = choose(default_personas(), strong_uptrend_features, (), _lessons("balanced", -2.0))

    assert choice.persona.name == "balanced"
    assert choice.lessons["balanced"].samples == 1


def test_winning_lessons_raise_their_persona(strong_uptrend_features):
    lessons = _lessons("aggressive", 3.0, 4.0, 5.0)

    choice = choose(default_personas(), strong_uptrend_features, (), lessons)

    assert choice.persona.name == "aggressive"


def test_lessons_without_a_persona_are_not_evidence():
    """Lessons of trades another analyst (Claude) opened name no persona."""
    foreign = _lessons("", -5.0, -5.0, -5.0)

    assert all(lesson_evidence(name, foreign) is None for name in NAMES)


def test_lesson_evidence_is_the_similarity_weighted_mean_of_that_personas_trades():
    lessons = (
        *_lessons("balanced", 2.0, similarity=0.9),
        *_lessons("balanced", -1.0, similarity=0.6),
        *_lessons("contrarian", -9.0),
    )

    found = lesson_evidence("balanced", lessons)

    assert found is not None and found.samples == 2
    assert found.mean == pytest.approx((0.9 * 2.0 + 0.6 * -1.0) / 1.5)


def test_the_result_names_the_persona_that_decided(make_brief, uptrend_features):
    analyst = OfflineAnalyst()

    entered = analyst.propose(make_brief())
    managing = analyst.propose(make_brief(position_quantity=1.0, position_avg_price=100.0))
    warming = analyst.propose(make_brief(features=Features(ts=0, close=1.0, ready=False)))

    assert entered.proposal.action is Action.BUY and entered.persona == "balanced"
    assert managing.persona == "balanced"
    assert warming.persona == ""


def test_same_briefs_with_lessons_give_the_same_proposals(make_brief, request):
    features = [
        request.getfixturevalue(name)
        for name in ("strong_uptrend_features", "range_oversold_features", "uptrend_features")
    ]
    briefs = [
        make_brief(
            features=f,
            recalled=_recalled(5, aggressive=0.01 * i),
            lessons=_lessons("balanced", -3.0 + i, 1.0) + _lessons("contrarian", -1.0 * i),
        )
        for i, f in enumerate(features)
    ]

    def run():
        analyst = OfflineAnalyst()
        return [analyst.propose(b) for b in briefs]

    first = run()
    assert first == run()
    assert any("lessons: " in r.proposal.thesis for r in first)
