"""The offline analyst as the cycle sees it: the Analyst port, and its memory loop."""

import pytest

from agents.base import Analyst, AnalystResult
from agents.offline import OfflineAnalyst
from core.types import Action, Features, RecalledSituation, Regime
from memory.lessons import Lesson, LessonMemory
from memory.situations import SituationMemory


def test_it_is_an_analyst_usable_without_arguments():
    analyst: Analyst = OfflineAnalyst()

    assert analyst.name == "offline"
    assert OfflineAnalyst.prompt_version == "offline-personas@1"
    assert OfflineAnalyst.model is None


def test_confirmed_uptrend_gets_a_buy_with_a_stop_below_and_a_readable_thesis(make_brief):
    result = OfflineAnalyst().propose(make_brief())
    proposal = result.proposal

    assert isinstance(result, AnalystResult) and result.error is None
    assert result.prompt_version == "offline-personas@1"
    assert proposal.action is Action.BUY
    assert proposal.stop_loss is not None and proposal.stop_loss < 100.0
    assert proposal.take_profit is not None and proposal.take_profit > 100.0
    assert 0 < proposal.size_fraction <= 0.5
    assert proposal.confidence >= 0.6
    assert "uptrend" in proposal.thesis and "ADX 32.0" in proposal.thesis
    assert "RSI 62" in proposal.thesis


def test_size_risks_about_one_percent_of_equity_at_the_stop(make_brief):
    proposal = OfflineAnalyst().propose(make_brief()).proposal

    loss_at_stop = proposal.size_fraction * (100.0 - proposal.stop_loss) / 100.0

    assert abs(loss_at_stop - 0.01) < 1e-3


def test_size_never_exceeds_the_headroom_in_the_brief(make_brief):
    proposal = OfflineAnalyst().propose(make_brief(max_buy_fraction=0.1)).proposal

    assert proposal.size_fraction <= 0.1


def test_warmup_is_a_hold(make_brief):
    brief = make_brief(features=Features(ts=0, close=100.0, ready=False))

    proposal = OfflineAnalyst().propose(brief).proposal

    assert proposal.action is Action.HOLD
    assert "warming up" in proposal.thesis


def test_downtrend_stands_aside(make_brief, uptrend_features):
    down = uptrend_features.model_copy(
        update={"regime": Regime.TREND_DOWN, "ema_fast": 97.0, "macd_hist": -0.3}
    )

    proposal = OfflineAnalyst().propose(make_brief(features=down)).proposal

    assert proposal.action is Action.HOLD
    assert "trend_down regime" in proposal.thesis


def test_crossed_stop_sells_the_whole_position(make_brief):
    brief = make_brief(position_quantity=2.0, position_avg_price=105.0, position_stop=101.0)

    proposal = OfflineAnalyst().propose(brief).proposal

    assert proposal.action is Action.SELL
    assert proposal.size_fraction == 1.0
    assert "stop" in proposal.thesis


def test_bad_outcomes_of_the_trend_persona_in_similar_situations_keep_it_out(make_brief):
    losers = tuple(
        RecalledSituation(
            id=f"s{i}",
            ts=i,
            similarity=0.9,
            forward_return=-0.03,
            max_adverse=-0.05,
            persona_returns={
                "conservative": 0.0,
                "balanced": -0.03,
                "aggressive": 0.0,
                "contrarian": 0.0,
            },
        )
        for i in range(5)
    )

    plain = OfflineAnalyst().propose(make_brief()).proposal
    warned = OfflineAnalyst().propose(make_brief(recalled=losers)).proposal

    assert plain.action is Action.BUY
    assert warned.action is Action.HOLD
    assert "balanced -3.00% over 5 similar" in warned.thesis


def test_same_brief_same_proposal(make_brief):
    assert OfflineAnalyst().propose(make_brief()) == OfflineAnalyst().propose(make_brief())


def test_weak_setup_below_the_minimum_confidence_is_a_hold(make_brief, uptrend_features):
    weak = uptrend_features.model_copy(update={"adx_14": 21.0, "volume_z": -1.0})

    proposal = OfflineAnalyst().propose(make_brief(features=weak)).proposal

    assert proposal.action is Action.HOLD
    assert "below the 0.60 minimum" in proposal.thesis


def test_stances_become_what_each_persona_would_have_earned(make_brief, request):
    """The loop the selector learns from: stances go into memory, and once the horizon has
    passed, recall brings back every persona's return (stance x forward return)."""
    memory = SituationMemory(None, horizons=(3,))
    features = request.getfixturevalue("strong_uptrend_features")
    result = OfflineAnalyst().propose(make_brief(features=features))
    memory.remember(
        id="s0",
        ts=0,
        vector=features.vector(),
        close=100.0,
        bars=1,
        stances=result.persona_stances,
    )
    for bars, close in ((2, 101.0), (3, 103.0), (4, 104.0)):
        memory.observe(bars=bars, close=close, low=close - 1.0, now_ms=bars)

    (recalled,) = memory.recall(features.vector(), 5)

    assert recalled.persona_returns == pytest.approx(
        {"conservative": 0.04, "balanced": 0.04, "aggressive": 0.04, "contrarian": 0.0}
    )


def test_a_lesson_weighs_in_only_once_it_was_written(make_brief, strong_uptrend_features):
    """Three losing balanced trades from entries like this one, written at t=10: a cycle at t=9
    decides as if they did not exist; at t=10 they pass the choice to the aggressive persona."""
    vector = strong_uptrend_features.vector()
    memory = LessonMemory(
        None,
        None,
        prior=[
            Lesson(
                id=f"lesson:{i}",
                written_at=10,
                symbol="SYN/USDT",
                text="entries like this did not pay their costs",
                author="summary",
                pnl_fraction=-0.05,
                situation_vector=vector,
                persona="balanced",
                pnl_atr=-5.0,
            )
            for i in range(3)
        ],
    )

    def decide(now_ms: int) -> str:
        memory.advance(now_ms)
        brief = make_brief(
            now_ms=now_ms, features=strong_uptrend_features, lessons=memory.recall(vector, 3)
        )
        return OfflineAnalyst().propose(brief).proposal.thesis

    before, at = decide(9), decide(10)

    assert before.startswith("[balanced, trend_up regime; no memory yet] balanced: enter long")
    assert at.startswith(
        "[aggressive over balanced (trend_up regime's pick); lessons: balanced -5.00 ATR over "
        "3 trades] aggressive: enter long"
    )
