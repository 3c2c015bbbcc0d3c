"""Situation memory: point-in-time recall, outcomes per horizon, memory across runs."""

import pytest

from core.types import MarketInfo
from memory.situations import (
    SituationMemory,
    StoredSituation,
    load_situations,
    market_key,
    situation_id,
)
from memory.store import open_chroma, vector_collection

HOUR = 3_600_000


def _feed(memory: SituationMemory, closes: list[float], vector=(1.0, 0.0), first_bar: int = 1):
    """One candle per close (low 1% under it), one situation remembered per candle."""
    for bars, close in enumerate(closes, start=first_bar):
        memory.observe(bars=bars, close=close, low=close * 0.99, now_ms=bars * HOUR)
        memory.remember(id=f"s{bars}", ts=bars * HOUR, vector=list(vector), close=close, bars=bars)


def test_outcome_is_invisible_one_candle_before_its_horizon():
    memory = SituationMemory(None)

    _feed(memory, [100.0] * 24)

    assert memory.recall([1.0, 0.0], k=5) == ()


def test_outcome_becomes_recallable_exactly_at_its_horizon():
    memory = SituationMemory(None)
    _feed(memory, [100.0] * 24)

    memory.observe(bars=25, close=110.0, low=109.0, now_ms=25 * HOUR)
    recalled = memory.recall([1.0, 0.0], k=5)

    assert [r.id for r in recalled] == ["s1"]
    assert recalled[0].forward_return == pytest.approx(0.10)
    assert recalled[0].max_adverse == pytest.approx(-0.01)
    assert recalled[0].known_at == 25 * HOUR


def test_outcomes_are_read_after_1_6_and_24_candles():
    memory = SituationMemory(None)
    closes = [100.0, 101.0, 99.0, 98.0, 102.0, 103.0, 104.0] + [105.0] * 18
    lows = {3: 97.0}  # the 3rd candle after the situation dips to 97
    memory.remember(id="s0", ts=0, vector=[1.0, 0.0], close=100.0, bars=0)

    for bars, close in enumerate(closes[1:], start=1):
        low = lows.get(bars, close)
        memory.observe(bars=bars, close=close, low=low, now_ms=bars * HOUR)

    (recalled,) = memory.recall([1.0, 0.0], k=1)
    by_horizon = {h.candles: h for h in recalled.horizons}
    assert sorted(by_horizon) == [1, 6, 24]
    assert by_horizon[1].forward_return == pytest.approx(0.01)
    assert by_horizon[1].max_adverse == 0.0
    assert by_horizon[6].forward_return == pytest.approx(0.04)
    assert by_horizon[6].max_adverse == pytest.approx(-0.03)
    assert by_horizon[24].forward_return == pytest.approx(0.05)
    assert recalled.forward_return == by_horizon[24].forward_return


def test_recall_ranks_by_cosine_similarity():
    memory = SituationMemory(None, horizons=(1,))
    memory.remember(id="up", ts=1, vector=[1.0, 0.0], close=100.0, bars=1)
    memory.remember(id="down", ts=2, vector=[-1.0, 0.0], close=100.0, bars=1)
    memory.remember(id="side", ts=3, vector=[0.0, 1.0], close=100.0, bars=1)
    memory.observe(bars=2, close=101.0, low=100.0, now_ms=2)

    recalled = memory.recall([0.9, 0.1], k=2)

    assert [r.id for r in recalled] == ["up", "side"]
    assert recalled[0].similarity > recalled[1].similarity


def test_recall_is_identical_when_replayed_twice():
    closes = [100.0 + (i % 7) for i in range(80)]
    first, second = SituationMemory(None, horizons=(5,)), SituationMemory(None, horizons=(5,))

    _feed(first, closes, vector=(0.3, 0.7))
    _feed(second, closes, vector=(0.3, 0.7))

    assert first.recall([0.3, 0.7], k=5) == second.recall([0.3, 0.7], k=5)


def test_memory_off_recalls_nothing_but_still_reads_outcomes():
    memory = SituationMemory(None, horizons=(2,), enabled=False)
    memory.remember(id="s1", ts=1, vector=[1.0, 0.0], close=100.0, bars=1, trace_id="run:1")
    memory.observe(bars=2, close=101.0, low=100.0, now_ms=2)

    settled = memory.observe(bars=3, close=102.0, low=101.0, now_ms=3)

    assert [s.trace_id for s in settled] == ["run:1"]
    assert memory.recall([1.0, 0.0], k=5) == ()


@pytest.fixture
def situations(tmp_path):
    return vector_collection(open_chroma(tmp_path), "situations")


def test_a_later_run_recalls_an_earlier_runs_situations_only_once_they_were_known(situations):
    earlier = SituationMemory(situations, horizons=(2,))
    _feed(earlier, [100.0, 101.0, 102.0, 103.0])
    earlier.flush()
    prior = load_situations(situations)

    later = SituationMemory(situations, horizons=(2,), prior=prior)
    later.observe(bars=1, close=100.0, low=99.0, now_ms=2 * HOUR)
    seen_at_2 = [r.id for r in later.recall([1.0, 0.0], k=10)]
    later.observe(bars=2, close=100.0, low=99.0, now_ms=3 * HOUR)
    seen_at_3 = [r.id for r in later.recall([1.0, 0.0], k=10)]

    assert sorted(s.situation.id for s in prior) == ["s1", "s2"]
    assert seen_at_2 == []
    assert seen_at_3 == ["s1"]  # s1 became known at bar 3 (its 2-candle horizon); s2 at bar 4


def test_the_same_market_moment_is_not_counted_twice(situations):
    first = SituationMemory(situations, horizons=(2,))
    _feed(first, [100.0, 101.0, 102.0, 103.0, 104.0])
    first.flush()

    second = SituationMemory(situations, horizons=(2,), prior=load_situations(situations))
    _feed(second, [100.0, 101.0, 102.0, 103.0, 104.0])

    assert len(second) == len(first) == 3
    assert second.recall([1.0, 0.0], k=10) == first.recall([1.0, 0.0], k=10)


def test_persisted_situations_keep_every_horizon_and_persona_return(situations):
    memory = SituationMemory(situations, horizons=(1, 3), symbol="BTC/USDT")
    memory.remember(
        id="s1", ts=1, vector=[0.5, 0.5], close=100.0, bars=1, stances={"balanced": 1.0}
    )
    for bars, close in ((2, 101.0), (3, 102.0), (4, 104.0)):
        memory.observe(bars=bars, close=close, low=close, now_ms=bars)
    memory.flush()

    (stored,) = load_situations(situations)

    assert isinstance(stored, StoredSituation)
    assert stored.situation == memory.recall([0.5, 0.5], k=1)[0].model_copy(
        update={"similarity": 1.0}
    )
    assert stored.situation.persona_returns == pytest.approx({"balanced": 0.04})
    assert stored.vector == pytest.approx([0.5, 0.5])


def test_situation_ids_name_the_market_moment_not_the_file():
    real_a = MarketInfo(source="a.csv.gz", symbol="BTC/USDT", timeframe="1h", synthetic=False)
    real_b = MarketInfo(source="folder", symbol="BTC/USDT", timeframe="1h", synthetic=False)
    seed_1 = MarketInfo(source="synthetic:1", symbol="SYN/USDT", timeframe="1h", synthetic=True)
    seed_2 = MarketInfo(source="synthetic:2", symbol="SYN/USDT", timeframe="1h", synthetic=True)

    assert situation_id(market_key(real_a), 5) == situation_id(market_key(real_b), 5)
    assert situation_id(market_key(seed_1), 5) != situation_id(market_key(seed_2), 5)
