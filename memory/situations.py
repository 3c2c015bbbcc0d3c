"""Situation memory: feature vectors of past cycles and what happened after them.

A situation enters the recall index only once its outcome is known (its horizon has passed),
so everything recall can return was known at the time of the query, by construction. The hot
path (one recall per cycle) is a NumPy cosine search; chromadb keeps the durable copy.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from core.types import RecalledSituation

if TYPE_CHECKING:
    from chromadb.api.models.Collection import Collection

COLLECTION = "situations"
HORIZON = 24
PERSIST_BATCH = 256
"""Candles after a situation at which its outcome (forward return, worst excursion) is read."""


@dataclass(frozen=True)
class _Pending:
    id: str
    ts: int
    vector: list[float]
    close: float
    bars_at: int
    stances: dict[str, float]


class SituationMemory:
    """Per-run index of situations whose outcomes are known, with point-in-time recall."""

    def __init__(self, collection: Collection | None, *, horizon: int = HORIZON) -> None:
        self._collection = collection
        self._horizon = horizon
        self._pending: deque[_Pending] = deque()
        self._lows: deque[float] = deque(maxlen=horizon)
        self._vectors = np.zeros((0, 0), dtype=np.float64)
        self._known: list[RecalledSituation] = []
        self._to_persist: list[tuple[RecalledSituation, list[float]]] = []

    def __len__(self) -> int:
        return len(self._known)

    def observe(self, *, bars: int, close: float, low: float) -> None:
        """A candle closed: settle every pending situation whose horizon has now passed."""
        self._lows.append(low)
        while self._pending and bars - self._pending[0].bars_at >= self._horizon:
            p = self._pending.popleft()
            worst = min(self._lows)
            situation = RecalledSituation(
                id=p.id,
                ts=p.ts,
                similarity=1.0,
                forward_return=close / p.close - 1.0,
                max_adverse=min(0.0, worst / p.close - 1.0),
                persona_returns={
                    name: stance * (close / p.close - 1.0) for name, stance in p.stances.items()
                },
            )
            self._add_row(_unit(p.vector))
            self._known.append(situation)
            self._to_persist.append((situation, p.vector))
        if len(self._to_persist) >= PERSIST_BATCH:
            self.flush()

    def remember(
        self,
        *,
        id: str,
        ts: int,
        vector: list[float],
        close: float,
        bars: int,
        stances: Mapping[str, float] | None = None,
    ) -> None:
        """Queue this cycle's situation; it becomes recallable when its outcome is known.

        `stances` are the offline personas' positions here (1 long, 0 flat); with the outcome
        they become what each persona would have earned, for the meta-selector."""
        self._pending.append(
            _Pending(
                id=id, ts=ts, vector=vector, close=close, bars_at=bars, stances=dict(stances or {})
            )
        )

    def recall(self, vector: Sequence[float], k: int) -> tuple[RecalledSituation, ...]:
        if k <= 0 or not self._known:
            return ()
        scores = self._vectors[: len(self._known)] @ _unit(vector)
        candidates = np.argpartition(-scores, k)[:k] if len(scores) > k else np.arange(len(scores))
        top = candidates[np.lexsort((candidates, -scores[candidates]))]
        return tuple(
            self._known[i].model_copy(update={"similarity": round(float(scores[i]), 6)})
            for i in top
        )

    def _add_row(self, row: np.ndarray) -> None:
        n = len(self._known)
        if n >= self._vectors.shape[0]:
            grown = np.zeros((max(64, 2 * n), row.shape[0]), dtype=np.float64)
            if n:
                grown[:n] = self._vectors[:n]
            self._vectors = grown
        self._vectors[n] = row

    def flush(self) -> None:
        if self._collection is None or not self._to_persist:
            return
        batch, self._to_persist = self._to_persist, []
        self._collection.upsert(
            ids=[s.id for s, _ in batch],
            embeddings=[v for _, v in batch],  # type: ignore[arg-type]
            metadatas=[
                {
                    "ts": s.ts,
                    "forward_return": s.forward_return,
                    "max_adverse": s.max_adverse,
                    **{f"persona_{name}": value for name, value in s.persona_returns.items()},
                }
                for s, _ in batch
            ],
        )


def _unit(vector: Sequence[float]) -> np.ndarray:
    v = np.asarray(vector, dtype=np.float64)
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else v
