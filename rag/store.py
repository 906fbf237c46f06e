"""The vector store: chunks and their vectors in a Chroma collection, embedded or on a Chroma server.

Vectors always come from our own embedder: collections are created without an embedding function, so
Chroma never tries to download its default ONNX model (there is no network at run time).
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import numpy as np

from rag.errors import StoreError
from rag.protocols import batched
from rag.settings import Settings
from rag.types import Chunk, Hit

if TYPE_CHECKING:  # chromadb takes ~2 s to import: only when a store is actually opened
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection
    from chromadb.config import Settings as ChromaSettings

log = logging.getLogger(__name__)

T = TypeVar("T")

DATE_NUM_KEY = "date_num"
"""Integer YYYYMMDD copy of ``Chunk.date`` (0 when unknown): Chroma compares numbers only, not strings."""
EMBEDDER_KEY = "irchat_embedder"
DIM_KEY = "irchat_dim"
PAGE_SIZE = 2000
"""Rows per ``get`` page, so that a large collection never comes back in one response."""
IDS_PAGE_SIZE = 100_000
"""Ids per page when reading ids only: no metadata, so no SQL variable per row, and large pages because
Chroma pages by offset (each page re-reads those before it)."""
FINDABLE_K = 10
"""A chunk is findable when a search with its own stored vector returns it among this many nearest."""
FINDABLE_BATCH = 500
"""Queries per call of the findability scan: Chroma binds an SQL variable per result row, SQLite allows 32,766."""
TIE_DISTANCE = 1e-4
"""Cosine distance under which two vectors are the same text's: ties a search may order either way."""
REBUILD_SUFFIX, OLD_SUFFIX = "-rebuild", "-old"
"""Names beside the collection while :meth:`ChromaStore.rebuild` swaps a fresh copy in."""
DEFAULT_TIMEOUT = 60.0
"""Seconds a request to a Chroma server may take (chromadb's own HTTP client has no timeout at all)."""

_DATE_RE = re.compile(r"(\d{4})\D{0,3}?(\d{1,2})(?:\D{0,3}?(\d{1,2}))?")
_EIGHT_DIGITS = re.compile(r"\d{8}")
_COLLECTION_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9._-]{1,510}[a-zA-Z0-9]")


def date_num(value: str | date | None, *, end: bool = False) -> int:
    """``YYYYMMDD`` as an int from '2024-05-17', '2024/5/17', '2024年5月17日', '20240517' or a date; else 0.

    A bare year or year-month ('2024', '2024-05') is the first day of that span, or its last when ``end``
    (the month's last day is written as 31: the number is only ever compared, never turned back into a date).
    """
    if value is None:
        return 0
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.year * 10000 + value.month * 100 + value.day
    text = str(value).strip()
    if not text:
        return 0
    if _EIGHT_DIGITS.fullmatch(text):
        return int(text)
    m = _DATE_RE.search(text)
    if m:
        year, month = int(m.group(1)), int(m.group(2))
        day = int(m.group(3)) if m.group(3) else (31 if end else 1)
        if 1 <= month <= 12 and 1 <= day <= 31:
            return year * 10000 + month * 100 + day
        return 0
    if re.fullmatch(r"\d{4}", text):
        return int(text) * 10000 + (1231 if end else 101)
    return 0


