"""Small interfaces, so that each part can be swapped without touching its neighbours."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from rag.types import Answer, Chunk, Hit


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised vectors; queries and passages may be encoded differently."""

    name: str
    dim: int
    max_tokens: int

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for passages, shape (n, dim), float32, unit length."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """Vector for one query, shape (dim,), float32, unit length."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for a passage, special tokens and prefix included."""
        ...


@runtime_checkable
class Store(Protocol):
    """A vector store of chunks keyed by deterministic ids."""

    def upsert(self, chunks: Sequence[Chunk], embeddings: np.ndarray) -> None:
        """Insert or replace chunks with their vectors."""
        ...

    def delete(self, ids: Sequence[str]) -> None:
        """Remove chunks by id; unknown ids are ignored."""
        ...

    def hashes(self, where: dict[str, Any] | None = None) -> dict[str, str]:
        """Content hash of each stored chunk matching ``where``, by id."""
        ...

    def get(self, ids: Sequence[str] | None = None, where: dict[str, Any] | None = None) -> list[Chunk]:
        """Stored chunks by id or by metadata filter (all when both are None)."""
        ...

    def vectors(self, ids: Sequence[str]) -> tuple[list[Chunk], np.ndarray]:
        """Stored chunks by id with their vectors, one row per chunk returned (missing ids skipped)."""
        ...

    def query(self, embedding: np.ndarray, k: int, where: dict[str, Any] | None = None) -> list[Hit]:
        """The ``k`` nearest chunks to ``embedding``, best first, score = cosine similarity."""
        ...

    def count(self) -> int:
        """Number of stored chunks."""
        ...

    def unfindable(self) -> list[str]:
        """Ids of stored chunks that a search with their own stored vector does not return."""
        ...

    def reinsert(self, ids: Sequence[str]) -> None:
        """Delete and add these chunks again with the same vectors."""
        ...

    def rebuild(self) -> None:
        """Rewrite the whole vector index from the stored chunks and vectors."""
        ...

    def recover(self) -> None:
        """Finish or undo a rebuild that was interrupted (called by a writer before it writes)."""
        ...


@runtime_checkable
class Retriever(Protocol):
    """Finds the chunks that answer a query."""

    def search(self, query: str, k: int = 10, filters: dict[str, Any] | None = None) -> list[Hit]:
        """Best ``k`` hits for ``query``, best first."""
        ...


@runtime_checkable
class Answerer(Protocol):
    """Writes a cited answer from retrieved passages."""

    mode: str

    def answer(self, question: str, hits: Sequence[Hit], lang: str) -> Answer:
        """An answer whose every citation refers to one of ``hits``."""
        ...


def batched(items: Iterable[Any], n: int) -> Iterable[list[Any]]:
    """Consecutive lists of at most ``n`` items."""
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == n:
            yield batch
            batch = []
    if batch:
        yield batch
