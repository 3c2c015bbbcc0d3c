"""Text embeddings for trace and lesson search, chosen by the `memory.embedding` setting.

- `wordllama` (default): WordLlama's 256-dimension static token embeddings, whose weights and
  tokenizer ship inside the `wordllama` wheel. They are loaded from the installed package
  only, never downloaded, so a fresh offline machine embeds at once (about 0.1 s to load).
- `hashing`: signed feature hashing of words and word pairs. No weights at all; lexical rather
  than semantic, but deterministic and dependency-free.
- `chroma-default`: chroma's own ONNX MiniLM model. It downloads its weights at first use, so
  it needs the internet once; offered for users who already rely on it.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from importlib import resources
from typing import Literal, Protocol

import numpy as np

from core.errors import UserError

EmbeddingName = Literal["wordllama", "hashing", "chroma-default"]
EMBEDDINGS: tuple[str, ...] = ("wordllama", "hashing", "chroma-default")

WORDLLAMA_WEIGHTS = "weights/l2_supercat_256.safetensors"
WORDLLAMA_TOKENIZER = "tokenizers/l2_supercat_tokenizer_config.json"
HASHING_DIM = 256
_WORD = re.compile(r"[a-z0-9_]+(?:[./-][a-z0-9_]+)*")


class TextEmbedder(Protocol):
    """Unit-length vectors for texts; `name` and `dim` are stored with every collection."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


class WordLlamaEmbedder:
    name = "wordllama"
    dim = 256

    def __init__(self) -> None:
        from safetensors import safe_open
        from tokenizers import Tokenizer

        with _root_logging_kept():  # wordllama calls logging.basicConfig(INFO) on import
            from wordllama.inference import WordLlamaInference

        package = resources.files("wordllama")
        weights, tokenizer = package / WORDLLAMA_WEIGHTS, package / WORDLLAMA_TOKENIZER
        if not (weights.is_file() and tokenizer.is_file()):
            raise UserError(
                "the wordllama package has no shipped weights here: reinstall it "
                '(python3 dev.py test rebuilds .venv) or set memory.embedding = "hashing"'
            )
        with safe_open(str(weights), framework="np", device="cpu") as f:
            table = f.get_tensor("embedding.weight")
        self._model = WordLlamaInference(table, Tokenizer.from_file(str(tokenizer)))

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self._model.embed(list(texts), norm=True, return_np=True)
        return np.asarray(vectors, dtype=np.float64).tolist()  # type: ignore[no-any-return]


@contextmanager
def _root_logging_kept() -> Iterator[None]:
    """Undo whatever an import does to the root logger (handlers and level)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


class HashingEmbedder:
    """Words and adjacent word pairs hashed (blake2b) into signed buckets, then normalized."""

    name = "hashing"
    dim = HASHING_DIM

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [self._one(text) for text in texts]

    def _one(self, text: str) -> list[float]:
        v = np.zeros(self.dim)
        words = _WORD.findall(text.lower())
        for token in (*words, *(f"{a} {b}" for a, b in itertools.pairwise(words))):
            h = int.from_bytes(hashlib.blake2b(token.encode(), digest_size=8).digest(), "little")
            v[h % self.dim] += 1.0 if (h >> 63) & 1 else -1.0
        norm = float(np.linalg.norm(v))
        return (v / norm).tolist() if norm > 0 else v.tolist()


class ChromaDefaultEmbedder:
    name = "chroma-default"
    dim = 384

    def __init__(self) -> None:
        from chromadb.utils.embedding_functions import DefaultEmbeddingFunction

        self._fn = DefaultEmbeddingFunction()

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        try:
            vectors = self._fn(list(texts))
        except Exception as exc:
            raise UserError(
                f"chroma's default embedding model is unavailable ({exc.__class__.__name__}): it "
                'downloads at first use; set memory.embedding = "wordllama" to work offline'
            ) from None
        return [np.asarray(v, dtype=np.float64).tolist() for v in vectors]


@lru_cache(maxsize=4)
def text_embedder(name: str) -> TextEmbedder:
    """The embedder `name`, built once per process (loading weights is the slow part)."""
    if name == "wordllama":
        return WordLlamaEmbedder()
    if name == "hashing":
        return HashingEmbedder()
    if name == "chroma-default":
        return ChromaDefaultEmbedder()
    raise UserError(f"unknown memory.embedding {name!r}: choose one of {', '.join(EMBEDDINGS)}")
