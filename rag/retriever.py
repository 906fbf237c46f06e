"""Hybrid retrieval: dense search in the vector store plus BM25 beside it, fused by reciprocal rank fusion."""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, TypeVar

import numpy as np

from rag.answering.question import Question, analyse
from rag.companies import Company, CompanyDirectory, default_aliases, domain_words, read_aliases, writes_domain
from rag.dictionary import Dictionary, default_dictionary
from rag.glossary import Glossary, default_glossary
from rag.index import Index
from rag.intent import in_months, reporting_window
from rag.store import build_where
from rag.tokenize import cut
from rag.types import Chunk, Hit

Mode = Literal["hybrid", "dense", "bm25"]
_T = TypeVar("_T")
# Weights of the rankings fused by RRF, per question language; a ranking not named weighs 1.0.
DEFAULT_WEIGHTS: dict[str, dict[str, float]] = {}
# A question about who attended, when or where is answered by the record's metadata chunk: its ranking counts
# twice, so the chunk surfaces whatever the words of the question match.
_WEIGHT = {"meta": 2.0}
FILTER_KEYS = ("company", "record", "date_from", "date_to", "activity_type", "kind")
# A filter matching at most this many chunks (one company's, one record's) is read once, chunks and vectors,
# and searched exactly in memory: Chroma's search restricted to ids grows with the collection (one company's 850
# chunks: ~15 ms at 125k chunks, ~180 ms at 1.2M; through ``where`` ~65 ms and ~350 ms), a dot product over the
# filter's vectors does not (benchmarks/scale.py). Above it the filter is applied after an unfiltered search.
IDS_LIMIT = 5000
# A whole index of at most this many chunks is searched so too: exactly, and so alike on every build of the same
# records (Chroma's HNSW graph differs from one ingest to the next, and at 2,291 chunks its nearest 40 missed 2% of
# the true ones). Above it the whole index is searched through Chroma's vector index.
EXACT_LIMIT = 5000
# Filters whose chunks and vectors are kept (at most IDS_LIMIT chunks each, ~3 KB a chunk).
SUBSETS_KEPT = 32
# Passages read for a word that may be a company's domain name: a domain is printed in a few contact lines, so the
# word's best BM25 passages hold them when any do.
DOMAIN_HITS = 50
# Passages read for a character pair an English word may spell in pinyin: those that hold it most (BM25 ranks
# by its count), where a name is written whole if anywhere.
WORD_HITS = 5
# A broader filter is applied after an unfiltered search of this many times the number of nearest ids
# expected to hold ``candidates`` that pass it, up to POST_FILTER_MAX ids (4,000 nearest ids: ~5 ms at 125k).
POST_FILTER_MARGIN = 2.0
POST_FILTER_MAX = 4000


@dataclass
class Query:
    """A query as the retriever runs it: the text, its language, what the lexical side searches for, and
    the store filter it resolved to."""

    text: str
    lang: str
    lexical_text: str
    where: dict[str, Any]
    activity_type: str | None
    companies: list[Company]
    dense_text: str = ""
    months: list[tuple[int, int]] = field(default_factory=list)
    metadata: bool = False
    periods: list[tuple[int, str]] = field(default_factory=list)
    records: list[str] = field(default_factory=list)
    question: Question | None = None
    """The question as the answerer reads it (analysed once, here)."""


