"""An append-only in-memory cosine index: the hot path of every recall (NumPy, no I/O).

A replay of a 5-minute recording indexes a situation per candle, so by its end a recall ranks
some 65,000 rows, and reading them all is most of its cost (and pushes everything else out of
the processor's cache). So a recall reads a float32 copy of the rows, half the bytes, kept
dimension by dimension (one contiguous array per feature, the fastest layout for the product
with the query); it keeps the rows scoring, in float32, at least the k-th best of a sample of
them less twice the float32 error bound, which no row of the exact answer can score below;
and it ranks those few candidates by their exact float64 scores.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

FLOAT32_ERROR = 1e-5
"""Bound on |float32 score - float64 score| for unit vectors of a few dozen dimensions at most
(the rounding error is about 1e-7 there): the prefilter's safety margin."""
SAMPLE_STRIDE = 16
"""Every 16th row sets the threshold of a large index (a few dozen candidates remain)."""
SAMPLE_ABOVE = 4_096
"""Below this many rows the k-th best score is found over all of them."""


class VectorIndex:
    """Unit rows in insertion order; `top(vector, k)` ranks them by cosine similarity."""

    def __init__(self) -> None:
        self._columns = np.zeros((0, 0), dtype=np.float64)
        self._columns32 = np.zeros((0, 0), dtype=np.float32)
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def add(self, vector: Sequence[float]) -> None:
        row = unit(vector)
        if self._n >= self._columns.shape[1]:
            capacity = max(64, 2 * self._n)
            self._columns = _grown(self._columns, self._n, row.shape[0], capacity)
            self._columns32 = _grown(self._columns32, self._n, row.shape[0], capacity)
        self._columns[:, self._n] = row
        self._columns32[:, self._n] = row
        self._n += 1

    def top(self, vector: Sequence[float], k: int) -> list[tuple[int, float]]:
        """(row, similarity) of the k most similar rows, most similar first; ties go to the
        row added first, so the answer is deterministic."""
        n = self._n
        if k <= 0 or not n:
            return []
        query = unit(vector)
        if n <= k:
            candidates = np.arange(n)
        else:
            rough = query.astype(np.float32) @ self._columns32[:, :n]
            floor = _threshold(rough, k) - 2 * FLOAT32_ERROR
            candidates = np.flatnonzero(rough >= floor)
        scores = query @ self._columns[:, candidates]
        order = np.lexsort((candidates, -scores))[:k]
        return [(int(candidates[i]), float(scores[i])) for i in order]


def _grown(columns: np.ndarray, n: int, dim: int, capacity: int) -> np.ndarray:
    grown = np.zeros((dim, capacity), dtype=columns.dtype)
    if n:
        grown[:, :n] = columns[:, :n]
    return grown


def _threshold(scores: np.ndarray, k: int) -> float:
    """A score that at least k rows reach and the k-th best row reaches too: the k-th best
    of all rows, or of a sample when there are many (at most the k-th best of all)."""
    sample = scores[::SAMPLE_STRIDE] if scores.shape[0] > SAMPLE_ABOVE else scores
    if sample.shape[0] < k:
        sample = scores
    return float(np.partition(sample, sample.shape[0] - k)[sample.shape[0] - k])


def unit(vector: Sequence[float]) -> np.ndarray:
    v = np.asarray(vector, dtype=np.float64)
    norm = math.sqrt(float(v.dot(v)))  # what np.linalg.norm computes, without its overhead
    return v / norm if norm > 0 else v