def build_where(filters: dict[str, Any] | None) -> dict[str, Any] | None:
    """Chroma ``where`` from a simple filter dict.

    ``{"stock_code": "002415"}`` is equality, a list is ``$in`` (an empty list or None means no
    constraint), ``date_from`` / ``date_to`` bound the stored ``date_num`` (a chunk of unknown date is in
    no range), a dict value is passed on as a Chroma operator expression, and several keys are joined
    with ``$and``. A dict that is already a Chroma filter (``$and`` / ``$or`` at the top) is returned as is.
    """
    if not filters:
        return None
    if any(key.startswith("$") for key in filters):
        return dict(filters)
    clauses: list[dict[str, Any]] = []
    bounds: dict[str, int] = {}
    for key, value in filters.items():
        if value is None:
            continue
        if key in ("date_from", "date_to"):
            if isinstance(value, str) and not value.strip():
                continue
            num = date_num(value, end=key == "date_to")
            if num == 0:
                raise StoreError(f"filter {key}={value!r} is not a date (expected YYYY-MM-DD)")
            bounds[key] = num
        elif isinstance(value, dict):
            clauses.append({key: value})
        elif isinstance(value, list | tuple | set | frozenset):
            values = list(dict.fromkeys(value))
            if len(values) == 1:
                clauses.append({key: values[0]})
            elif values:
                clauses.append({key: {"$in": values}})
        else:
            clauses.append({key: value})
    if bounds:
        # The lower bound is at least 1 so that an unknown date (0) is outside every range, not before it.
        clauses.append({DATE_NUM_KEY: {"$gte": max(1, bounds.get("date_from", 1))}})
        if "date_to" in bounds:
            clauses.append({DATE_NUM_KEY: {"$lte": bounds["date_to"]}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _write_metadata(chunk: Chunk) -> dict[str, Any]:
    meta = chunk.store_metadata()
    meta[DATE_NUM_KEY] = date_num(chunk.date) or date_num(chunk.date_end)
    return meta


def _chunk(id: str, document: str | None, meta: dict[str, Any] | None) -> Chunk:
    # Chunk.from_metadata keeps only dataclass fields, so date_num, record_key and content_hash drop out.
    return Chunk.from_metadata(id, document or "", dict(meta or {}))


class ChromaStore:
    """A :class:`~rag.protocols.Store` over one Chroma collection (cosine space, no embedding function).

    ``connect`` builds a chromadb client; it is called lazily and again after a connection error, so a
    store whose server went away works again once the server is back. Every client call holds a lock.
    """

    def __init__(
        self,
        connect: Callable[[], ClientAPI],
        collection: str,
        *,
        location: str,
        server: tuple[str, int] | None = None,
        batch_size: int | None = None,
    ):
        if not _COLLECTION_NAME.fullmatch(collection):
            raise StoreError(
                f"collection name {collection!r} (IRCHAT_COLLECTION) is not valid for Chroma: use 3-512 "
                "characters from a-z, A-Z, 0-9, '.', '_', '-', starting and ending with a letter or digit"
            )
        self._connect = connect
        self.collection_name = collection
        self.location = location
        """Where the data lives, for messages: 'host:port' or the embedded folder."""
        self.server = server
        self._lock = threading.RLock()
        self._client: ClientAPI | None = None
        self._collection: Collection | None = None
        self._batch_limit = batch_size
        self._max_batch: int | None = None
        self._embedder: tuple[str, int] | None = None

    def __repr__(self) -> str:
        return f"ChromaStore({self.collection_name!r} at {self.location})"

    # -- connection ---------------------------------------------------------------------------

    def _col(self) -> Collection:
        if self._collection is None:
            if self._client is None:
                self._client = self._connect()
            metadata: dict[str, Any] = {"irchat": 1}
            if self._embedder is not None:
                metadata.update({EMBEDDER_KEY: self._embedder[0], DIM_KEY: self._embedder[1]})
            col = self._client.get_or_create_collection(
                self.collection_name,
                configuration={"hnsw": {"space": "cosine"}},
                metadata=metadata,
                embedding_function=None,  # never Chroma's default ONNX model: it downloads on first use
            )
            self._check_space(col)
            if self._embedder is not None:
                # After a reconnect the collection may have been recreated by someone else.
                self._check_embedder(col, *self._embedder)
            self._collection = col
        return self._collection

    def _check_space(self, col: Collection) -> None:
        # get_or_create ignores our configuration for an existing collection, and scores assume cosine.
        config = col.configuration_json or {}
        spaces = {(config.get(k) or {}).get("space") for k in ("hnsw", "spann")} - {None}
        if spaces and spaces != {"cosine"}:
            raise StoreError(
                f"collection '{self.collection_name}' at {self.location} uses the {'/'.join(sorted(spaces))} "
                "distance, not cosine; set IRCHAT_COLLECTION to a new name and re-ingest"
            )

    def _reset(self) -> None:
        client, self._client, self._collection, self._max_batch = self._client, None, None, None
        if client is not None:
            try:
                client.close()
            except Exception as e:  # closing a client to a dead server may fail; it is being dropped anyway
                log.debug("closing chroma client: %s", e)

    def _run(self, what: str, fn: Callable[[Collection], T]) -> T:
        """Run ``fn`` on the collection; on a lost connection reconnect once and retry."""
        with self._lock:
            for attempt in (1, 2):
                try:
                    return fn(self._col())
                except StoreError:
                    raise
                except Exception as e:
                    from chromadb.errors import NotFoundError

                    # NotFound: the collection was deleted (or the server restarted empty) under us.
                    gone = isinstance(e, NotFoundError) and self._collection is not None
                    retry = _is_connection_error(e) or gone
                    if retry and attempt == 1:
                        log.info("chroma %s failed (%s); reconnecting to %s", what, e, self.location)
                        self._reset()
                        continue
                    if _is_connection_error(e):
                        self._reset()
                    raise self._error(what, e) from e
        raise AssertionError("unreachable")

    def _error(self, what: str, e: BaseException) -> BaseException:
        from chromadb.errors import AuthorizationError, ChromaAuthError

        if isinstance(e, TypeError | AttributeError | KeyError | IndexError | AssertionError):
            return e  # our bug, not the store's: keep it visible as such
        if self.server is not None:
            host, port = self.server
            where = f"Chroma server at {host}:{port}"
            if _is_connection_error(e):
                return StoreError(
                    f"cannot reach the {where} ({_root(e)}). Start it (e.g. `chroma run --host {host} "
                    f"--port {port} --path <folder>`), check IRCHAT_CHROMA_HOST / IRCHAT_CHROMA_PORT, "
                    "or unset IRCHAT_CHROMA_HOST to use embedded Chroma."
                )
            # For non-Chroma HTTP errors (e.g. a proxy's 401) chromadb raises a bare Exception(body),
            # sometimes re-raised as a ValueError with the same text.
            refused = any(
                isinstance(x, ChromaAuthError | AuthorizationError) or type(x) is Exception for x in _chain(e)
            )
            if refused:
                return StoreError(
                    f"the {where} refused {what}: {str(e)[:300]}. If it requires a token, set IRCHAT_CHROMA_TOKEN."
                )
            return StoreError(f"{what} failed on the {where}: {e}")
        return StoreError(f"{what} failed on embedded Chroma at {self.location}: {e}")

    def _batch_size(self) -> int:
        if self._max_batch is None:
            client = self._client
            server_max = client.get_max_batch_size() if client is not None else 1000
            self._max_batch = max(1, min(server_max, self._batch_limit or server_max))
        return self._max_batch

    def close(self) -> None:
        """Release the client (embedded Chroma's files are closed when its last client goes)."""
        with self._lock:
            self._reset()

    def configuration(self) -> dict[str, Any]:
        """The collection's configuration as Chroma reports it (distance space, embedding function)."""
        return self._run("reading the configuration", lambda col: dict(col.configuration_json or {}))

    def collection_id(self) -> str:
        """The collection's id, which a collection created again under the same name does not keep."""
        return self._run("opening the collection", lambda col: str(col.id))

    def ping(self) -> None:
        """Connect and open the collection now, raising :class:`StoreError` if that fails."""
        self._run("opening the collection", lambda col: col.id)

    # -- embedder bookkeeping ------------------------------------------------------------------

    def embedder_info(self) -> tuple[str, int] | None:
        """(name, dim) of the embedder the collection was built with, if recorded."""

        def read(col: Collection) -> tuple[str, int] | None:
            meta = col.metadata or {}
            if EMBEDDER_KEY in meta and DIM_KEY in meta:
                return str(meta[EMBEDDER_KEY]), int(meta[DIM_KEY])
            return None

        return self._run("reading collection metadata", read)

    def check_embedder(self, name: str, dim: int) -> None:
        """Refuse a collection built with another model; record the model on a collection that has none."""
        self._run("checking the embedder", lambda col: self._check_embedder(col, name, dim))
        self._embedder = (name, int(dim))

    def _check_embedder(self, col: Collection, name: str, dim: int) -> None:
        meta = dict(col.metadata or {})
        built = (meta.get(EMBEDDER_KEY), meta.get(DIM_KEY))
        if built[0] is None or built[1] is None:
            if col.count():
                # Vectors without a recorded model: at least make sure their dimension matches.
                got = col.get(limit=1, include=["embeddings"])["embeddings"]
                if got is not None and len(got) and len(got[0]) != dim:
                    raise self._mismatch(f"unknown model of dimension {len(got[0])}", name, dim)
            meta = {k: v for k, v in meta.items() if not k.startswith("hnsw:")}  # modify refuses these
            meta.update({EMBEDDER_KEY: name, DIM_KEY: int(dim)})
            col.modify(metadata=meta)
            return
        if built[0] != name or int(built[1]) != int(dim):
            raise self._mismatch(f"'{built[0]}' (dimension {built[1]})", name, dim)

    def _mismatch(self, built: str, name: str, dim: int) -> StoreError:
        return StoreError(
            f"collection '{self.collection_name}' at {self.location} was built with the embedding model "
            f"{built}, but the configured model is '{name}' (dimension {dim}). Re-ingest into a new "
            "collection (set IRCHAT_COLLECTION to a new name, or delete this one), or set IRCHAT_EMBED_MODEL "
            "back to the model it was built with."
        )

    # -- Store protocol --------------------------------------------------------------------------

    def upsert(self, chunks: Sequence[Chunk], embeddings: np.ndarray) -> None:
        """Insert or replace chunks with their vectors, in batches Chroma accepts."""
        vectors = np.asarray(embeddings, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(chunks):
            raise StoreError(f"upsert: {len(chunks)} chunks but embeddings of shape {vectors.shape}")
        if not chunks:
            return
        if self._embedder is not None and vectors.shape[1] != self._embedder[1]:
            raise StoreError(
                f"upsert: vectors have dimension {vectors.shape[1]}, the collection holds {self._embedder[1]}"
            )
        # Chroma refuses a batch with a repeated id; say which, rather than relay its error.
        dupes = sorted(i for i, n in Counter(c.id for c in chunks).items() if n > 1)
        if dupes:
            raise StoreError(f"upsert: duplicate chunk ids in one call: {', '.join(dupes[:5])}")

        def write(col: Collection) -> None:
            for start in range(0, len(chunks), self._batch_size()):
                part = chunks[start : start + self._batch_size()]
                col.upsert(
                    ids=[c.id for c in part],
                    embeddings=vectors[start : start + len(part)],
                    documents=[c.text for c in part],
                    metadatas=[_write_metadata(c) for c in part],
                )

        self._run("upsert", write)

    def delete(self, ids: Sequence[str]) -> None:
        """Remove chunks by id; unknown ids are ignored."""
        ids = list(dict.fromkeys(ids))
        if not ids:
            return  # Chroma's delete with no ids and no filter is not a no-op we want to rely on

        def remove(col: Collection) -> None:
            for part in batched(ids, self._batch_size()):
                col.delete(ids=part)

        self._run("delete", remove)

    def _pages(self, col: Collection, where: dict[str, Any] | None, include: list[str]) -> Iterable[Any]:
        offset = 0
        while True:
            page = col.get(where=where, include=include, limit=PAGE_SIZE, offset=offset)  # type: ignore[arg-type]
            yield page
            if len(page["ids"]) < PAGE_SIZE:
                return
            offset += PAGE_SIZE

    def ids(self, where: dict[str, Any] | None = None) -> list[str]:
        """Ids of the stored chunks matching ``where`` (a simple filter dict), in no particular order.

        Ids alone are cheap where metadata is not: at 125k chunks all ids take ~0.4 s, all hashes ~30 s.
        """
        chroma_where = build_where(where)

        def read(col: Collection) -> list[str]:
            out: list[str] = []
            offset = 0
            while True:
                page = col.get(where=chroma_where, include=[], limit=IDS_PAGE_SIZE, offset=offset)  # type: ignore[arg-type]
                out.extend(page["ids"])
                if len(page["ids"]) < IDS_PAGE_SIZE:
                    return out
                offset += IDS_PAGE_SIZE

        return self._run("reading ids", read)

    def hashes(self, where: dict[str, Any] | None = None) -> dict[str, str]:
        """Content hash of each stored chunk matching ``where`` (a simple filter dict), by id."""
        chroma_where = build_where(where)

        def read(col: Collection) -> dict[str, str]:
            out: dict[str, str] = {}
            for page in self._pages(col, chroma_where, ["metadatas"]):
                for id_, meta in zip(page["ids"], page["metadatas"], strict=True):
                    out[id_] = str((meta or {}).get("content_hash", ""))
            return out

        return self._run("reading hashes", read)

    def get(self, ids: Sequence[str] | None = None, where: dict[str, Any] | None = None) -> list[Chunk]:
        """Stored chunks by id (in the order asked, missing ids skipped) or by filter; all when both None."""
        chroma_where = build_where(where)
        include = ["documents", "metadatas"]
        if ids is not None:
            wanted = list(dict.fromkeys(ids))
            if not wanted:
                return []  # Chroma's get(ids=[]) would return everything

            def by_id(col: Collection) -> list[Chunk]:
                found: dict[str, Chunk] = {}
                for part in batched(wanted, PAGE_SIZE):
                    page = col.get(ids=part, where=chroma_where, include=include)  # type: ignore[arg-type]
                    for row in zip(page["ids"], page["documents"], page["metadatas"], strict=True):
                        found[row[0]] = _chunk(*row)
                return [found[i] for i in wanted if i in found]

            return self._run("get", by_id)

        def by_filter(col: Collection) -> list[Chunk]:
            out: list[Chunk] = []
            for page in self._pages(col, chroma_where, include):
                out.extend(_chunk(*row) for row in zip(page["ids"], page["documents"], page["metadatas"], strict=True))
            return out

        return self._run("get", by_filter)

    def vectors(self, ids: Sequence[str]) -> tuple[list[Chunk], np.ndarray]:
        """Stored chunks by id with their vectors (one row each, in the order of the chunks; missing ids skipped)."""
        wanted = list(dict.fromkeys(ids))

        def read(col: Collection) -> tuple[list[Chunk], np.ndarray]:
            chunks: list[Chunk] = []
            rows: list[np.ndarray] = []
            for part in batched(wanted, PAGE_SIZE):
                page = col.get(ids=part, include=["documents", "metadatas", "embeddings"])  # type: ignore[list-item]
                found = zip(page["ids"], page["documents"], page["metadatas"], page["embeddings"], strict=True)
                for i, d, m, e in found:
                    chunks.append(_chunk(i, d, m))
                    rows.append(np.asarray(e, dtype=np.float32))
            return chunks, (np.vstack(rows) if rows else np.zeros((0, 0), dtype=np.float32))

        return self._run("reading vectors", read) if wanted else ([], np.zeros((0, 0), dtype=np.float32))

    def query(
        self,
        embedding: np.ndarray,
        k: int,
        where: dict[str, Any] | None = None,
        *,
        ids: Iterable[str] | None = None,
    ) -> list[Hit]:
        """The ``k`` nearest chunks, best first; score = 1 - cosine distance = cosine similarity.

        ``ids`` restricts the search to those chunks (ids not stored are ignored; no ids at all finds nothing).
        For a narrow filter resolved to ids once, this is several times cheaper than ``where``: at 125k chunks,
        one company's 679 chunks took 15 ms by ids against 65 ms by ``where`` (benchmarks/scale.py).
        """
        if k <= 0:
            return []
        wanted: list[str] | None = None
        if ids is not None:
            wanted = list(dict.fromkeys(ids))
            if not wanted:
                return []
        vector = np.asarray(embedding, dtype=np.float32).reshape(-1)
        chroma_where = build_where(where)

        def nearest(col: Collection, restrict: list[str] | None) -> Any:
            return col.query(
                query_embeddings=[vector],
                n_results=k,
                where=chroma_where,
                include=["documents", "metadatas", "distances"],  # type: ignore[list-item]
                **({"ids": restrict} if restrict is not None else {}),
            )

        def search(col: Collection) -> list[Hit]:
            from chromadb.errors import InternalError

            try:
                res = nearest(col, wanted)
            except InternalError as e:
                # Chroma refuses the whole query when one of the ids is not stored (e.g. deleted since the
                # caller listed them): search the ones that are.
                if wanted is None or "finding id" not in str(e):
                    raise
                present = col.get(ids=wanted, include=[])["ids"]
                if not present:
                    return []
                res = nearest(col, present)
            rows = zip(res["ids"][0], res["documents"][0], res["metadatas"][0], res["distances"][0], strict=True)
            hits = [Hit(_chunk(i, d, m), _similarity(dist)) for i, d, m, dist in rows]
            hits.sort(key=lambda h: h.score, reverse=True)
            return hits

        return self._run("query", search)

    def nearest(self, embedding: np.ndarray, k: int) -> list[tuple[str, float]]:
        """Ids and cosine similarities of the ``k`` nearest chunks, best first, without reading the chunks:
        the cheap first half of a search whose results are filtered before they are read."""
        if k <= 0:
            return []
        vector = np.asarray(embedding, dtype=np.float32).reshape(-1)

        def search(col: Collection) -> list[tuple[str, float]]:
            res = col.query(query_embeddings=[vector], n_results=k, include=["distances"])  # type: ignore[list-item]
            rows = zip(res["ids"][0], res["distances"][0], strict=True)
            pairs = [(i, _similarity(d)) for i, d in rows]
            pairs.sort(key=lambda p: p[1], reverse=True)
            return pairs

        return self._run("query", search)

    def count(self) -> int:
        """Number of stored chunks."""
        return self._run("count", lambda col: col.count())

    # -- search health -------------------------------------------------------------------------
    #
    # Chroma's HNSW graph can lose live entries after deletes and updates: a chunk that `get` returns is then
    # never returned by `query`, even for its own vector and any n_results (chroma-core/chroma#7758, open for
    # 1.5.9; seen here once in CI after a re-ingest of edited records). Re-adding such a chunk links it to
    # neighbours a search reaches; a chunk that stays lost is cured by a copy of the collection into a fresh
    # graph. Both run only under the ingest lock (see ingest.pipeline).

    def unfindable(self) -> list[str]:
        """Ids of stored chunks that a search with their own stored vector does not return."""

        def scan(col: Collection) -> list[str]:
            total = col.count()
            lost: list[str] = []
            for page in self._pages(col, None, ["embeddings"]):
                for start in range(0, len(page["ids"]), FINDABLE_BATCH):
                    ids = page["ids"][start : start + FINDABLE_BATCH]
                    res = col.query(
                        query_embeddings=page["embeddings"][start : start + FINDABLE_BATCH],
                        n_results=min(FINDABLE_K, total),
                        include=["distances"],  # type: ignore[list-item]
                    )
                    for own, found, distances in zip(ids, res["ids"], res["distances"], strict=True):
                        # k exact copies of the text ahead of it: the search may rank it after them, not lose it
                        if own not in found and not (len(found) == FINDABLE_K and distances[-1] <= TIE_DISTANCE):
                            lost.append(own)
            return lost

        return self._run("checking that every chunk is findable", scan)

    def reinsert(self, ids: Sequence[str]) -> None:
        """Delete and add these chunks again, vectors unchanged, so the graph links them afresh.

        Killed in between, the chunks are missing from the store, and the next ingest writes them again."""
        chunks, vectors = self.vectors(ids)
        if chunks:
            self.delete([c.id for c in chunks])
            self.upsert(chunks, vectors)

    def rebuild(self) -> None:
        """Copy the collection into a fresh one (a new search graph) and swap it in under the same name."""
        name = self.collection_name
        fresh, old = name + REBUILD_SUFFIX, name + OLD_SUFFIX
        # Not through _run: a retry part way through the swap would copy from an empty collection.
        with self._lock:
            try:
                col = self._col()
                client = self._client
                assert client is not None
                self._drop(client, fresh)
                target = client.create_collection(
                    fresh,
                    configuration={"hnsw": {"space": "cosine"}},
                    metadata={k: v for k, v in (col.metadata or {}).items() if not k.startswith("hnsw:")} or None,
                    embedding_function=None,
                )
                for page in self._pages(col, None, ["documents", "metadatas", "embeddings"]):
                    for start in range(0, len(page["ids"]), self._batch_size()):
                        end = start + self._batch_size()
                        target.add(
                            ids=page["ids"][start:end],
                            embeddings=page["embeddings"][start:end],
                            documents=page["documents"][start:end],
                            metadatas=page["metadatas"][start:end],
                        )
                total, copied = col.count(), target.count()
                if copied != total:
                    self._drop(client, fresh)
                    raise StoreError(
                        f"rebuilding collection '{name}' at {self.location}: the copy holds {copied} of {total} "
                        "chunks; the collection is left as it was"
                    )
                # From here a kill leaves the old collection under `old`, which recover() puts back, or drops
                # once the fresh one holds the name.
                col.modify(name=old)
                self._collection = None
                try:
                    target.modify(name=name)
                except Exception:
                    # a reader opening the store between the two renames creates the name, empty
                    if client.get_collection(name, embedding_function=None).count():
                        raise
                    client.delete_collection(name)
                    target.modify(name=name)
                client.delete_collection(old)
            except StoreError:
                raise
            except Exception as e:
                self._reset()
                raise self._error("rebuilding the collection", e) from e

    def recover(self) -> None:
        """Finish or undo a :meth:`rebuild` that was killed half way (call with the ingest lock held)."""
        name = self.collection_name
        fresh, old = name + REBUILD_SUFFIX, name + OLD_SUFFIX

        def repair(col: Collection) -> None:
            client = self._client
            assert client is not None
            if _exists(client, old):
                if col.count() == 0:  # killed between the two renames: `name` was recreated empty since
                    log.warning("putting back collection '%s' from an interrupted rebuild", name)
                    self._collection = None
                    client.delete_collection(name)
                    client.get_collection(old, embedding_function=None).modify(name=name)
                else:
                    client.delete_collection(old)
            if _exists(client, fresh):
                client.delete_collection(fresh)

        self._run("recovering an interrupted rebuild", repair)

    @staticmethod
    def _drop(client: ClientAPI, name: str) -> None:
        if _exists(client, name):
            client.delete_collection(name)


def _exists(client: ClientAPI, name: str) -> bool:
    # a lookup by name, not list_collections: a server may page that list
    from chromadb.errors import NotFoundError

    try:
        client.get_collection(name, embedding_function=None)
    except NotFoundError:
        return False
    return True


def _similarity(distance: float) -> float:
    # Clipped: float error puts an identical vector at distance -1e-7, i.e. similarity 1.0000001.
    return min(1.0, max(-1.0, 1.0 - float(distance)))


def _chain(e: BaseException) -> Iterable[BaseException]:
    seen: set[int] = set()
    cur: BaseException | None = e
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        yield cur
        cur = cur.__cause__ or cur.__context__


def _is_connection_error(e: BaseException) -> bool:
    # chromadb wraps some of these (ValueError "Could not connect to a Chroma server"): look down the chain.
    return any(isinstance(x, httpx.TransportError | ConnectionError | TimeoutError) for x in _chain(e))


def _root(e: BaseException) -> str:
    for x in _chain(e):
        if isinstance(x, httpx.TransportError | ConnectionError | TimeoutError):
            return f"{type(x).__name__}: {x}" if str(x) else type(x).__name__
    return str(e)


def _chroma_settings(**kw: Any) -> ChromaSettings:
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, **kw)


def embedded_client(path: Path) -> ClientAPI:
    """An embedded (in-process) Chroma client persisting to ``path``."""
    import chromadb

    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=_chroma_settings())


def http_client(host: str, port: int, token: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> ClientAPI:
    """A client of a Chroma server; ``token`` is sent as ``Authorization: Bearer <token>``."""
    import chromadb
    from chromadb.errors import ChromaAuthError

    limit = httpx.Timeout(timeout, connect=min(timeout, 5.0))
    # chromadb's client talks to the server while it is being built, with no timeout at all: a server
    # that accepts connections but never answers would hang us there. Ask for a heartbeat first.
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    resp = httpx.get(f"http://{host}:{port}/api/v2/heartbeat", headers=headers, timeout=limit)
    if resp.status_code in (401, 403):
        raise ChromaAuthError(f"HTTP {resp.status_code}: {resp.text[:200]}")
    kw: dict[str, Any] = {}
    if token:
        kw = {
            "chroma_client_auth_provider": "chromadb.auth.token_authn.TokenAuthClientProvider",
            "chroma_client_auth_credentials": token,
        }
    client = chromadb.HttpClient(host=host, port=port, settings=_chroma_settings(**kw))
    # Same reason for every later request: chromadb builds its httpx session with timeout=None.
    session = getattr(getattr(client, "_server", None), "_session", None)
    if isinstance(session, httpx.Client):
        session.timeout = limit
    return client


def open_store(
    settings: Settings,
    *,
    embedder_name: str | None = None,
    dim: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> ChromaStore:
    """The store the settings point at: a Chroma server when ``chroma_host`` is set, else embedded Chroma.

    Connects now, so a wrong address or an unusable folder fails here with a :class:`StoreError`. With
    ``embedder_name`` and ``dim`` the collection is also checked against the model (see
    :meth:`ChromaStore.check_embedder`).
    """
    if settings.chroma_host:
        host, port = settings.chroma_host, settings.chroma_port
        token = settings.chroma_token.get_secret_value() if settings.chroma_token else None
        store = ChromaStore(
            lambda: http_client(host, port, token, timeout),
            settings.collection,
            location=f"{host}:{port}",
            server=(host, port),
        )
    else:
        path = settings.resolved_chroma_path
        store = ChromaStore(lambda: embedded_client(path), settings.collection, location=str(path))
    try:
        store.ping()
    except StoreError:
        store.close()
        raise
    if embedder_name is not None and dim is not None:
        store.check_embedder(embedder_name, dim)
    return store
