"""Packed situations give back, field for field, the models that were added."""

from core.types import HorizonOutcome, RecalledSituation
from memory.known_situations import KnownSituations


def _situation(n: int, *, symbol: str, horizons: tuple[int, ...], personas: tuple[str, ...]):
    return RecalledSituation(
        id=f"s{n}",
        ts=1_700_000_000_000 + n,
        similarity=1.0,
        forward_return=0.1 / (n + 3),
        max_adverse=-1 / (n + 7),
        symbol=symbol,
        known_at=1_800_000_000_000 + n,
        horizons=tuple(
            HorizonOutcome(candles=c, forward_return=c / (n + 11), max_adverse=-c / (n + 13))
            for c in horizons
        ),
        persona_returns={name: (j + 1) / (n + 17) for j, name in enumerate(personas)},
    )


def test_a_recalled_row_equals_the_situation_that_was_added_with_its_similarity():
    added = [
        _situation(0, symbol="BTC/USDT", horizons=(1, 6, 24), personas=("trend", "reversion")),
        _situation(1, symbol="BTC/USDT", horizons=(1, 6, 24), personas=()),
        _situation(2, symbol="ETH/USDT", horizons=(4,), personas=("trend",)),
        _situation(3, symbol="BTC/USDT", horizons=(1, 6, 24), personas=("trend", "reversion")),
    ]
    known = KnownSituations()

    for situation in added:
        known.add(situation)

    assert len(known) == 4
    for row, situation in enumerate(added):
        rebuilt = known.situation(row, 0.123456)
        assert rebuilt == situation.model_copy(update={"similarity": 0.123456})
        assert rebuilt.model_dump() == situation.model_dump() | {"similarity": 0.123456}
