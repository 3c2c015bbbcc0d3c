"""An append-only in-memory cosine index: the hot path of every recall (NumPy, no I/O)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class VectorIndex:
    """Unit rows in insertion order; `top(vector, k)` ranks them by cosine similarity."""

    def __init__(self) -> None:
        self._rows = np.zeros((0, 0), dtype=np.float64)
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def add(self, vector: Sequence[float]) -> None:
        row = unit(vector)
        if self._n >= self._rows.shape[0]:
            grown = np.zeros((max(64, 2 * self._n), row.shape[0]), dtype=np.float64)
            if self._n:
                grown[: self._n] = self._rows[: self._n]
            self._rows = grown
        self._rows[self._n] = row
        self._n += 1

    def top(self, vector: Sequence[float], k: int) -> list[tuple[int, float]]:
        """(row, similarity) of the k most similar rows, most similar first; ties go to the
        row added first, so the answer is deterministic."""
        if k <= 0 or not self._n:
            return []
        scores = self._rows[: self._n] @ unit(vector)
        everything = np.arange(self._n)
        candidates = np.argpartition(-scores, k)[:k] if self._n > k else everything
        ranked = candidates[np.lexsort((candidates, -scores[candidates]))]
        return [(int(i), float(scores[i])) for i in ranked]


def unit(vector: Sequence[float]) -> np.ndarray:
    v = np.asarray(vector, dtype=np.float64)
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else v
