"""Scale corpora for the search benchmarks: every real record, plus records recombined from their Q&A pairs under
fictional companies, stock codes and dates, written straight into a store and a lexical index.

    python benchmarks/corpus.py --pairs 10000 --seed 0 --out /tmp/corpus-10k
    python benchmarks/corpus.py --pairs 100000 --seed 0 --out /tmp/corpus-100k   # ~10 CPU-minutes, 125k chunks
    python benchmarks/corpus.py --pairs 300 --records data/records --embedder hash --out /tmp/c   # seconds (tests)

The real records go through the ingest pipeline (parse, chunk, embed through the embedding cache, store, BM25),
so each real chunk is embedded at most once, ever. A recombined record takes a real record as its template (activity
type, participants, opening presentation, number of pairs give or take) and Q&A pairs drawn from all real records;
its texts name the fictional company instead of the real one, shift years with the record's date, and jitter
figures (amounts and percentages by up to ±15%), so BM25 sees a realistic, growing vocabulary. Its vectors are the
cached vectors of the real chunks it copies plus a small seeded Gaussian perturbation, renormalised (cosine to the
source about 1/sqrt(1 + noise²)), so no text is embedded for them and no two vectors are equal. The same seed gives
the same corpus, and a smaller corpus is a prefix of a larger one with the same seed.

At 100k pairs (125k chunks) a build spends ~70% in Chroma's own upserts (~180 chunks/s here, mostly its metadata
and full-text tables) and ~20% cutting texts for BM25, with jieba's cuts memoised (:func:`memo_jieba`).

The folder is an irchat data folder (``chroma/``, ``lexical/``) plus ``corpus.json`` describing it: point
``IRCHAT_DATA_DIR`` at it, or use :func:`corpus_settings`.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import json
import re
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: make the repo importable

from benchmarks._common import ROOT, PeakRSS, mib
from ingest.chunker import chunk_record
from ingest.parser import parse_file
from ingest.pipeline import Ingestor, discover
from rag.companies import default_aliases
from rag.embed_cache import CachedEmbedder
from rag.index import Index
from rag.lexical import LexicalIndex
from rag.protocols import Embedder
from rag.settings import Settings
from rag.types import Chunk, QAPair, Record

GENERATOR = 2
"""Bump when the generator changes what a (pairs, seed) corpus contains: saved corpora are then rebuilt (2: record
details over the model's limit are split, so the real records give more chunks)."""
MANIFEST = "corpus.json"
SYNTHETIC = "synthetic/"
"""How the source of a recombined record starts."""
PROGRESS = "progress.json"
"""Written after each store write of a build, removed when it finishes: what `--resume` goes on from."""
RECORDS_PER_COMPANY = 10
WRITE_BATCH = 4096
"""Chunks per store upsert: big batches are what makes Chroma's write fast (it caps a call at ~5,000)."""
REPORT_EVERY_S = 15.0
"""Seconds between progress lines of a build."""
DEFAULT_NOISE = 0.25
JITTER = 0.15

# Fictional names, free of the characters of the real companies' names (海康威视, 美的, 海天瑞声) so that a question
# naming a real company never names a fictional one.
_PLACES = (  # noqa: SIM905 - word lists read better as text
    "江川 临安 云岭 北辰 东湖 西陵 南屏 中原 长丰 青禾 金陵 岭南 松江 锦城 蓉城 汉江 楚雄 湘江 赣州 闽江 "
    "徽州 燕山 太行 昆仑 祁连 洞庭 鄱阳 太湖 黄山 泰山 嵩山 衡山 庐山 峨眉 珠江 漓江 沱江 岷江 渭水 洛阳"
).split()
_CORES = (  # noqa: SIM905
    "华拓 德信 联科 恒泰 博越 同创 立讯 启明 鼎盛 宏图 远航 星辰 卓越 精诚 英华 兴业 永安 嘉禾 弘毅 景行 "
    "朗润 明远 思源 致远 凯旋 正泰 新元 和光 长青 宇恒 信达 伟业 汇通 盛达 万向 中兴 东方 北极 银河 泰和 "
    "昌盛 久远 广联 安泰 华信 金石 玉龙 翔宇 创维 飞鸿"
).split()
_INDUSTRIES = (  # noqa: SIM905
    "科技 电子 智能 材料 医药 能源 精工 电气 光电 通信 软件 生物 化工 机械 环保 物流 传媒 食品 家居 汽车"
).split()
_BOARDS = ("600", "601", "603", "605", "000", "001", "002", "003", "300", "301", "688")
_REAL_CODES = {"002415", "000333", "688787"}

_NUMBER = re.compile(
    r"(?<![\d.,])(?P<int>\d{1,3}(?:,\d{3})+|\d+)(?P<dec>\.\d+)?(?![\d])"
    r"(?P<unit>\s*(?:%|％|‰|个百分点|百分点|[百千万亿]*(?:美元|元)|[万亿]|倍|年))?"
)


@dataclasses.dataclass(frozen=True)
class FakeCompany:
    """A fictional listed company."""

    name: str
    short_name: str
    stock_code: str


@dataclasses.dataclass
class CorpusReport:
    """What a build wrote and what it cost; ``texts_embedded`` counts texts the model really embedded."""

    folder: str
    pairs: int
    seed: int
    noise: float
    embedder: str
    dim: int
    records_dir: str
    real_records: int
    real_pairs: int
    real_chunks: int
    synthetic_records: int
    synthetic_pairs: int
    synthetic_chunks: int
    companies: int
    chunks: int
    texts_embedded: int
    embed_cache_hits: int
    vectors_reused: int
    timings: dict[str, float]
    peak_rss: int
    real_files_left_out: list[str] = dataclasses.field(default_factory=list)
    generator: int = GENERATOR
    resumed_records: int = 0
    """Recombined records an interrupted build had written before this one went on (their writes are not timed)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (what ``corpus.json`` holds)."""
        return dataclasses.asdict(self)

    def summary(self) -> str:
        """A few lines for a terminal."""
        t = self.timings
        return "\n".join(
            [
                f"corpus {self.folder}: {self.pairs:,} Q&A pairs, {self.chunks:,} chunks, {self.companies} companies "
                f"(seed {self.seed}, embedder {self.embedder})",
                f"  real: {self.real_records} records, {self.real_pairs} pairs, {self.real_chunks} chunks from "
                f"{self.records_dir}",
                f"  recombined: {self.synthetic_records:,} records, {self.synthetic_pairs:,} pairs, "
                f"{self.synthetic_chunks:,} chunks; vectors reused with noise {self.noise}: {self.vectors_reused:,}",
                f"  texts really embedded: {self.texts_embedded} (embedding cache hits: {self.embed_cache_hits})",
                "  seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in t.items()) + f"; peak RSS {mib(self.peak_rss)}",
            ]
        )


def default_records() -> Path:
    """``../shared/records`` beside the checkout when present, else the bundled ``data/records``."""
    shared = ROOT.parent / "shared" / "records"
    return shared if shared.is_dir() else ROOT / "data" / "records"


def read_progress(folder: Path) -> dict[str, Any] | None:
    """What an interrupted build in ``folder`` had written (None when there is none, or it finished)."""
    path = Path(folder) / PROGRESS
    if not path.is_file() or (Path(folder) / MANIFEST).is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def corpus_settings(folder: Path, base: Settings | None = None) -> Settings:
    """Settings whose data folder is the corpus (embedded Chroma), keeping ``base``'s model and embedding caches."""
    return (base or Settings()).scratch(Path(folder))


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The ``corpus.json`` of a finished build, or None."""
    try:
        return json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


# ------------------------------------------------------------------------------------------- text rewriting


def _fmt(value: float, decimals: int, commas: bool) -> str:
    return f"{value:,.{decimals}f}" if commas else f"{value:.{decimals}f}"


class _Rewriter:
    """Rewrites a real text for a fictional company: names, years shifted, figures jittered."""

    def __init__(self, names: dict[str, list[tuple[str, str]]]):
        """``names``: by real stock code, its (full name, short name) as printed in each record."""
        aliases = default_aliases()
        self._patterns: dict[str, tuple[re.Pattern[str], dict[str, str]]] = {}
        for code, printed in names.items():
            roles = {code: "code"}
            for full, short in printed:
                roles.setdefault(full, "name")
                roles.setdefault(short, "short")
            for alias in aliases.get(code, []):
                roles.setdefault(alias, "alias")
            names = sorted((n for n in roles if n and len(n) >= 2), key=len, reverse=True)
            self._patterns[code] = (re.compile("|".join(map(re.escape, names))), roles)

    def __call__(self, text: str, source_code: str, company: FakeCompany, year_shift: int, rng: Any) -> str:
        found = self._patterns.get(source_code)
        if found is not None:
            pattern, roles = found
            names = {
                "name": company.name,
                "short": company.short_name,
                "code": company.stock_code,
                "alias": company.short_name[:2],
            }
            text = pattern.sub(lambda m: names[roles[m.group(0)]], text)
        return _NUMBER.sub(lambda m: _rewrite_number(m, year_shift, rng), text)


def _rewrite_number(m: re.Match[str], year_shift: int, rng: Any) -> str:
    whole, dec, unit = m.group("int"), m.group("dec") or "", m.group("unit") or ""
    bare = unit.strip()
    if bare == "年":
        if not dec and len(whole) == 4 and 2000 <= int(whole) <= 2039:
            return f"{int(whole) + year_shift}{unit}"
        return m.group(0)
    if not dec and not bare:
        return m.group(0)  # list numbers, counts, model names: left alone
    commas = "," in whole
    value = float(whole.replace(",", "") + dec) * rng.uniform(1 - JITTER, 1 + JITTER)
    decimals = len(dec) - 1 if dec else 0
    return _fmt(value, decimals, commas) + unit


# ------------------------------------------------------------------------------------------- the corpus


def _fake_company(j: int, seed: int, used_short: set[str], used_codes: set[str]) -> FakeCompany:
    """Company ``j`` of a corpus: deterministic given the seed and the companies before it."""
    rng = np.random.default_rng([seed, 1, j])
    for _ in range(1000):
        place = _PLACES[rng.integers(len(_PLACES))]
        core = _CORES[rng.integers(len(_CORES))]
        industry = _INDUSTRIES[rng.integers(len(_INDUSTRIES))]
        short = core + industry
        if short in used_short:
            short = place + core  # the 1,000 core+industry names are taken: a second naming scheme
        if short in used_short:
            short = place + core + industry  # and the 2,000 place+core ones (a 1M-pair corpus has ~9,300 companies)
        if short not in used_short:
            break
    else:
        raise RuntimeError(f"ran out of fictional company names at company {j}")
    while True:
        code = f"{_BOARDS[rng.integers(len(_BOARDS))]}{rng.integers(1000):03d}"
        if code not in used_codes and code not in _REAL_CODES:
            break
    used_short.add(short)
    used_codes.add(code)
    return FakeCompany(name=f"{place}{core}{industry}股份有限公司", short_name=short, stock_code=code)


@dataclasses.dataclass
class _Source:
    """The real records and their chunks, grouped the way recombination uses them."""

    records: list[Record]
    record_chunk: dict[str, Chunk]
    intro: dict[str, list[Chunk]]
    pair_parts: list[tuple[Record, list[Chunk]]]
    vectors: dict[str, np.ndarray]


def _zero_count(_text: str) -> int:
    return 0


def _date_text(dates: list[dt.date]) -> str:
    return "-".join(f"{d.year}年{d.month}月{d.day}日" for d in (dates[:1] + dates[-1:] if len(dates) > 1 else dates))


class CorpusBuilder:
    """Makes recombined records from the real ones, one at a time, with their vectors (the caller writes them)."""

    def __init__(self, index: Index, source: _Source, seed: int, noise: float):
        self.index = index
        self.source = source
        self.seed = seed
        self.noise = noise
        names: dict[str, list[tuple[str, str]]] = {}
        for c in source.record_chunk.values():
            names.setdefault(c.stock_code, []).append((c.company, c.short_name))
        for r in source.records:
            names.setdefault(r.stock_code, []).append((r.company, r.short_name))
        names.pop("", None)
        self.rewrite = _Rewriter(names)
        self.companies: list[FakeCompany] = []
        self._used_short = {r.short_name for r in source.records} | {r.company for r in source.records}
        self._used_codes = {r.stock_code for r in source.records}

    def company(self, j: int) -> FakeCompany:
        """Fictional company ``j`` (companies are made in order, so the same seed always names them alike)."""
        while len(self.companies) <= j:
            self.companies.append(_fake_company(len(self.companies), self.seed, self._used_short, self._used_codes))
        return self.companies[j]

    def record(self, i: int, max_pairs: int) -> tuple[list[Chunk], np.ndarray, int]:
        """Recombined record ``i`` (at most ``max_pairs`` pairs): its chunks, their vectors, its pair count."""
        src = self.source
        rng = np.random.default_rng([self.seed, 2, i])
        template = src.records[rng.integers(len(src.records))]
        company = self.company(i // RECORDS_PER_COMPANY)
        n = max(1, round(len(template.pairs) * rng.uniform(0.6, 1.4)))
        n = min(n, max_pairs, len(src.pair_parts))
        picks = rng.choice(len(src.pair_parts), size=n, replace=False)
        start = dt.date(2019, 1, 1) + dt.timedelta(days=int(rng.integers(0, 7 * 365)))
        old = template.dates or [start]
        delta = start - old[0]
        dates = [d + delta for d in old]
        record_no = f"{start.year}-{i % RECORDS_PER_COMPANY + 1:03d}"
        shift = start.year - old[0].year

        def meta(text: str) -> str:
            return self.rewrite(text, template.stock_code, company, shift, rng)

        fake = Record(
            company=company.name,
            record=record_no,
            pairs=[QAPair(q, "", "") for q in range(1, n + 1)],
            short_name=company.short_name,
            stock_code=company.stock_code,
            activity_types=list(template.activity_types),
            participants=meta(template.participants),
            dates=dates,
            date_text=_date_text(dates),
            place=meta(template.place),
            receptionists=meta(template.receptionists),
            release_date=template.release_date + delta if template.release_date else None,
            source=f"{SYNTHETIC}seed-{self.seed}/{company.stock_code}-{record_no}",
            source_hash=hashlib.sha256(f"{self.seed}/{i}".encode()).hexdigest(),
        )
        # The real chunker gives the record chunk and the header line, from placeholder pairs (no model counts).
        shell = chunk_record(fake, _zero_count, 1 << 30)
        record_chunk = shell[0]
        header = shell[1].text.split("\n问：", 1)[0]
        base = {
            f: getattr(record_chunk, f)
            for f in ("company", "short_name", "stock_code", "record", "date", "date_end", "activity_type", "source")
        }
        base["source_hash"] = record_chunk.source_hash
        prefix = f"{company.stock_code}:{record_no}"
        out: list[tuple[Chunk, Chunk]] = [(record_chunk, src.record_chunk[template.key])]
        for part in src.intro.get(template.key, []):
            body = meta(part.answer_text)
            text = f"{header} 开场介绍\n{body}"
            out.append((self._like(part, text, id=f"{prefix}:intro:p{part.part}", answer_text=body, **base), part))
        for q, pick in enumerate(picks.tolist(), 1):
            origin, parts = src.pair_parts[pick]
            shift_q = start.year - origin.dates[0].year if origin.dates else 0

            def rw(text: str, origin: Record = origin, shift_q: int = shift_q) -> str:
                return self.rewrite(text, origin.stock_code, company, shift_q, rng)

            question = rw(parts[0].question_text)
            for part in parts:
                answer = rw(part.answer_text)
                text = f"{header}\n问：{question}\n答：{answer}"
                chunk = self._like(
                    part,
                    text,
                    id=f"{prefix}:q{q}:p{part.part}",
                    question=q,
                    question_text=question,
                    answer_text=answer,
                    **base,
                )
                out.append((chunk, part))
        chunks = [c for c, _ in out]
        vectors = np.stack([src.vectors[s.id] for _, s in out])
        vectors = vectors + rng.standard_normal(vectors.shape).astype(np.float32) * (
            self.noise / np.sqrt(vectors.shape[1])
        )
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        return chunks, vectors.astype(np.float32), n

    @staticmethod
    def _like(original: Chunk, text: str, **fields: Any) -> Chunk:
        # The LLM-token count is scaled from the real chunk's, not recounted: 100k tiktoken calls cost ~40 s.
        tokens = max(1, round(original.tokens * len(text) / max(1, len(original.text))))
        return dataclasses.replace(original, text=text, tokens=tokens, **fields)


class _MemoSegmenter:
    """jieba behind a dict: it cuts a given Chinese run the same way every time, and recombined texts repeat their
    sources' runs, so the index comes out identical, ~5x faster."""

    def __init__(self, inner: Any):
        self.inner = inner
        self.cache: dict[str, list[str]] = {}

    def cut_for_search(self, run: str) -> list[str]:
        cut = self.cache.get(run)
        if cut is None:
            cut = self.cache[run] = self.inner.cut_for_search(run)
        return list(cut)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@contextmanager
def memo_jieba() -> Iterator[None]:
    """Memoise jieba's cuts in this process while building (rag.tokenize keeps its segmenter in
    ``_segmenter_instance``)."""
    import rag.tokenize as analyser

    inner = analyser._segmenter()
    analyser._segmenter_instance = _MemoSegmenter(inner)  # type: ignore[assignment]
    try:
        yield
    finally:
        analyser._segmenter_instance = inner


def _load_source(index: Index, records: list[Record]) -> _Source:
    chunks = index.store.get()
    texts = [c.text for c in chunks]
    vectors = index.embedder.embed_passages(texts)  # all cached by the ingest just before
    by_key = {r.key: r for r in records}
    record_chunk: dict[str, Chunk] = {}
    intro: dict[str, list[Chunk]] = {}
    pairs: dict[tuple[str, int], list[Chunk]] = {}
    for c in chunks:
        if c.kind == "record":
            if c.part == 0:  # the record's details; a long participant list's parts are not templates
                record_chunk[c.record_key] = c
        elif c.kind == "intro":
            intro.setdefault(c.record_key, []).append(c)
        elif c.question is not None:
            pairs.setdefault((c.record_key, c.question), []).append(c)
    for parts in intro.values():
        parts.sort(key=lambda c: c.part)
    pair_parts = [
        (by_key[key], sorted(parts, key=lambda c: c.part))
        for (key, _q), parts in sorted(pairs.items())
        if key in by_key
    ]
    usable = [r for r in records if r.key in record_chunk and r.pairs]
    return _Source(
        records=usable,
        record_chunk=record_chunk,
        intro=intro,
        pair_parts=pair_parts,
        vectors={c.id: v for c, v in zip(chunks, vectors, strict=True)},
    )


def build_corpus(
    folder: Path,
    pairs: int,
    seed: int = 0,
    *,
    records_dir: Path | None = None,
    settings: Settings | None = None,
    embedder: Embedder | None = None,
    noise: float = DEFAULT_NOISE,
    force: bool = False,
    resume: bool = False,
    log: Callable[[str], None] | None = None,
) -> CorpusReport:
    """Build a corpus of exactly ``pairs`` Q&A pairs in ``folder`` (which must be empty, or ``force``).

    ``settings`` gives the model and embedding cache (default: ``Settings()``); ``embedder`` replaces the
    configured model (it is put behind the embedding cache of ``settings`` unless it already is a cache).
    ``resume`` goes on with an interrupted build of the same corpus in ``folder`` (a 1M-pair build takes hours):
    records are made in a fixed order from the seed, so the ones already written are made again, not written.
    """
    folder = Path(folder)
    records_dir = Path(records_dir or default_records())
    wanted = {"pairs": pairs, "seed": seed, "noise": noise, "generator": GENERATOR, "records_dir": str(records_dir)}
    progress = read_progress(folder) if resume else None
    resumed = int(progress["records"]) if progress and all(progress.get(k) == v for k, v in wanted.items()) else 0
    if folder.exists() and any(folder.iterdir()) and not resumed:
        if not force:
            raise FileExistsError(f"{folder} is not empty; pass force=True (--force) to replace it")
        shutil.rmtree(folder)
    settings = corpus_settings(folder, settings)
    if embedder is not None and not isinstance(embedder, CachedEmbedder):
        embedder = CachedEmbedder(embedder, settings.cache_dir)
    index = Index(settings, embedder=embedder)
    say = log or (lambda _msg: None)
    timings: dict[str, float] = {}
    peak = PeakRSS()
    with peak:
        t0 = time.perf_counter()
        files, errors = discover([records_dir])
        if errors or not files:
            raise FileNotFoundError(f"no readable records under {records_dir}: {errors}")
        cache = index.embedder
        assert isinstance(cache, CachedEmbedder)
        hits0, misses0 = cache.hits, cache.misses
        report = Ingestor(index).ingest([records_dir])
        # A real file the ingest refuses (no Q&A pairs, a record number printed in two files) is left out: the
        # corpus is made of what an ingest of that folder indexes.
        refused = {e.file for e in report.errors}
        if report.records == 0:
            raise RuntimeError(f"ingesting the real records failed: {report.errors}")
        for e in report.errors:
            say(f"  left out (the ingest refused it): {e.file}: {e.error}")
        # the templates: participants, place, dates, as parsed
        real = [parse_file(p) for p in files if str(p) not in refused]
        timings["real records (ingest)"] = time.perf_counter() - t0
        say(f"real records: {report.records} records, {report.pairs} pairs, {report.chunks_added} chunks written")
        if pairs < report.pairs:
            raise ValueError(f"{pairs} pairs asked, but the real records alone hold {report.pairs}")

        t1 = time.perf_counter()
        source = _load_source(index, real)
        builder = CorpusBuilder(index, source, seed, noise)
        # by id: on a resume the store already holds what the interrupted build wrote, maybe part of a last write
        stored = index.store.get()
        items = {c.id: c.text for c in stored}
        real_chunks = sum(1 for c in stored if not c.source.startswith(SYNTHETIC))
        del stored
        left = pairs - report.pairs
        i = n_chunks = 0
        gen_s = write_s = 0.0
        batch: list[Chunk] = []
        vecs: list[np.ndarray] = []

        def flush() -> None:
            nonlocal write_s, batch, vecs
            if batch:
                tw = time.perf_counter()
                index.store.upsert(batch, np.concatenate(vecs))
                write_s += time.perf_counter() - tw
                # every record up to i is now written: an interrupted build goes on from there
                (folder / PROGRESS).write_text(json.dumps({**wanted, "records": i}), encoding="utf-8")
            batch, vecs = [], []

        if resumed:
            say(f"resuming: {resumed:,} recombined records already written")

        last_report = time.perf_counter()
        while left > 0:
            tg = time.perf_counter()
            chunks, vectors, n = builder.record(i, left)
            gen_s += time.perf_counter() - tg
            left -= n
            i += 1
            n_chunks += len(chunks)
            items.update((c.id, c.text) for c in chunks)
            if i <= resumed:  # written by the interrupted build
                continue
            batch.extend(chunks)
            vecs.append(vectors)
            if len(batch) >= WRITE_BATCH:
                flush()
                if time.perf_counter() - last_report > REPORT_EVERY_S:
                    last_report = time.perf_counter()
                    done = pairs - left
                    say(f"  {done:,}/{pairs:,} pairs, {n_chunks:,} chunks written ({time.perf_counter() - t1:.0f} s)")
        flush()
        timings["recombine"] = gen_s
        timings["store writes"] = write_s

        t2 = time.perf_counter()
        with memo_jieba():
            previous = LexicalIndex.load(settings.lexical_dir)  # the real records' tokens, cut by the ingest
            lexical = LexicalIndex.build(list(items.items()), previous=previous)
        lexical.save(settings.lexical_dir)
        timings["lexical index"] = time.perf_counter() - t2
        timings["total"] = time.perf_counter() - t0

    hits, misses = cache.hits - hits0, cache.misses - misses0
    result = CorpusReport(
        folder=str(folder),
        pairs=pairs,
        seed=seed,
        noise=noise,
        embedder=cache.name,
        dim=cache.dim,
        records_dir=str(records_dir),
        real_records=report.records,
        real_files_left_out=sorted(refused),
        real_pairs=report.pairs,
        real_chunks=real_chunks,
        synthetic_records=i,
        synthetic_pairs=pairs - report.pairs,
        synthetic_chunks=n_chunks,
        companies=len(builder.companies),
        chunks=real_chunks + n_chunks,
        texts_embedded=misses,
        embed_cache_hits=hits,
        vectors_reused=n_chunks,
        timings={k: round(v, 2) for k, v in timings.items()},
        peak_rss=peak.peak,
        resumed_records=resumed,
    )
    index.store.close()
    (folder / PROGRESS).unlink(missing_ok=True)
    (folder / MANIFEST).write_text(json.dumps(result.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
    return result


def _hash_embedder() -> Embedder:
    from tests.fakes import HashEmbedder

    return HashEmbedder()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, required=True, help="Q&A pairs in all (real ones included)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, required=True, help="folder to write (must be empty unless --force)")
    ap.add_argument("--records", type=Path, default=None, help="real records (default ../shared/records)")
    ap.add_argument("--noise", type=float, default=DEFAULT_NOISE, help="vector perturbation of a recombined chunk")
    ap.add_argument("--embedder", choices=["model", "hash"], default="model", help="hash: a test stand-in")
    ap.add_argument("--force", action="store_true", help="replace what is in --out")
    ap.add_argument("--resume", action="store_true", help="go on with an interrupted build of the same corpus in --out")
    ap.add_argument("--json", action="store_true", help="print the report as JSON")
    args = ap.parse_args(argv)
    report = build_corpus(
        args.out,
        args.pairs,
        args.seed,
        records_dir=args.records,
        embedder=_hash_embedder() if args.embedder == "hash" else None,
        noise=args.noise,
        force=args.force,
        resume=args.resume,
        log=lambda msg: print(msg, file=sys.stderr, flush=True),
    )
    print(json.dumps(report.to_dict(), ensure_ascii=False, indent=1) if args.json else report.summary())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
