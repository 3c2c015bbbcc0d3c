"""The recall index ranks exactly as a brute-force float64 ranking does, ties included."""

import numpy as np

from memory.vector_index import VectorIndex


def _brute_force(rows: np.ndarray, query: np.ndarray, k: int) -> list[int]:
    unit_rows = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    scores = unit_rows @ (query / np.linalg.norm(query))
    return sorted(range(len(rows)), key=lambda i: (-scores[i], i))[:k]


def test_top_k_of_a_large_index_is_the_exact_top_k():
    rng = np.random.default_rng(7)
    rows = np.clip(rng.normal(0.0, 0.5, (20_000, 8)), -1.0, 1.0)
    index = VectorIndex()
    for row in rows:
        index.add(row.tolist())

    for _ in range(50):
        query = np.clip(rng.normal(0.0, 0.5, 8), -1.0, 1.0)
        for k in (1, 5, 12):
            found = [i for i, _ in index.top(query.tolist(), k)]
            assert found == _brute_force(rows, query, k)


def test_rows_scoring_alike_go_to_the_one_added_first():
    rng = np.random.default_rng(3)
    index = VectorIndex()
    twin = [0.5, -0.2, 0.1, 0.9, 0.0, 0.3, -0.7, 0.4]
    for i in range(10_000):
        index.add(twin if i % 1_000 == 999 else rng.uniform(-1.0, 1.0, 8).tolist())

    found = index.top(twin, 4)

    assert [i for i, _ in found] == [999, 1999, 2999, 3999]
    assert all(abs(score - 1.0) < 1e-12 for _, score in found)


def test_an_index_smaller_than_k_returns_every_row_best_first():
    index = VectorIndex()
    index.add([1.0, 0.0])
    index.add([0.0, 1.0])

    assert [i for i, _ in index.top([0.2, 1.0], 5)] == [1, 0]
    assert index.top([1.0, 0.0], 0) == [] and VectorIndex().top([1.0, 0.0], 3) == []