class HybridRetriever:
    """Dense + BM25 with RRF; English queries also search the glossary's Chinese renderings lexically.

    ``mode`` picks dense only, BM25 only or both (the evals compare them); the lexical index lives beside
    the store so a deployment on distributed Chroma could move hybrid search server-side behind this class.
    """

    def __init__(
        self,
        index: Index,
        *,
        mode: Mode = "hybrid",
        glossary: Glossary | Literal["default"] | None = "default",
        dictionary: Dictionary | Literal["default"] | None = "default",
        rrf_k: int = 60,
        candidates: int = 50,
        expand_dense: bool = True,
        weights: dict[str, dict[str, float]] | None = None,
    ):
        self.index = index
        self.mode = mode
        self.glossary = default_glossary() if glossary == "default" else glossary
        self._dictionary = dictionary
        self.rrf_k = rrf_k
        self.candidates = candidates
        self.expand_dense = expand_dense
        # Per question language, how much each ranking counts in the fusion (1.0 when not given).
        self.weights = DEFAULT_WEIGHTS if weights is None else weights
        self._lock = threading.Lock()
        self._directory: CompanyDirectory | None = None
        self._directory_generation: Any = None
        self._record_numbers: list[str] = []
        self._allowed_cache: dict[tuple[str, str | None, Any], frozenset[str]] = {}
        self._records_cache: dict[tuple[str, str, str | None, Any], list[Chunk]] = {}
        self._subsets: dict[tuple[str, str | None, Any], _Subset] = {}
        self._sizes: dict[Any, int] = {}

    def dictionary(self) -> Dictionary | None:
        """The English-Chinese dictionary for words the glossary lacks (loaded at the first English question)."""
        return default_dictionary() if self._dictionary == "default" else self._dictionary

    # -- companies -----------------------------------------------------------------------------------

    def companies(self) -> CompanyDirectory:
        """The indexed companies, refreshed when an ingest has changed the index."""
        generation = self.index.generation()
        with self._lock:
            if self._directory is None or generation != self._directory_generation:
                records = self.index.records()
                aliases = {**default_aliases(), **read_aliases(self.index.settings.aliases_file)}
                self._directory = CompanyDirectory.from_records(records, aliases)
                self._record_numbers = sorted({c.record for c in records if c.record}, key=len, reverse=True)
                self._directory_generation = generation
            return self._directory

    def named_records(self, text: str) -> list[str]:
        """Record numbers of indexed records that the text names ("编号2024-013的那场交流")."""
        self.companies()
        # (Chinese characters count as \w: "编号2024-013的" names 2024-013, "12024-013" does not)
        return [r for r in self._record_numbers if re.search(rf"(?<![0-9A-Za-z-]){re.escape(r)}(?![0-9A-Za-z-])", text)]

    def _named_by_domain(self, text: str, directory: CompanyDirectory) -> list[tuple[str, Company]]:
        """Words of a question naming no indexed company that one company's records, and no other's, write as
        their web or e-mail domain (TFME of tfme_stock@tfme.com), each with that company."""
        lexical = self.index.ensure_lexical()
        unseen = lexical.idf("\x00")
        book = self.dictionary()
        found: list[tuple[str, Company]] = []
        for word in domain_words(text):
            # an ordinary English word ("What", "Group") names no company; one no passage has is no domain here
            if (book is not None and book.lookup(word.lower())) or lexical.idf(word.lower()) >= unseen:
                continue
            ids = [cid for cid, _ in lexical.search(word.lower(), k=DOMAIN_HITS)]
            keys = {c.stock_code or c.company for c in self.index.store.get(ids=ids) if writes_domain(c.text, word)}
            company = directory.resolve(next(iter(keys))) if len(keys) == 1 else None
            if company is not None and all(company is not c for _, c in found):
                found.append((word, company))
        return found

    def _written_as_word(self, pair: str) -> bool:
        """Whether the passages that hold ``pair`` most write it as a word, by jieba's cut of them (its HMM finds
        names no dictionary has: 东莞硅翔 → 东莞, 硅翔), not as the end of one word and the start of the next."""
        ids = [cid for cid, _ in self.index.ensure_lexical().search(pair, k=WORD_HITS)]
        return any(pair in cut(c.text) for c in self.index.store.get(ids=ids) if pair in c.text)

    # -- query preparation ---------------------------------------------------------------------------

    def prepare(self, text: str, filters: dict[str, Any] | None = None) -> Query:
        """Resolve filters and company mentions, and build the lexical query text."""
        filters = {k: v for k, v in (filters or {}).items() if v not in (None, "", [])}
        unknown = set(filters) - set(FILTER_KEYS)
        if unknown:
            raise ValueError(f"unknown filter(s) {sorted(unknown)}; expected some of {list(FILTER_KEYS)}")
        directory = self.companies()
        companies: list[Company] = []
        if "company" in filters:
            wanted = filters["company"]
            for name in [wanted] if isinstance(wanted, str) else list(wanted):
                company = directory.resolve(str(name))
                if company is None:
                    raise ValueError(f"no indexed company is called {name!r}; see `irchat records`")
                companies.append(company)
        else:
            companies = directory.mentioned(text)
        spelled = [] if "company" in filters else [(w, c) for w, c in directory.spellings(text) if c in companies]
        if "company" not in filters and not companies:
            spelled = self._named_by_domain(text, directory)
            companies = [c for _, c in spelled]

        where: dict[str, Any] = {}
        if companies:
            codes = [c.stock_code for c in companies if c.stock_code]
            names = [c.name for c in companies if not c.stock_code]
            if codes and not names:
                where["stock_code"] = codes
            elif names and not codes:
                where["company"] = names
            else:
                where["$or"] = [{"stock_code": {"$in": codes}}, {"company": {"$in": names}}]
        for key in ("record", "date_from", "date_to", "kind"):
            if key in filters:
                where[key] = filters[key]

        lexical = self.index.ensure_lexical()
        question = analyse(
            text,
            companies=companies,
            known_names=directory.names_in(text),
            name_part=directory.part_of_a_name,
            records=self.named_records(text),
            spelled=spelled,
            glossary=self.glossary,
            idf=lexical.idf if len(lexical) else None,
            dictionary=self.dictionary,
            written_as_word=self._written_as_word,
        )
        dense_text = question.dense_text if self.expand_dense else text
        return Query(
            text,
            question.lang,
            question.lexical_text,
            where,
            filters.get("activity_type"),
            companies,
            dense_text,
            months=list(question.months),
            metadata=bool(question.metadata),
            periods=list(question.periods),
            records=list(question.records),
            question=question,
        )

    # -- search --------------------------------------------------------------------------------------

    def search(self, query: str, k: int = 10, filters: dict[str, Any] | None = None) -> list[Hit]:
        """Best ``k`` hits for ``query``, best first."""
        return self.search_prepared(self.prepare(query, filters), k)

    def search_prepared(self, q: Query, k: int = 10) -> list[Hit]:
        """Search with an already prepared query."""
        n = max(self.candidates, k)
        where = _store_where(q.where)
        allowed = self._allowed_ids(where, q.activity_type) if where or q.activity_type else None
        dense: list[Hit] = []
        subset = None
        if self.mode in ("hybrid", "dense"):
            if allowed is not None and len(allowed) <= IDS_LIMIT:
                subset = self._subset(where, q.activity_type, allowed)
            elif allowed is None and self._size() <= EXACT_LIMIT:
                subset = self._subset(None, None, self._allowed_ids(None, None))
            vector = self.index.embedder.embed_query(q.dense_text or q.text)
            if subset is not None:
                dense = subset.nearest(vector, n)
            else:
                found = self._post_filtered(vector, n, allowed) if allowed is not None else None
                if found is None:
                    hits = self.index.store.query(vector, n, where)
                    found = [h for h in hits if _type_ok(h.chunk, q.activity_type)]
                dense = found
        lexical: list[tuple[str, float]] = []
        if self.mode in ("hybrid", "bm25"):
            lexical = self.index.ensure_lexical().search(q.lexical_text, n, allowed_ids=allowed)
        return self._fuse(dense, lexical, k, q, where, known=subset.chunks if subset is not None else None)

    def _subset(self, where: dict[str, Any] | None, activity_type: str | None, allowed: frozenset[str]) -> _Subset:
        # A narrow filter's chunks and vectors, read once per filter until an ingest changes the index.
        key = (repr(where), activity_type, self.index.generation())
        return self._remember(
            self._subsets, key, SUBSETS_KEPT - 1, lambda: _Subset(*self.index.store.vectors(sorted(allowed)))
        )

    def _size(self) -> int:
        # The number of chunks, read once until an ingest changes the index.
        generation = self.index.generation()
        return self._remember(self._sizes, generation, 4, self.index.store.count)

    def _remember(self, cache: dict[Any, _T], key: Any, most: int, compute: Callable[[], _T]) -> _T:
        """``cache[key]``, computed (outside the lock) when missing; the cache is emptied once it holds more than
        ``most`` entries. Keys carry the index's generation, so an ingest makes them all stale."""
        with self._lock:
            if key in cache:
                return cache[key]
        value = compute()
        with self._lock:
            if len(cache) > most:
                cache.clear()
            cache[key] = value
        return value

    def _post_filtered(self, vector: Any, n: int, allowed: frozenset[str]) -> list[Hit] | None:
        """The ``n`` nearest of ``allowed`` chunks, read from an unfiltered search of enough nearest ids, or
        None when too few of those pass the filter (the caller then asks Chroma with ``where``).

        A broad filter (a date range covering a third of 125k chunks) costs Chroma ~300 ms through ``where``;
        the nearest few hundred ids cost a few ms, and the filtered top ``n`` of them is exactly the top ``n``
        of the filtered set whenever ``n`` of them pass.
        """
        # The lexical index's size stands in for the corpus's (a count() costs ~15 ms at 125k); during another
        # process's ingest it may lag the store, which the loop below allows for.
        total = len(self.index.ensure_lexical())
        if total <= 0:
            return None
        # The filter's share of the whole corpus says how many nearest ids to read; a query nearer to chunks
        # the filter excludes (older meetings, for a date filter) needs more, estimated from the first read.
        share = len(allowed) / total
        over = min(total, POST_FILTER_MAX, math.ceil(n / share * POST_FILTER_MARGIN))
        while True:
            nearest = self.index.store.nearest(vector, over)
            passed = [(cid, sim) for cid, sim in nearest if cid in allowed]
            kept = passed[:n]
            # Done when ``n`` passed, or when the vector index gave fewer ids than asked: it has no more to give,
            # with or without a filter. Having read as many as allowed (or as the corpus seemed to hold) without
            # either, Chroma's own filtered search decides.
            if len(kept) >= n or len(nearest) < over:
                break
            if over >= POST_FILTER_MAX or over >= total:
                return None
            share = max(len(passed), 1) / over
            over = min(total, POST_FILTER_MAX, max(2 * over, math.ceil(n / share * POST_FILTER_MARGIN)))
        chunks = {c.id: c for c in self.index.store.get(ids=[cid for cid, _ in kept])}
        return [Hit(chunks[cid], sim) for cid, sim in kept if cid in chunks]

    def _allowed_ids(self, where: dict[str, Any] | None, activity_type: str | None) -> frozenset[str]:
        # The ids a filter matches, cached per filter until an ingest changes the index: read once, they
        # narrow BM25 and (when few) the dense search, which is cheaper by ids than through ``where``.
        key = (repr(where), activity_type, self.index.generation())

        def read() -> frozenset[str]:
            if activity_type:
                # Activity types are stored joined, which Chroma cannot test: read the chunks and check.
                return frozenset(c.id for c in self.index.store.get(where=where) if _type_ok(c, activity_type))
            return frozenset(self.index.store.ids(where))

        return self._remember(self._allowed_cache, key, 256, read)

    def _fuse(
        self,
        dense: list[Hit],
        lexical: list[tuple[str, float]],
        k: int,
        q: Query | None = None,
        where: dict[str, Any] | None = None,
        *,
        known: dict[str, Chunk] | None = None,
    ) -> list[Hit]:
        ranks: dict[str, dict[str, int]] = {}
        chunks: dict[str, Chunk] = {}
        similarity = {}
        for rank, hit in enumerate(dense, 1):
            ranks[hit.chunk.id] = {"dense": rank}
            chunks[hit.chunk.id] = hit.chunk
            similarity[hit.chunk.id] = hit.score
        for rank, (cid, _score) in enumerate(lexical, 1):
            ranks.setdefault(cid, {})["bm25"] = rank
            if known is not None and cid in known and cid not in chunks:
                chunks[cid] = known[cid]
        weights = self.weights.get(q.lang, {}) if q is not None else {}
        scores = self._scores(ranks, weights)
        if q is not None and (q.months or q.metadata or q.periods or q.records):
            self._boost(q, where, ranks, chunks, scores)
            scores = self._scores(ranks, weights)
        top = sorted(scores, key=lambda cid: (-scores[cid], min(ranks[cid].values()), cid))[:k]
        # Only the winners the dense side did not return are read from the store.
        missing = [cid for cid in top if cid not in chunks]
        if missing:
            chunks.update({c.id: c for c in self.index.store.get(ids=missing)})
        return [
            Hit(chunks[cid], scores[cid], ranks[cid], similarity=similarity.get(cid)) for cid in top if cid in chunks
        ]

    def _scores(self, ranks: dict[str, dict[str, int]], weights: dict[str, float]) -> dict[str, float]:
        return {
            cid: sum(weights.get(name, _WEIGHT.get(name, 1.0)) / (self.rrf_k + r) for name, r in rs.items())
            for cid, rs in ranks.items()
        }

    def _boost(
        self,
        q: Query,
        where: dict[str, Any] | None,
        ranks: dict[str, dict[str, int]],
        chunks: dict[str, Chunk],
        scores: dict[str, float],
    ) -> None:
        """More rankings for RRF: candidates from the months the question names; from the meetings that
        reported the periods it names (Q3 2024, 2024年全年), nearest first; and, for a question about a
        meeting's participants, date or place, the metadata chunks of the best-matching records."""
        missing = [cid for cid in ranks if cid not in chunks]
        if missing:
            chunks.update({c.id: c for c in self.index.store.get(ids=missing)})
        order = sorted((cid for cid in ranks if cid in chunks), key=lambda cid: -scores[cid])
        if q.metadata:
            # The record's own metadata chunk says who, when and where: it joins the candidates first, so that
            # the months the question names rank it too.
            best: dict[str, float] = {}
            for cid in order:
                best.setdefault(chunks[cid].record_key, scores[cid])
            records = [c for c in self._record_chunks(where, q.activity_type) if c.record_key in best]
            records.sort(
                key=lambda c: (not in_months(c.date, c.date_end, q.months), -best[c.record_key], c.id),
            )
            for rank, chunk in enumerate(records, 1):
                chunks[chunk.id] = chunk
                ranks.setdefault(chunk.id, {})["meta"] = rank
            # (ahead of what was said: for who, when and where, the metadata is the answer)
            order = [c.id for c in records] + [cid for cid in order if cid not in {c.id for c in records}]
        if q.months:
            dated = [cid for cid in order if in_months(chunks[cid].date, chunks[cid].date_end, q.months)]
            for rank, cid in enumerate(dated, 1):
                ranks[cid]["date"] = rank
        if q.records:
            named = [cid for cid in order if chunks[cid].record in q.records]
            for rank, cid in enumerate(named, 1):
                ranks[cid]["record"] = rank
        if q.periods:
            # Results for a period are discussed at the first meetings after it ends: nearest first. Each
            # period asked about ranks its own meetings, so "H1 and 9M" brings up both results calls.
            period_rank: dict[str, int] = {}
            for start, end in (reporting_window(p) for p in q.periods):
                inside = [cid for cid in order if start <= chunks[cid].date <= end]
                inside.sort(key=lambda c: _days(start, chunks[c].date))  # stable: fused order within a day
                for rank, cid in enumerate(inside, 1):
                    period_rank[cid] = min(period_rank.get(cid, rank), rank)
            for cid, rank in period_rank.items():
                ranks[cid]["period"] = rank

    def _record_chunks(self, where: dict[str, Any] | None, activity_type: str | None) -> list[Chunk]:
        # One metadata chunk per record: few enough to read, cached until the store changes.
        key = ("records", repr(where), activity_type, self.index.generation())

        def read() -> list[Chunk]:
            built = build_where(where)
            filtered = {"$and": [built, {"kind": "record"}]} if built else {"kind": "record"}
            return [c for c in self.index.store.get(where=filtered) if _type_ok(c, activity_type)]

        return self._remember(self._records_cache, key, 64, read)


