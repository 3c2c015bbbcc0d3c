from agents.offline import OfflineAnalyst
from core.types import Action, Features, RecalledSituation, Regime


def test_confirmed_uptrend_gets_a_buy_with_a_stop_below_and_a_readable_thesis(make_brief):
    proposal = OfflineAnalyst().propose(make_brief()).proposal

    assert proposal.action is Action.BUY
    assert proposal.stop_loss is not None and proposal.stop_loss < 100.0
    assert proposal.take_profit is not None and proposal.take_profit > 100.0
    assert 0 < proposal.size_fraction <= 0.5
    assert proposal.confidence >= 0.6
    assert "uptrend" in proposal.thesis and "ADX 32.0" in proposal.thesis


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
    assert "downtrend" in proposal.thesis


def test_crossed_stop_sells_the_whole_position(make_brief):
    brief = make_brief(position_quantity=2.0, position_avg_price=105.0, position_stop=101.0)

    proposal = OfflineAnalyst().propose(brief).proposal

    assert proposal.action is Action.SELL
    assert proposal.size_fraction == 1.0
    assert "stop" in proposal.thesis


def test_bad_outcomes_of_similar_situations_lower_confidence(make_brief):
    losers = tuple(
        RecalledSituation(id=f"s{i}", ts=i, similarity=0.9, forward_return=-0.03, max_adverse=-0.05)
        for i in range(5)
    )

    plain = OfflineAnalyst().propose(make_brief()).proposal
    warned = OfflineAnalyst().propose(make_brief(recalled=losers)).proposal

    assert warned.confidence < plain.confidence
    assert "5 similar past situations averaged -3.00%" in warned.thesis


def test_same_brief_same_proposal(make_brief):
    assert OfflineAnalyst().propose(make_brief()) == OfflineAnalyst().propose(make_brief())


def test_weak_setup_below_the_minimum_confidence_is_a_hold(make_brief, uptrend_features):
    weak = uptrend_features.model_copy(update={"adx_14": 21.0, "volume_z": -1.0})

    proposal = OfflineAnalyst().propose(make_brief(features=weak)).proposal

    assert proposal.action is Action.HOLD
    assert "below the 0.60 minimum" in proposal.thesis
