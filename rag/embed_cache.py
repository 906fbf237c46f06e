"""Embedding cache: passage vectors by content hash in SQLite (one file per embedder), queries in a small LRU.

Re-ingesting unchanged records then costs lookups instead of model time. SQLite in WAL mode with a busy
timeout lets an ingest and the app (two processes) read and write the same file; a row depends only on its
key, so two writers of the same text write the same bytes.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rag.errors import EmbedderError
from rag.protocols import Embedder

_SQL_VARS = 500  # keys per SELECT ... IN (...), well under SQLite's variable limit


def cache_key(name: str, text: str) -> bytes:
    """sha256 of the embedder name and the text (NUL-separated so no two pairs collide by concatenation)."""
    return hashlib.sha256(name.encode("utf-8") + b"\x00" + text.encode("utf-8")).digest()


def cache_file(cache_dir: Path, name: str) -> Path:
    """The SQLite file for one embedder: a readable slug plus a short hash, since names may be paths."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")[-60:] or "embedder"
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:10]
    return Path(cache_dir) / f"{slug}-{digest}.sqlite3"


class CachedEmbedder:
    """An :class:`~rag.protocols.Embedder` that only sends texts it has not seen to ``inner``."""

    def __init__(self, inner: Embedder, cache_dir: Path, *, query_cache_size: int = 512, timeout: float = 60.0):
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.max_tokens = inner.max_tokens
        self.path = cache_file(cache_dir, inner.name)
        self.hits = 0
        self.misses = 0
        self.query_hits = 0
        self.query_misses = 0
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._query_cache_size = query_cache_size
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # autocommit mode: transactions are opened explicitly, so a reader never holds a lock by accident
            self._db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None, check_same_thread=False)
            self._setup(timeout)
        except sqlite3.Error as exc:
            raise EmbedderError(f"embedding cache {self.path} cannot be opened: {exc}") from exc

    def _setup(self, timeout: float) -> None:
        # Switching to WAL needs an exclusive lock, and SQLite may answer "database is locked" at once,
        # without waiting on its busy timeout, when another process opens a new cache file at the same time.
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.execute(
                    "CREATE TABLE IF NOT EXISTS vectors"
                    " (key BLOB PRIMARY KEY, dim INTEGER NOT NULL, vec BLOB NOT NULL) WITHOUT ROWID"
                )
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    # --- passages ---

    def _lookup(self, keys: list[bytes]) -> dict[bytes, np.ndarray]:
        found: dict[bytes, np.ndarray] = {}
        for i in range(0, len(keys), _SQL_VARS):
            part = keys[i : i + _SQL_VARS]
            rows = self._db.execute(
                f"SELECT key, dim, vec FROM vectors WHERE key IN ({','.join('?' * len(part))})", part
            ).fetchall()
            for key, dim, vec in rows:
                # a row from another model of the same name and a different size is ignored (and replaced)
                if dim == self.dim and len(vec) == 4 * dim:
                    found[key] = np.frombuffer(vec, dtype="<f4")
        return found

    def _store(self, rows: list[tuple[bytes, int, bytes]]) -> None:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.executemany("INSERT OR REPLACE INTO vectors (key, dim, vec) VALUES (?, ?, ?)", rows)
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for passages: cached ones from disk, the rest from ``inner`` (each distinct text once)."""
        keys = [cache_key(self.name, t) for t in texts]
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        with self._lock:
            try:
                found = self._lookup(list(dict.fromkeys(keys)))
            except sqlite3.Error as exc:
                raise EmbedderError(f"embedding cache {self.path} cannot be read: {exc}") from exc
            todo: dict[bytes, str] = {}
            for i, (key, text) in enumerate(zip(keys, texts, strict=True)):
                if key in found:
                    out[i] = found[key]
                    self.hits += 1
                else:
                    todo.setdefault(key, text)
                    self.misses += 1
        if todo:
            vecs = np.asarray(self.inner.embed_passages(list(todo.values())), dtype=np.float32)
            if vecs.shape != (len(todo), self.dim):
                raise EmbedderError(
                    f"embedder {self.name!r} returned shape {vecs.shape} for {len(todo)} texts, "
                    f"expected ({len(todo)}, {self.dim})"
                )
            fresh = dict(zip(todo, vecs, strict=True))
            for i, key in enumerate(keys):
                if key in fresh:
                    out[i] = fresh[key]
            rows = [(k, self.dim, v.astype("<f4").tobytes()) for k, v in fresh.items()]
            with self._lock:
                try:
                    self._store(rows)
                except sqlite3.Error as exc:
                    raise EmbedderError(f"embedding cache {self.path} cannot be written: {exc}") from exc
        return out

    # --- queries ---

    def embed_query(self, text: str) -> np.ndarray:
        """Vector for one query, from a per-process LRU when it was asked recently."""
        with self._lock:
            vec = self._queries.get(text)
            if vec is not None:
                self._queries.move_to_end(text)
                self.query_hits += 1
                return vec.copy()
            self.query_misses += 1
        vec = np.asarray(self.inner.embed_query(text), dtype=np.float32)
        with self._lock:
            self._queries[text] = vec.copy()
            while len(self._queries) > self._query_cache_size:
                self._queries.popitem(last=False)
        return vec

    def count_tokens(self, text: str) -> int:
        """Delegated to ``inner``."""
        return self.inner.count_tokens(text)

    @property
    def truncated(self) -> int:
        """Passages ``inner`` has cut short at its token limit (0 for a model that never truncates)."""
        return int(getattr(self.inner, "truncated", 0))

    # --- bookkeeping ---

    def stats(self) -> dict[str, int]:
        """Hit and miss counters since this object was created, and rows on disk."""
        with self._lock:
            (rows,) = self._db.execute("SELECT COUNT(*) FROM vectors").fetchone()
        return {
            "hits": self.hits,
            "misses": self.misses,
            "query_hits": self.query_hits,
            "query_misses": self.query_misses,
            "rows": int(rows),
        }

    def close(self) -> None:
        """Close the SQLite connection (the object is unusable afterwards)."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> CachedEmbedder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"CachedEmbedder({self.inner!r}, {str(self.path)!r})"