class _Subset:
    """The chunks a narrow filter matches, with their vectors: searched exactly, by a dot product."""

    def __init__(self, chunks: list[Chunk], matrix: np.ndarray):
        self.chunks = {c.id: c for c in chunks}
        self._order = chunks
        norms = np.linalg.norm(matrix, axis=1, keepdims=True) if matrix.size else np.ones((0, 1), np.float32)
        self._matrix = matrix / np.where(norms > 0, norms, 1.0)

    def nearest(self, vector: Any, n: int) -> list[Hit]:
        """The ``n`` chunks of the subset nearest ``vector``, best first; score = cosine similarity."""
        if not self._order or n <= 0:
            return []
        v = np.asarray(vector, dtype=np.float32).reshape(-1)
        sims = self._matrix @ (v / (np.linalg.norm(v) or 1.0))
        top = np.argsort(-sims, kind="stable")[:n]
        return [Hit(self._order[i], float(sims[i])) for i in top]


def _store_where(where: dict[str, Any]) -> dict[str, Any] | None:
    if not where:
        return None
    if "$or" in where:
        rest = {k: v for k, v in where.items() if k != "$or"}
        clauses = [{"$or": where["$or"]}]
        built = build_where(rest)
        if built:
            clauses.append(built)
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}
    return where


def _days(start: str, end: str) -> int:
    return (date.fromisoformat(end) - date.fromisoformat(start)).days


def _type_ok(chunk: Chunk, activity_type: str | None) -> bool:
    # Activity types are stored joined ("特定对象调研、分析师会议"), so a type filter is a containment test.
    return not activity_type or activity_type in chunk.activity_type


def dedupe_pairs(hits: Sequence[Hit]) -> list[Hit]:
    """Hits with at most one per citation (the best part of a split pair), order kept."""
    seen: set[str] = set()
    out: list[Hit] = []
    for hit in hits:
        key = hit.chunk.citation.key(with_company=True)
        if key not in seen:
            seen.add(key)
            out.append(hit)
    return out
