"""BM25 index over chunk texts (bm25s), keyed by the same chunk ids as the vector store.

Build it from ``(id, text)`` pairs, search it, save it, load it::

    index = LexicalIndex.build(pairs)
    index.search("毛利率提升的原因", k=10, allowed_ids={...})  # [(id, score), ...] best first
    index.save(settings.lexical_dir)
    index = LexicalIndex.load(settings.lexical_dir)
    index = index.rebuild(new_pairs)  # re-cuts only texts it has not seen

bm25s cannot add documents to an index, so every change rebuilds it; what makes that cheap is the token
cache kept with the index (each text's tokens by content hash), so a rebuild only re-tokenises texts it
has not seen, and the BM25 matrix is assembled with vectorised numpy rather than bm25s's per-document
Python loop (bit-identical scores, checked by the tests).

On disk a folder holds ``CURRENT`` (the name of the live version) and one ``index-*`` folder per
version with a ``manifest.json`` (analyser, parameters, ids, size and SHA-256 of every file). A save
writes a new version in a temporary folder, renames it into place and only then swaps ``CURRENT``, so
a reader sees the old index or the new one, never half of each. Saves must not run concurrently (the
ingest lock serialises them).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import Any

import bm25s
import numpy as np

from rag.errors import IrchatError
from rag.tokenize import analyser_fingerprint, iter_tokenize, tokenize

__all__ = ["BuildStats", "LexicalIndex", "LexicalIndexError"]

FORMAT = 1
_POINTER = "CURRENT"
_MANIFEST = "manifest.json"
_VERSION_RE = re.compile(r"index-[0-9A-Za-z-]{1,64}")
_BM25_FILES = (
    "data.csc.index.npy",
    "indices.csc.index.npy",
    "indptr.csc.index.npy",
    "vocab.index.json",
    "params.index.json",
)
_CACHE_FILES = ("tokens.npy", "offsets.npy", "hashes.npy")
_STALE_TMP_S = 3600
_DIGEST = 16
_BLOCK_DOCS = 8192


class LexicalIndexError(IrchatError):
    """The lexical index on disk is missing, partial, corrupt, or was cut by other analyser rules."""


@dataclass(frozen=True)
class BuildStats:
    """What a build did: how many texts it tokenised and how many it took from the token cache."""

    documents: int
    tokenised: int
    reused: int
    tokenise_s: float
    index_s: float


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=_DIGEST).digest()


def _bm25_matrix(
    tokens: np.ndarray, offsets: np.ndarray, n_vocab: int, k1: float, b: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """bm25s's "lucene" score matrix in CSC form (column = token, row = document), vectorised.

    The arrays ``bm25s.BM25(method="lucene").index`` builds, bit for bit, without its per-token Python
    objects: at 100k chunks bm25s's own loop takes ~45 s and ~2.5 GB.
    """
    n_docs = len(offsets) - 1
    lengths = np.diff(offsets)
    # Pass 1, a block of documents at a time to bound the temporaries: each block's (token, document)
    # pairs with their term frequency, sorted by token; and every token's document frequency.
    blocks = []
    df = np.zeros(n_vocab, dtype=np.int64)
    for start in range(0, n_docs, _BLOCK_DOCS):
        stop = min(start + _BLOCK_DOCS, n_docs)
        width = stop - start
        local = np.repeat(np.arange(width, dtype=np.int64), lengths[start:stop])
        keys, tf = np.unique(
            tokens[offsets[start] : offsets[stop]].astype(np.int64) * width + local, return_counts=True
        )
        term = keys // width
        row = (keys - term * width + start).astype(np.int32)
        term = term.astype(np.int32)
        df += np.bincount(term, minlength=n_vocab)
        blocks.append((term, row, tf.astype(np.int32)))
    indptr = np.zeros(n_vocab + 1, dtype=np.int64)
    np.cumsum(df, out=indptr[1:])
    # bm25s's arithmetic exactly: idf rounded to float32, the tf part in float64, the product rounded to
    # float32; so scores match bm25s's own index bit for bit.
    idf = np.log(1 + (n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
    avg = float(lengths.mean()) if n_docs and lengths.any() else 1.0
    norm = k1 * ((1.0 - b) + b * lengths / avg)
    data = np.empty(indptr[-1], dtype=np.float32)
    rows = np.empty(indptr[-1], dtype=np.int32)
    # Pass 2: score each block and drop its pairs into their columns after the earlier blocks' pairs,
    # so rows ascend within a column without a global sort.
    fill = indptr[:-1].copy()
    blocks.reverse()
    while blocks:
        term, row, tf = blocks.pop()
        if not len(term):
            continue
        starts = np.flatnonzero(np.concatenate(([True], term[1:] != term[:-1])))
        counts = np.diff(np.append(starts, len(term)))
        pos = fill[term] + (np.arange(len(term)) - np.repeat(starts, counts))
        fill[term[starts]] += counts
        t = tf.astype(np.float64)
        data[pos] = idf[term].astype(np.float64) * (t / (norm[row] + t))
        rows[pos] = row
    return data, rows, indptr


def _file_sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _manifest_checksum(manifest: dict[str, Any]) -> str:
    body = {k: v for k, v in manifest.items() if k != "checksum"}
    blob = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LexicalIndex:
    """An immutable BM25 index over chunk texts; build or load one, then search it from any thread."""

    def __init__(self, *, k1: float = 1.5, b: float = 0.75) -> None:
        """An empty index; ``k1``/``b`` are BM25's term-saturation and length-normalisation settings."""
        if k1 < 0 or not 0.0 <= b <= 1.0:
            raise ValueError(f"BM25 needs k1 >= 0 and 0 <= b <= 1, got k1={k1}, b={b}")
        self._k1 = float(k1)
        self._b = float(b)
        self._ids: tuple[str, ...] = ()
        self._row: dict[str, int] = {}
        self._bm25: bm25s.BM25 | None = None
        self._vocab: list[str] | None = []
        self._tokens: np.ndarray = np.zeros(0, dtype=np.int32)
        self._offsets: np.ndarray = np.zeros(1, dtype=np.int64)
        self._hashes: np.ndarray = np.zeros((0, _DIGEST), dtype=np.uint8)
        self.last_build: BuildStats | None = None

    # -- building -------------------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        items: Iterable[tuple[str, str]],
        *,
        previous: LexicalIndex | None = None,
        k1: float = 1.5,
        b: float = 0.75,
        workers: int = 1,
    ) -> LexicalIndex:
        """Index ``(id, text)`` pairs; texts already in ``previous``'s token cache are not re-tokenised.

        ``workers > 1`` tokenises large batches in that many processes.
        """
        index = cls(k1=k1, b=b)
        pairs = list(items)
        for cid, text in pairs:
            if not isinstance(cid, str) or not isinstance(text, str):
                raise TypeError(f"lexical index items must be (str id, str text), got {type(cid)}, {type(text)}")
        ids = [cid for cid, _ in pairs]
        dupes = [cid for cid, n in Counter(ids).items() if n > 1]
        if dupes:
            raise ValueError(f"duplicate chunk ids given to the lexical index: {sorted(dupes)[:5]}")

        t0 = time.perf_counter()
        hashes = [_digest(text) for _, text in pairs]
        cache = previous._cache() if previous is not None else None
        by_hash, old_tokens, old_offsets, old_vocab = cache or (
            {},
            np.zeros(0, np.int32),
            np.zeros(1, np.int64),
            [],
        )
        source = [by_hash.get(h, -1) for h in hashes]

        # Tokens still used by reused texts keep (compacted) ids; tokens only removed texts had drop out.
        used = np.zeros(len(old_vocab), dtype=bool)
        for s in source:
            if s >= 0:
                used[old_tokens[old_offsets[s] : old_offsets[s + 1]]] = True
        kept = np.flatnonzero(used)
        remap = np.full(len(old_vocab), -1, dtype=np.int32)
        remap[kept] = np.arange(len(kept), dtype=np.int32)
        vocab: dict[str, int] = {old_vocab[i]: n for n, i in enumerate(kept.tolist())}

        fresh = [text for (_, text), s in zip(pairs, source, strict=True) if s < 0]
        fresh_docs: list[np.ndarray] = []
        for toks in iter_tokenize(fresh, workers=workers):
            # Ids straight away: 40M token strings at 100k chunks would need gigabytes.
            fresh_docs.append(np.fromiter((vocab.setdefault(t, len(vocab)) for t in toks), np.int32, len(toks)))
        t1 = time.perf_counter()

        parts: list[np.ndarray] = []
        fresh_iter = iter(fresh_docs)
        for s in source:
            if s >= 0:
                parts.append(remap[old_tokens[old_offsets[s] : old_offsets[s + 1]]])
            else:
                parts.append(next(fresh_iter))
        lengths = np.fromiter((len(p) for p in parts), np.int64, len(parts))
        index._tokens = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)
        index._offsets = np.zeros(len(parts) + 1, dtype=np.int64)
        np.cumsum(lengths, out=index._offsets[1:])
        del parts, fresh_docs, fresh_iter  # the flat copy is all that is needed from here on
        index._hashes = np.frombuffer(b"".join(hashes), dtype=np.uint8).reshape(-1, _DIGEST)
        index._vocab = list(vocab)
        index._set_ids(ids)
        index._bm25 = index._make_bm25(vocab) if pairs else None
        index.last_build = BuildStats(
            documents=len(pairs),
            tokenised=len(fresh),
            reused=len(pairs) - len(fresh),
            tokenise_s=t1 - t0,
            index_s=time.perf_counter() - t1,
        )
        return index

    def rebuild(self, items: Iterable[tuple[str, str]], *, workers: int = 1) -> LexicalIndex:
        """A new index over ``items`` with this one's settings, reusing this one's token cache."""
        return type(self).build(items, previous=self, k1=self._k1, b=self._b, workers=workers)

    def _make_bm25(self, vocab: dict[str, int]) -> bm25s.BM25:
        data, indices, indptr = _bm25_matrix(self._tokens, self._offsets, len(vocab), self._k1, self._b)
        bm25 = bm25s.BM25(k1=self._k1, b=self._b, method="lucene", backend="numpy")
        # The attributes bm25s.BM25.index sets; retrieve, save and load work on them unchanged.
        bm25.scores = {"data": data, "indices": indices, "indptr": indptr, "num_docs": len(self._ids)}
        bm25.vocab_dict = vocab
        bm25.unique_token_ids_set = set(vocab.values())
        bm25.nonoccurrence_array = None
        return bm25

    def _set_ids(self, ids: list[str]) -> None:
        self._ids = tuple(ids)
        self._row = {cid: i for i, cid in enumerate(ids)}

    def _cache(self) -> tuple[dict[bytes, int], np.ndarray, np.ndarray, list[str]] | None:
        """Row by content hash, flat token ids, offsets, vocabulary; None when there is nothing to reuse."""
        if not self._ids:
            return None
        if self._vocab is None:  # loaded: invert bm25s's vocabulary once
            assert self._bm25 is not None
            if len(self._tokens) and int(self._tokens.max()) >= len(self._bm25.vocab_dict):
                raise LexicalIndexError("token cache refers to tokens outside the vocabulary; rebuild from scratch")
            vocab = [""] * len(self._bm25.vocab_dict)
            for tok, i in self._bm25.vocab_dict.items():
                vocab[i] = tok
            self._vocab = vocab
        # Raw bytes, not numpy "S16": that type drops trailing NUL bytes and so changes some digests.
        raw = np.ascontiguousarray(self._hashes).tobytes()
        by_hash = {raw[i : i + _DIGEST]: i // _DIGEST for i in range(0, len(raw), _DIGEST)}
        return by_hash, self._tokens, self._offsets, self._vocab

    # -- reading ---------------------------------------------------------------------------------------

    @property
    def ids(self) -> tuple[str, ...]:
        """Chunk ids in index order."""
        return self._ids

    @property
    def k1(self) -> float:
        """BM25 term-frequency saturation."""
        return self._k1

    @property
    def b(self) -> float:
        """BM25 length normalisation."""
        return self._b

    def __len__(self) -> int:
        return len(self._ids)

    def __repr__(self) -> str:
        vocab = len(self._bm25.vocab_dict) if self._bm25 is not None else 0
        return f"LexicalIndex({len(self)} chunks, {vocab} tokens, k1={self._k1}, b={self._b})"

    def idf(self, token: str) -> float:
        """BM25 idf of ``token`` in this index; a token no chunk contains gets the highest idf possible."""
        n = len(self._ids)
        df = 0
        if self._bm25 is not None:
            col = self._bm25.vocab_dict.get(token)
            if col is not None:
                indptr = self._bm25.scores["indptr"]
                df = int(indptr[col + 1] - indptr[col])
        return float(np.log(1 + (n - df + 0.5) / (df + 0.5)))

    def search(self, query: str, k: int = 10, allowed_ids: Iterable[str] | None = None) -> list[tuple[str, float]]:
        """Up to ``k`` ``(id, score)`` pairs best first, only chunks sharing a token with the query.

        ``allowed_ids`` restricts the result to those chunks (unknown ids are ignored).
        """
        if k <= 0 or self._bm25 is None:
            return []
        vocab = self._bm25.vocab_dict
        tokens = [t for t in tokenize(query) if t in vocab]
        if not tokens:
            return []
        mask = None
        if allowed_ids is not None:
            # map/fromiter keep the id lookups in C: a filter of 90k ids costs ~10 ms, not ~60.
            rows = np.fromiter(map(self._row.get, allowed_ids, repeat(-1)), dtype=np.int64)
            rows = rows[rows >= 0]
            if not len(rows):
                return []
            mask = np.zeros(len(self._ids), dtype=np.float32)
            mask[rows] = 1.0
        scores = self._bm25.get_scores(tokens, weight_mask=mask)
        # Own top-k rather than bm25s.retrieve: with a mask most scores are 0 and argpartition over that
        # many ties is slow; and ties are broken by index order, so equal scores come back the same way.
        hits = np.flatnonzero(scores > 0)
        if len(hits) > k:
            kth = np.partition(scores[hits], len(hits) - k)[len(hits) - k]
            hits = hits[scores[hits] >= kth]
        hits = hits[np.lexsort((hits, -scores[hits]))][:k]
        return [(self._ids[i], float(scores[i])) for i in hits.tolist()]

    # -- persistence ---------------------------------------------------------------------------------

    def save(self, directory: str | Path) -> Path:
        """Write the index as a new version under ``directory`` and make it current; returns its folder."""
        directory = Path(directory)
        name = f"index-{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(4)}"
        tmp = directory / f".tmp-{name}"
        try:
            directory.mkdir(parents=True, exist_ok=True)
            previous = self._current_name(directory)
            tmp.mkdir()
            if self._bm25 is not None:
                self._bm25.save(tmp, show_progress=False)
            np.save(tmp / "tokens.npy", np.ascontiguousarray(self._tokens, dtype=np.int32), allow_pickle=False)
            np.save(tmp / "offsets.npy", np.ascontiguousarray(self._offsets, dtype=np.int64), allow_pickle=False)
            np.save(tmp / "hashes.npy", np.ascontiguousarray(self._hashes, dtype=np.uint8), allow_pickle=False)
            files = {}
            for path in sorted(tmp.iterdir()):
                _fsync(path)
                files[path.name] = {"bytes": path.stat().st_size, "sha256": _file_sha256(path)}
            manifest: dict[str, Any] = {
                "format": FORMAT,
                "analyser": analyser_fingerprint(),
                "bm25s": bm25s.__version__,
                "k1": self._k1,
                "b": self._b,
                "count": len(self._ids),
                "vocab": len(self._bm25.vocab_dict) if self._bm25 is not None else 0,
                "ids": list(self._ids),
                "files": files,
            }
            manifest["checksum"] = _manifest_checksum(manifest)
            with open(tmp / _MANIFEST, "w", encoding="utf-8") as f:
                json.dump(manifest, f, ensure_ascii=False)
                f.flush()
                os.fsync(f.fileno())
            _fsync(tmp)
            os.rename(tmp, directory / name)
            pointer_tmp = directory / f".{_POINTER}.{secrets.token_hex(4)}"
            with open(pointer_tmp, "w", encoding="utf-8") as f:
                f.write(name + "\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(pointer_tmp, directory / _POINTER)
            _fsync(directory)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise LexicalIndexError(f"{directory}: could not save the lexical index: {exc}") from exc
        self._clean(directory, keep={name, previous})
        return directory / name

    @staticmethod
    def _current_name(directory: Path) -> str | None:
        try:
            return (directory / _POINTER).read_text(encoding="utf-8").strip() or None
        except (OSError, UnicodeDecodeError):
            return None

    @classmethod
    def _clean(cls, directory: Path, keep: set[str | None]) -> None:
        """Drop superseded versions; the one just replaced stays, a reader may still be loading it."""
        keep = keep | {cls._current_name(directory)}
        now = time.time()
        for entry in directory.iterdir():
            try:
                if entry.name.startswith("index-") and entry.name not in keep:
                    shutil.rmtree(entry, ignore_errors=True)
                elif (
                    entry.name.startswith((".tmp-index-", f".{_POINTER}."))
                    and now - entry.lstat().st_mtime > _STALE_TMP_S  # left by a crashed save
                ):
                    if entry.is_dir():
                        shutil.rmtree(entry, ignore_errors=True)
                    else:
                        entry.unlink(missing_ok=True)
            except OSError:
                continue

    @classmethod
    def load(cls, directory: str | Path, *, mmap: bool = False) -> LexicalIndex:
        """The current version saved under ``directory``, every file checked against its manifest.

        ``mmap`` maps the score matrix instead of reading it into memory (the token cache is always
        mapped: only a rebuild reads it). Raises :class:`LexicalIndexError` if anything is missing, cut
        short, altered, or was built by other analyser rules.
        """
        directory = Path(directory)
        if not directory.is_dir():
            raise LexicalIndexError(f"{directory}: no lexical index here (folder missing); build and save one")
        name = cls._current_name(directory)
        if name is None:
            raise LexicalIndexError(
                f"{directory / _POINTER}: missing or unreadable, so no complete lexical index was saved here"
            )
        if not _VERSION_RE.fullmatch(name):
            raise LexicalIndexError(f"{directory / _POINTER}: expected an index-* folder name, found {name!r}")
        vdir = directory / name
        if not vdir.is_dir():
            raise LexicalIndexError(f"{vdir}: named by {_POINTER} but missing; rebuild the lexical index")
        manifest = cls._read_manifest(vdir)
        try:
            return cls._load_version(vdir, manifest, mmap=mmap)
        except LexicalIndexError:
            raise
        except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
            raise LexicalIndexError(f"{vdir}: unreadable lexical index ({type(exc).__name__}: {exc})") from exc

    @staticmethod
    def _read_manifest(vdir: Path) -> dict[str, Any]:
        path = vdir / _MANIFEST
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise LexicalIndexError(f"{path}: missing or not JSON ({exc}); the save did not finish") from exc
        if not isinstance(manifest, dict) or manifest.get("checksum") != _manifest_checksum(manifest):
            raise LexicalIndexError(f"{path}: checksum does not match its content; the manifest was altered")
        if manifest.get("format") != FORMAT:
            raise LexicalIndexError(f"{path}: format {manifest.get('format')!r}, this code reads format {FORMAT}")
        fingerprint = analyser_fingerprint()
        if manifest.get("analyser") != fingerprint:
            raise LexicalIndexError(
                f"{path}: built by analyser {manifest.get('analyser')!r}, this code cuts text with "
                f"{fingerprint!r}; rebuild the lexical index"
            )
        files = manifest.get("files")
        needed = set(_CACHE_FILES) | (set(_BM25_FILES) if manifest.get("count") else set())
        if not isinstance(files, dict) or not needed <= files.keys():
            raise LexicalIndexError(f"{path}: lists {sorted(files or {})}, expected at least {sorted(needed)}")
        for fname, meta in files.items():
            fpath = vdir / fname
            if not fpath.is_file():
                raise LexicalIndexError(f"{fpath}: missing; the lexical index is incomplete")
            size = fpath.stat().st_size
            if size != meta["bytes"]:
                raise LexicalIndexError(f"{fpath}: {size} bytes, the manifest expects {meta['bytes']}; cut short?")
            if _file_sha256(fpath) != meta["sha256"]:
                raise LexicalIndexError(f"{fpath}: SHA-256 does not match the manifest; the file is corrupt")
        return manifest

    @classmethod
    def _load_version(cls, vdir: Path, manifest: dict[str, Any], *, mmap: bool) -> LexicalIndex:
        index = cls(k1=manifest["k1"], b=manifest["b"])
        ids = manifest["ids"]
        count = manifest["count"]
        if not isinstance(ids, list) or len(ids) != count or len(set(ids)) != count:
            raise LexicalIndexError(f"{vdir / _MANIFEST}: {count} chunks but {len(ids)} (distinct?) ids")
        index._set_ids([str(i) for i in ids])
        index._tokens = np.load(vdir / "tokens.npy", mmap_mode="r", allow_pickle=False)
        index._offsets = np.load(vdir / "offsets.npy", allow_pickle=False)
        index._hashes = np.load(vdir / "hashes.npy", allow_pickle=False)
        index._vocab = None
        off = index._offsets
        if (
            len(off) != count + 1
            or index._hashes.shape != (count, _DIGEST)
            or off[0] != 0
            or off[-1] != len(index._tokens)
            or (count and np.any(np.diff(off) < 0))
        ):
            raise LexicalIndexError(f"{vdir}: token cache does not match the {count} chunks in the manifest")
        if count:
            bm25 = bm25s.BM25.load(vdir, mmap=mmap, load_corpus=False, show_progress=False)
            n_vocab = len(bm25.vocab_dict)
            if (
                bm25.scores["num_docs"] != count
                or n_vocab != manifest["vocab"]
                or len(bm25.scores["indptr"]) != n_vocab + 1
                or bm25.method != "lucene"
            ):
                raise LexicalIndexError(f"{vdir}: BM25 matrix, vocabulary and manifest disagree")
            index._bm25 = bm25
        return index
