"""Text embeddings that work offline: shipped weights, no download, deterministic."""

import socket

import numpy as np
import pytest

from core.errors import UserError
from memory.embeddings import HashingEmbedder, WordLlamaEmbedder, text_embedder


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("an embedder tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def _cos(a, b):
    return float(np.dot(a, b))


def test_wordllama_loads_its_shipped_weights_without_the_network(no_network):
    embedder = WordLlamaEmbedder()

    vectors = embedder.embed(["stop-loss hit, sold at a loss", "exit: the stop filled"])

    assert len(vectors) == 2 and len(vectors[0]) == embedder.dim == 256
    assert np.linalg.norm(vectors[0]) == pytest.approx(1.0)


def test_wordllama_puts_related_trading_texts_closer_than_unrelated_ones():
    embedder = text_embedder("wordllama")
    query, near, far = embedder.embed(
        ["why did the agent sell bitcoin", "BTC/USDT SELL approved: exit: trend broke",
         "ETH/USDT HOLD: warming up: not enough closed candles yet"]
    )  # fmt: skip

    assert _cos(query, near) > _cos(query, far)


def test_hashing_is_deterministic_and_lexical():
    embedder = HashingEmbedder()

    a, b, c = embedder.embed(["stop loss filled", "stop loss filled", "warming up"])

    assert a == b
    assert _cos(a, b) == pytest.approx(1.0)
    assert _cos(a, c) < 0.5


def test_an_unknown_embedding_is_one_clear_error():
    with pytest.raises(UserError, match=r"unknown memory\.embedding 'glove'"):
        text_embedder("glove")
