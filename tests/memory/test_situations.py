import pytest

from memory.situations import SituationMemory


def _feed(memory: SituationMemory, closes: list[float], vector=(1.0, 0.0)):
    for bars, close in enumerate(closes, start=1):
        memory.observe(bars=bars, close=close, low=close * 0.99)
        memory.remember(id=f"s{bars}", ts=bars, vector=list(vector), close=close, bars=bars)


def test_outcome_is_invisible_one_candle_before_its_horizon():
    memory = SituationMemory(None, horizon=24)

    _feed(memory, [100.0] * 24)

    assert memory.recall([1.0, 0.0], k=5) == ()


def test_outcome_becomes_recallable_exactly_at_its_horizon():
    memory = SituationMemory(None, horizon=24)
    _feed(memory, [100.0] * 24)

    memory.observe(bars=25, close=110.0, low=109.0)
    recalled = memory.recall([1.0, 0.0], k=5)

    assert [r.id for r in recalled] == ["s1"]
    assert recalled[0].forward_return == pytest.approx(0.10)
    assert recalled[0].max_adverse == pytest.approx(-0.01)


def test_recall_ranks_by_cosine_similarity():
    memory = SituationMemory(None, horizon=1)
    memory.remember(id="up", ts=1, vector=[1.0, 0.0], close=100.0, bars=1)
    memory.remember(id="down", ts=2, vector=[-1.0, 0.0], close=100.0, bars=1)
    memory.remember(id="side", ts=3, vector=[0.0, 1.0], close=100.0, bars=1)
    memory.observe(bars=2, close=101.0, low=100.0)

    recalled = memory.recall([0.9, 0.1], k=2)

    assert [r.id for r in recalled] == ["up", "side"]
    assert recalled[0].similarity > recalled[1].similarity


def test_recall_is_identical_when_replayed_twice():
    closes = [100.0 + (i % 7) for i in range(80)]
    first, second = SituationMemory(None, horizon=5), SituationMemory(None, horizon=5)

    _feed(first, closes, vector=(0.3, 0.7))
    _feed(second, closes, vector=(0.3, 0.7))

    assert first.recall([0.3, 0.7], k=5) == second.recall([0.3, 0.7], k=5)
