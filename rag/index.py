"""The index as one object: embedder, vector store and the lexical index kept beside it, built lazily."""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from rag.lexical import LexicalIndex, LexicalIndexError
from rag.protocols import Embedder
from rag.settings import Settings
from rag.store import ChromaStore, open_store
from rag.types import Chunk

log = logging.getLogger(__name__)

STALE_MARKER = "lexical.stale"
"""File in the data folder while the store may hold changes the lexical index has not seen yet."""
UNREACHABLE_FILE = "unreachable.json"
"""File in the data folder naming the chunks dense search did not reach even after :meth:`Index.repair_search`."""


@dataclass(frozen=True)
class SearchRepair:
    """What :meth:`Index.repair_search` did: chunks added again, whether it rebuilt, chunks newly found unreached."""

    relinked: int = 0
    rebuilt: bool = False
    unreachable: int = 0


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
        self._lexical_generation: Any = None
        self._lexical_lock = threading.Lock()

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

    def repair_search(self, *, rebuild: bool = True) -> SearchRepair:
        """Make the stored chunks findable by dense search again after writes (run under the ingest lock).

        A search with a chunk's own vector must return it. Chroma's graph loses some after deletes and updates
        (chroma-core/chroma#7758): those are added again, and if some stay lost the collection is rebuilt. HNSW
        also leaves a few points of a large clustered set unreached however it is built: chunks still lost
        after a rebuild, or after a run that only added chunks (``rebuild=False``: no delete to undo), are
        remembered, so later runs neither re-add them nor rebuild for them again; keyword search finds them.
        """
        remembered = self._unreachable()
        lost = [i for i in self.store.unfindable() if i not in remembered]
        if not lost:
            return SearchRepair()
        log.warning(
            "%d chunk(s) had dropped out of the vector index's search graph (e.g. %s); adding them again",
            len(lost),
            lost[0],
        )
        self.store.reinsert(lost)
        still = [i for i in self.store.unfindable() if i not in remembered]
        if not still:
            return SearchRepair(relinked=len(lost))
        if rebuild:
            log.warning("%d chunk(s) still unfindable after being added again; rebuilding the collection", len(still))
            self.store.rebuild()
            after = self.store.unfindable()
            self._remember(after)
            still = [i for i in after if i not in remembered]
        else:
            self._remember([*remembered, *still])
        if still:
            log.warning(
                "%d chunk(s) are not reached by dense search (keyword search finds them): %s",
                len(still),
                ", ".join(still[:5]),
            )
        return SearchRepair(relinked=len(lost), rebuilt=rebuild, unreachable=len(still))

    def _remember(self, ids: list[str]) -> None:
        self.unreachable_path.parent.mkdir(parents=True, exist_ok=True)
        saved = {"collection": self.store.collection_id(), "ids": sorted(set(ids))}
        self.unreachable_path.write_text(json.dumps(saved, ensure_ascii=False), "utf-8")

    @property
    def unreachable_path(self) -> Path:
        """Where :meth:`repair_search` remembers the chunks it could not make findable."""
        return self.settings.data_dir / UNREACHABLE_FILE

    def _unreachable(self) -> set[str]:
        try:
            saved = json.loads(self.unreachable_path.read_text("utf-8"))
        except (OSError, ValueError):
            return set()
        # keyed by the collection's id: a collection deleted and ingested again, or rebuilt, starts afresh
        if not isinstance(saved, dict) or saved.get("collection") != self.store.collection_id():
            return set()
        return {str(i) for i in saved.get("ids", [])}

    def records(self) -> list[Chunk]:
        """One record-level chunk per indexed record, newest meeting first."""
        # part 0: a record whose details are over the model's limit has more record-level parts (its
        # participant list), which are not records of their own
        rows = [c for c in self.store.get(where={"kind": "record"}) if c.part == 0]
        return sorted(rows, key=lambda c: (c.date, c.company, c.record), reverse=True)

    @property
    def stale_marker(self) -> Path:
        """The file an ingest leaves while the store may be ahead of the lexical index."""
        return self.settings.data_dir / STALE_MARKER

    def generation(self) -> Any:
        """A token that changes whenever an ingest (in any process) has changed the index.

        Every ingest that changes chunks ends by saving the lexical index, which rewrites its ``CURRENT``
        pointer, so a ``stat`` of that file notices changes for a fraction of what ``store.count()`` costs
        (~20 ms at 125k chunks). Before any lexical index is saved, the store's count stands in.
        """
        try:
            st = (self.settings.lexical_dir / "CURRENT").stat()
        except OSError:
            return ("count", self.store.count())
        return ("lexical", st.st_mtime_ns, st.st_ino, st.st_size)

    def sync_lexical(self) -> LexicalIndex:
        """Rebuild the lexical index from the store's chunks (same ids) and save it."""
        with self._lexical_lock:
            chunks = self.store.get()
            previous = self._lexical
            if previous is None:
                try:
                    previous = LexicalIndex.load(self.settings.lexical_dir)
                except LexicalIndexError:
                    previous = None  # nothing reusable: every text is tokenised afresh
            lexical = LexicalIndex.build([(c.id, c.text) for c in chunks], previous=previous)
            lexical.save(self.settings.lexical_dir)
            self._lexical, self._lexical_generation = lexical, self.generation()
            return lexical

    def ensure_lexical(self) -> LexicalIndex:
        """The saved lexical index, rebuilt from the store when missing, corrupt or out of step, and
        reloaded when another process's ingest has saved a newer one."""
        generation = self.generation()
        lexical = self._lexical
        if lexical is not None and generation == self._lexical_generation:
            return lexical
        first = lexical is None
        try:
            lexical = LexicalIndex.load(self.settings.lexical_dir)
        except LexicalIndexError as e:
            log.warning("lexical index unusable (%s); rebuilding it from the store", e)
            return self.sync_lexical()
        # Checked once per process; a newer index saved later by an ingest was built from the store.
        if first and set(lexical.ids) != set(self.store.ids()):
            log.warning("lexical index out of step with the store; rebuilding it")
            return self.sync_lexical()
        with self._lexical_lock:
            self._lexical, self._lexical_generation = lexical, generation
        return lexical
