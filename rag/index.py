"""The index as one object: embedder, vector store and the lexical index kept beside it, built lazily."""

from __future__ import annotations

import logging
from functools import cached_property

from rag.lexical import LexicalIndex, LexicalIndexError
from rag.protocols import Embedder
from rag.settings import Settings
from rag.store import ChromaStore, open_store
from rag.types import Chunk

log = logging.getLogger(__name__)


class Index:
    """Embedder + store + lexical index for one settings object; parts load on first use."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        embedder: Embedder | None = None,
        store: ChromaStore | None = None,
    ):
        self.settings = settings or Settings()
        if embedder is not None:
            self.__dict__["embedder"] = embedder
        if store is not None:
            self.__dict__["store"] = store
        self._lexical: LexicalIndex | None = None

    @cached_property
    def embedder(self) -> Embedder:
        """The configured embedding model (loaded, and converted on first run, here)."""
        from rag.embedder import load_embedder

        return load_embedder(self.settings)

    @cached_property
    def store(self) -> ChromaStore:
        """The vector store, checked against the embedder it was built with."""
        store = open_store(self.settings)
        return store

    def check_embedder(self) -> None:
        """Refuse to mix vectors of two models in one collection."""
        self.store.check_embedder(self.embedder.name, self.embedder.dim)

    def records(self) -> list[Chunk]:
        """One record-level chunk per indexed record, newest meeting first."""
        rows = self.store.get(where={"kind": "record"})
        return sorted(rows, key=lambda c: (c.date, c.company, c.record), reverse=True)

    def sync_lexical(self) -> LexicalIndex:
        """Rebuild the lexical index from the store's chunks (same ids) and save it."""
        chunks = self.store.get()
        previous = self._lexical
        if previous is None:
            try:
                previous = LexicalIndex.load(self.settings.lexical_dir)
            except LexicalIndexError:
                previous = None  # nothing reusable: every text is tokenised afresh
        lexical = LexicalIndex.build([(c.id, c.text) for c in chunks], previous=previous)
        lexical.save(self.settings.lexical_dir)
        self._lexical = lexical
        return lexical

    def ensure_lexical(self) -> LexicalIndex:
        """The saved lexical index, rebuilt from the store when missing, corrupt or out of step."""
        if self._lexical is not None:
            return self._lexical
        try:
            lexical = LexicalIndex.load(self.settings.lexical_dir)
        except LexicalIndexError as e:
            log.warning("lexical index unusable (%s); rebuilding it from the store", e)
            return self.sync_lexical()
        if set(lexical.ids) != set(self.store.hashes()):
            log.warning("lexical index out of step with the store; rebuilding it")
            return self.sync_lexical()
        self._lexical = lexical
        return lexical
