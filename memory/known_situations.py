"""The situations recall can return, packed in flat arrays.

A long-lived agent settles one situation a candle and keeps every one for recall. As pydantic
models (the situation, three horizon outcomes, the personas' returns) each costs about two
kilobytes, which was most of an agent's memory growth over 10,000 cycles; packed here, about a
hundred bytes. A model is built only for what a recall returns, field for field the one that
was added (floats and integers are kept exactly: float64 and int64).
"""

from __future__ import annotations

from array import array

from core.types import HorizonOutcome, RecalledSituation

Shape = tuple[str, tuple[int, ...], tuple[str, ...]]
"""What rows share: the symbol, the horizons' candle counts, the personas' names."""


class KnownSituations:
    """Situations in the order they were added; `situation(row, similarity)` rebuilds one."""

    def __init__(self) -> None:
        self._ids: list[str] = []
        self._ts = array("q")
        self._known_at = array("q")
        self._shape_of = array("I")
        self._start = array("Q")
        self._values = array("d")
        """Per row: forward return and max adverse, each horizon's pair, each persona's return."""
        self._shapes: list[Shape] = []
        self._shape_numbers: dict[Shape, int] = {}

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, situation: RecalledSituation) -> None:
        personas = situation.persona_returns
        shape = (
            situation.symbol,
            tuple(h.candles for h in situation.horizons),
            tuple(personas),
        )
        number = self._shape_numbers.get(shape)
        if number is None:
            number = self._shape_numbers[shape] = len(self._shapes)
            self._shapes.append(shape)
        self._ids.append(situation.id)
        self._ts.append(situation.ts)
        self._known_at.append(situation.known_at)
        self._shape_of.append(number)
        self._start.append(len(self._values))
        values = self._values
        values.append(situation.forward_return)
        values.append(situation.max_adverse)
        for horizon in situation.horizons:
            values.append(horizon.forward_return)
            values.append(horizon.max_adverse)
        values.extend(personas.values())

    def situation(self, row: int, similarity: float) -> RecalledSituation:
        symbol, candles, personas = self._shapes[self._shape_of[row]]
        values, at = self._values, self._start[row]
        horizons = tuple(
            HorizonOutcome.model_construct(
                candles=count,
                forward_return=values[at + 2 + 2 * j],
                max_adverse=values[at + 3 + 2 * j],
            )
            for j, count in enumerate(candles)
        )
        first_persona = at + 2 + 2 * len(candles)
        return RecalledSituation.model_construct(
            id=self._ids[row],
            ts=self._ts[row],
            similarity=similarity,
            forward_return=values[at],
            max_adverse=values[at + 1],
            symbol=symbol,
            known_at=self._known_at[row],
            horizons=horizons,
            persona_returns={name: values[first_persona + j] for j, name in enumerate(personas)},
        )
