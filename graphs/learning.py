"""Learning from what time has told: the graph's learn step.

At each candle close, before the cycle recalls anything: each position that closed at this
candle becomes a lesson (written by the reflector, or the deterministic summary when
reflection fails); situations whose horizon has now passed get their outcome, in situation
memory and on their trace's metadata; and lessons of earlier runs written up to now become
recallable. So recall sees exactly what was known at the close, and nothing after it.
"""

from __future__ import annotations

from collections.abc import Sequence

from agents.reflection import Reflector, SummaryReflector
from core.errors import ReplayMismatchError
from core.types import ClosedPosition, MarketSnapshot
from memory.lessons import Lesson, LessonMemory
from memory.situations import SituationMemory, situation_id
from memory.traces import TraceStore


class Learning:
    def __init__(
        self,
        situations: SituationMemory,
        lessons: LessonMemory,
        reflector: Reflector,
        traces: TraceStore,
        market_key: str,
    ) -> None:
        self.situations, self.lessons, self.reflector = situations, lessons, reflector
        self.traces, self.market_key = traces, market_key

    def learn(self, snapshot: MarketSnapshot, closed: Sequence[ClosedPosition]) -> None:
        candle, now = snapshot.last, snapshot.now_ms
        if self.lessons.enabled:
            for review in closed:
                self._reflect(review, now)
        settled = self.situations.observe(
            bars=snapshot.bars_seen, close=candle.close, low=candle.low, now_ms=now
        )
        for stored in settled:
            self.traces.annotate_outcome(
                stored.trace_id,
                {f"outcome_{h.candles}": h.forward_return for h in stored.situation.horizons},
            )
        self.lessons.advance(now)

    def _reflect(self, review: ClosedPosition, now: int) -> None:
        """A position closed: write its lesson (the deterministic summary if reflection fails)."""
        try:
            text = self.reflector.reflect(review)
        except ReplayMismatchError:
            raise  # a replay that left its recording must stop, as the analyze step does
        except Exception:
            text = SummaryReflector().reflect(review)
        self.lessons.add(
            Lesson(
                id=f"lesson:{situation_id(self.market_key, now)}",
                written_at=now,
                symbol=review.symbol,
                text=text,
                author=self.reflector.name,
                pnl_fraction=review.pnl_fraction,
                situation_vector=review.entry_features.vector(),
                situation_id=review.entry_situation_id,
                entry_trace_id=review.entry_trace_id,
                order_ids=review.order_ids,
                persona=review.entry_persona,
                pnl_atr=review.pnl_atr,
            )
        )
