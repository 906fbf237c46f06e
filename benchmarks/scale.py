"""Search at scale: irchat's hybrid retriever from 2k to 1M Q&A pairs, on embedded Chroma and on a Chroma server,
each against a plain LangChain Chroma ``similarity_search`` over the same collection in the same run.

    python benchmarks/scale.py                        # 2k, 10k, 100k; corpora built once under DATA_DIR/bench-scale
    python benchmarks/scale.py --sizes 2000,10000,100000,1000000   # and 1M pairs (~1.25M chunks; hours to build)
    python benchmarks/scale.py --sizes 2000,10000 --backends embedded --rounds 2
    python benchmarks/scale.py --sizes 300 --records data/records --embedder hash --rounds 1 --markdown /tmp/s.md

Corpora come from benchmarks/corpus.py (the real records plus recombined ones); an interrupted build goes on where it
stopped at the next run (a 1M-pair corpus takes hours), and a finished corpus is reused while its
``corpus.json`` matches. Each (size, backend) runs in its own process, so its peak RSS is that of a process serving
that corpus: the embedding model, the store client (embedded Chroma inside it), the BM25 index. Queries are the gold
questions. Both methods are timed twice: with their query vectors from a memo filled in a warm-up pass (the searches
themselves), and embedding every query afresh with the real model (what a user waits for, query embedding included).
Prints the tables and writes them into docs/benchmarks.md under "Search at scale" (other sections are kept).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: make the repo importable

from benchmarks._common import DOCS, ROOT, PeakRSS, environment, markdown_table, mib, process_peak_rss, replace_section
from benchmarks.corpus import GENERATOR, build_corpus, corpus_settings, default_records, read_manifest
from evals.gold import load_gold
from rag.index import Index
from rag.protocols import Embedder
from rag.retriever import HybridRetriever
from rag.settings import Settings
from rag.store import build_where

SECTION = "Search at scale"
BACKENDS = ("embedded", "server")
TARGET_P95_MS = 150.0
TARGET_E2E_P95_MS = 60.0
"""Hybrid search p95 with the query embedding included, at TARGET_PAIRS on embedded Chroma (issue 16)."""
TARGET_RSS = 3 * 1024**3
TARGET_PAIRS = 100_000
DATE_FROM = "2024-01-01"
PARTS = ("dense", "bm25", "store_other")
_RESULT = "SCALE-RESULT "


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else float("nan")


class MemoQueryEmbedder:
    """An embedder whose query vectors are computed once per text (timed) and then served from a dict."""

    def __init__(self, inner: Embedder):
        self.inner = inner
        self.name, self.dim, self.max_tokens = inner.name, inner.dim, inner.max_tokens
        self.model_ms: list[float] = []
        self._memo: dict[str, np.ndarray] = {}
        self.live = False
        """True: every query is embedded by the model again (the end-to-end timings)."""

    def embed_query(self, text: str) -> np.ndarray:
        if self.live:
            return np.asarray(self.inner.embed_query(text), dtype=np.float32)
        vec = self._memo.get(text)
        if vec is None:
            t = time.perf_counter()
            vec = self._memo[text] = np.asarray(self.inner.embed_query(text), dtype=np.float32)
            self.model_ms.append((time.perf_counter() - t) * 1000)
        return vec.copy()

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed_passages(texts)

    def load(self, path: Path) -> None:
        """Take the vectors another run saved (same model), so each query text is embedded once per benchmark."""
        if path.exists():
            with np.load(path, allow_pickle=False) as data:
                if data["vectors"].shape[1:] == (self.dim,) and str(data["model"]) == self.name:
                    self._memo.update(zip(data["texts"].tolist(), data["vectors"], strict=True))

    def save(self, path: Path) -> None:
        """Write every query vector known so far."""
        texts = list(self._memo)
        vectors = np.stack([self._memo[t] for t in texts]) if texts else np.zeros((0, self.dim), np.float32)
        np.savez(path, texts=np.array(texts, dtype=str), vectors=vectors, model=np.array(self.name))

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)


class _Parts:
    """Times the retriever's calls into the store and the BM25 index, per query."""

    def __init__(self) -> None:
        self.current: dict[str, float] = {}
        self.rows: list[dict[str, float]] = []
        self.calls: dict[str, int] = {}
        """Calls by function name during measured searches."""
        self._on = False

    def wrap(self, name: str, fn: Callable[..., Any], call: str | None = None) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            if self._on and call:
                self.calls[call] = self.calls.get(call, 0) + 1
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.current[name] = self.current.get(name, 0.0) + (time.perf_counter() - t) * 1000

        return timed

    def start(self) -> None:
        self.current = {}
        self._on = True

    def stop(self, total_ms: float) -> None:
        self._on = False
        row = {p: self.current.get(p, 0.0) for p in PARTS}
        row["other"] = max(0.0, total_ms - sum(row.values()))
        self.rows.append(row)


def _peak_of(pid: int) -> int | None:
    """Peak RSS of another process (Linux ``VmHWM``), or None where that is not available."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.exists() else 0


def corpus_folder(root: Path, pairs: int, seed: int, embedder_name: str) -> Path:
    """Where the corpus of ``pairs`` pairs for this seed and embedder lives under ``root``."""
    return Path(root) / embedder_name / f"pairs-{pairs}-seed-{seed}"


def ensure_corpus(
    root: Path,
    pairs: int,
    seed: int,
    *,
    records_dir: Path,
    settings: Settings,
    embedder: Embedder | None,
    embedder_name: str,
    log: Callable[[str], None],
) -> dict[str, Any]:
    """The manifest of a corpus matching the arguments, building it first when there is none."""
    folder = corpus_folder(root, pairs, seed, embedder_name)
    manifest = read_manifest(folder)
    wanted = {"pairs": pairs, "seed": seed, "generator": GENERATOR, "records_dir": str(records_dir)}
    if manifest is not None and all(manifest.get(k) == v for k, v in wanted.items()):
        manifest.update(reused=True, folder=str(folder))  # the folder may have moved since it was built
        return manifest
    log(f"building the {pairs:,}-pair corpus in {folder} ...")
    report = build_corpus(
        folder,
        pairs,
        seed,
        records_dir=records_dir,
        settings=settings,
        embedder=embedder,
        force=True,
        resume=True,  # an interrupted build of this corpus goes on rather than starting again
        log=log,
    )
    log(report.summary())
    manifest = report.to_dict()
    manifest["reused"] = False
    return manifest


def measure(
    folder: Path,
    backend: str,
    *,
    settings: Settings,
    embedder: Embedder | None,
    queries: Sequence[str],
    rounds: int,
    k: int,
    real_codes: set[str] | None = None,
    query_vectors: Path | None = None,
    profile: bool = False,
    store_costs: bool = False,
    filter_rounds: int = 1,
) -> dict[str, Any]:
    """Latency of irchat hybrid search and of the LangChain baseline over the corpus in ``folder``, in this process.

    ``query_vectors``: a file of query vectors shared by the measurements of one run (read, then completed).
    ``profile``: after the timed rounds, one more pass of hybrid searches under cProfile (top functions kept).
    ``store_costs``: also time the single store calls a search is made of (:func:`_store_costs`).
    ``filter_rounds``: passes with a date filter (slow on a large corpus, hence separate from ``rounds``).
    """
    from langchain_chroma import Chroma

    from benchmarks.query import _LCEmbeddings
    from rag.embedder import load_embedder

    peak = PeakRSS()
    server = None
    result: dict[str, Any] = {"folder": str(folder), "backend": backend}
    with peak:
        csettings = corpus_settings(folder, settings)
        if backend == "server":
            from tests.chroma_server import start_chroma_server

            # The server serves the very folder embedded Chroma wrote: the same collection, nothing copied.
            server = start_chroma_server(csettings.resolved_chroma_path)
            csettings = csettings.replace(chroma_host=server.host, chroma_port=server.port)
            result["server_start_s"] = round(server.start_seconds, 2)
        try:
            inner = embedder if embedder is not None else load_embedder(csettings, cache=False)
            # The model is loaded (by one call) even when every vector comes from the file: a serving process
            # holds it, so its memory belongs in the peak RSS.
            inner.embed_query("warm-up")
            memo = MemoQueryEmbedder(inner)
            if query_vectors is not None:
                memo.load(query_vectors)
            t = time.perf_counter()
            index = Index(csettings, embedder=memo)
            index.check_embedder()
            lexical = index.ensure_lexical()
            retriever = HybridRetriever(index)
            directory = retriever.companies()
            result["open_s"] = round(time.perf_counter() - t, 2)
            result["chunks"] = index.store.count()
            result["companies"] = len(directory)
            baseline = Chroma(
                client=index.store._client,
                collection_name=csettings.collection,
                embedding_function=_LCEmbeddings(memo),
            )
            date_where = build_where({"date_from": DATE_FROM})
            date_filter = {"date_from": DATE_FROM}

            def live(fn: Callable[[str], object]) -> Callable[[str], object]:
                def call(q: str) -> object:
                    memo.live = True
                    try:
                        return fn(q)
                    finally:
                        memo.live = False

                return call

            methods: dict[str, tuple[Callable[[str], object], int]] = {
                "irchat": (lambda q: retriever.search(q, k), rounds),
                "baseline": (lambda q: baseline.similarity_search(q, k=k), rounds),
                # what a user waits for: the same searches, each query embedded by the model again
                "irchat_e2e": (live(lambda q: retriever.search(q, k)), rounds),
                "baseline_e2e": (live(lambda q: baseline.similarity_search(q, k=k)), rounds),
                # A date filter matches a large share of the corpus: the case where Chroma's filtering costs most.
                "irchat_date": (lambda q: retriever.search(q, k, filters=date_filter), filter_rounds),
                "baseline_date": (lambda q: baseline.similarity_search(q, k=k, filter=date_where), filter_rounds),
            }
            # Warm-up: every query once through both unfiltered methods, which also embeds each query text once
            # with the model; the filtered ones once (it fills the retriever's cache of the filter's ids).
            fictional = 0
            for q in queries:
                prepared = retriever.prepare(q)
                if real_codes is not None and any(c.stock_code not in real_codes for c in prepared.companies):
                    fictional += 1
                for name in ("irchat", "baseline"):
                    methods[name][0](q)
            for name in ("irchat_date", "baseline_date", "irchat_e2e", "baseline_e2e"):
                methods[name][0](queries[0])
            result["queries_naming_fictional_companies"] = fictional
            if query_vectors is not None:
                memo.save(query_vectors)
            if store_costs:
                result["store_costs"] = _store_costs(index, [memo.embed_query(q) for q in queries], real_codes)
            parts = _Parts()
            index.store.query = parts.wrap("dense", index.store.query, "query")  # type: ignore[method-assign]
            index.store.get = parts.wrap("store_other", index.store.get, "get")  # type: ignore[method-assign]
            index.store.count = parts.wrap("store_other", index.store.count, "count")  # type: ignore[method-assign]
            index.store.ids = parts.wrap("store_other", index.store.ids, "ids")  # type: ignore[method-assign]
            lexical.search = parts.wrap("bm25", lexical.search)  # type: ignore[method-assign]
            ms: dict[str, list[float]] = {name: [] for name in methods}
            for r in range(max(rounds, filter_rounds)):
                for i, q in enumerate(queries):
                    order = [name for name, (_fn, n) in methods.items() if r < n]
                    # Alternate the order, so that no method always runs right after another on a warmer cache.
                    for name in order if (i + r) % 2 == 0 else order[::-1]:
                        profiled = name == "irchat"
                        if profiled:
                            parts.start()
                        t = time.perf_counter()
                        methods[name][0](q)
                        elapsed = (time.perf_counter() - t) * 1000
                        ms[name].append(elapsed)
                        if profiled:
                            parts.stop(elapsed)
            if profile:
                result["profile"] = _profile(lambda: [retriever.search(q, k) for q in queries])
        finally:
            if server is not None:
                result["server_peak_rss"] = _peak_of(server.proc.pid) if server.proc else None
                server.stop()
                server.log.unlink(missing_ok=True)
    for name, values in ms.items():
        if not values:
            continue
        result[name] = {
            "n": len(values),
            "p50": percentile(values, 50),
            "p95": percentile(values, 95),
            "p99": percentile(values, 99),
            "mean": statistics.fmean(values),
        }
    result["parts_mean"] = {p: statistics.fmean(row[p] for row in parts.rows) for p in (*PARTS, "other")}
    result["store_calls_per_search"] = {name: n / len(parts.rows) for name, n in parts.calls.items()}
    result["embed_ms"] = {
        "n": len(memo.model_ms),
        "p50": percentile(memo.model_ms, 50),
        "p95": percentile(memo.model_ms, 95),
    }
    result["peak_rss_sampled"] = peak.peak
    # VmHWM, not ru_maxrss: a child started by fork + exec inherits its parent's ru_maxrss.
    result["peak_rss"] = _peak_of(os.getpid()) or process_peak_rss()
    return result


def _median_ms(fn: Callable[[np.ndarray], object], vectors: Sequence[np.ndarray]) -> float:
    fn(vectors[0])
    out = []
    for v in vectors:
        t = time.perf_counter()
        fn(v)
        out.append((time.perf_counter() - t) * 1000)
    return statistics.median(out)


def _store_costs(index: Index, vectors: Sequence[np.ndarray], real_codes: set[str] | None, reps: int = 20) -> list:
    """Median ms of each store call a hybrid search makes, and of the alternatives, over ``reps`` query vectors."""
    store = index.store
    col = store._col()
    codes = {code: len(store.ids({"stock_code": code})) for code in sorted(real_codes or [])}
    code = max(codes, key=codes.__getitem__) if codes else None
    dated = len(store.ids({"date_from": DATE_FROM}))
    vectors = list(vectors[:reps])
    winners = [h.chunk.id for h in store.query(vectors[0], 10)]
    cases: list[tuple[str, str, Callable[[np.ndarray], object]]] = [
        ("count", "`count()` (no longer on the search path)", lambda v: store.count()),
        (
            "query_bare",
            "query, 50 nearest, ids and distances only",
            lambda v: col.query(query_embeddings=[v], n_results=50, include=["distances"]),
        ),
        (
            "query",
            "query, 50 nearest with documents and metadata (`store.query`, what the retriever asks)",
            lambda v: store.query(v, 50),
        ),
        ("get10", "get 10 chunks by id (what fusion returns)", lambda v: store.get(ids=winners)),
    ]
    if code is not None:
        ids = store.ids({"stock_code": code})
        cases += [
            (
                "query_where",
                f"`store.query`, 50 nearest, `where stock_code={code}` ({codes[code]} chunks: a company named)",
                lambda v: store.query(v, 50, {"stock_code": code}),
            ),
            (
                "query_ids",
                "the same, by `store.query(ids=...)` with that company's ids instead of `where`",
                lambda v: store.query(v, 50, ids=ids),
            ),
            (
                "resolve",
                f"resolving `where stock_code={code}` to ids (`store.ids`, once per filter and ingest)",
                lambda v: store.ids({"stock_code": code}),
            ),
        ]
    cases.append(
        (
            "query_date",
            f"`store.query`, 50 nearest, `date_from {DATE_FROM}` ({dated} chunks)",
            lambda v: store.query(v, 50, {"date_from": DATE_FROM}),
        )
    )
    return [[key, label, round(_median_ms(fn, vectors), 2)] for key, label, fn in cases]


def _profile(fn: Callable[[], object], top: int = 15) -> list[list[Any]]:
    """cProfile of ``fn``: the ``top`` functions by own time, as [function, calls, own s, cumulative s]."""
    import cProfile
    import pstats

    prof = cProfile.Profile()
    prof.runcall(fn)
    stats = pstats.Stats(prof)
    rows = []
    for (path, line, func), (_cc, calls, own, cum, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        where = Path(path)
        short = f"{where.parent.name}/{where.name}:{line}" if line else path
        rows.append([f"{func} ({short})", calls, round(own, 4), round(cum, 4)])
    rows.sort(key=lambda r: r[2], reverse=True)
    return rows[:top]


def _settings_payload(settings: Settings) -> dict[str, Any]:
    """What a worker needs of the settings (no secrets: they would show in its command line)."""
    return {
        "data_dir": str(settings.data_dir),
        "model_dir": str(settings.resolved_model_dir),
        "embed_cache_dir": str(settings.cache_dir),
        "embed_model": settings.embed_model,
        "embed_batch_size": settings.embed_batch_size,
        "embed_threads": settings.embed_threads,
        "collection": settings.collection,
    }


def _worker(spec: dict[str, Any]) -> int:
    """``--worker``: one measurement in a fresh process (its spec as JSON on stdin), printed as one JSON line."""
    settings = Settings(**spec["settings"])
    embedder = _make_embedder(spec["embedder"])
    result = measure(
        Path(spec["folder"]),
        spec["backend"],
        settings=settings,
        embedder=embedder,
        queries=spec["queries"],
        rounds=spec["rounds"],
        k=spec["k"],
        real_codes=set(spec["real_codes"]),
        query_vectors=Path(spec["query_vectors"]),
        profile=spec["profile"],
        store_costs=spec["profile"],
        filter_rounds=spec["filter_rounds"],
    )
    print(_RESULT + json.dumps(result), flush=True)
    return 0


def _make_embedder(kind: str) -> Embedder | None:
    if kind == "hash":
        from tests.fakes import HashEmbedder

        return HashEmbedder()
    return None


def _isolated(spec: dict[str, Any]) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker"],
        input=json.dumps(spec),  # on stdin: the query list could outgrow a command-line argument
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith(_RESULT)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"worker for {spec['folder']} ({spec['backend']}) failed with exit code {proc.returncode}")
    return json.loads(lines[-1][len(_RESULT) :])


def run(
    sizes: Sequence[int],
    *,
    backends: Sequence[str] = BACKENDS,
    seed: int = 0,
    root: Path | None = None,
    records_dir: Path | None = None,
    settings: Settings | None = None,
    embedder_kind: str = "model",
    queries: Sequence[str] | None = None,
    rounds: int = 3,
    k: int = 10,
    isolate: bool = True,
    profile: bool = True,
    filter_rounds: int = 1,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Build (or reuse) each corpus, then measure every (size, backend); returns corpora and measurements.

    ``profile``: on the largest corpus, also profile the hybrid search (one extra pass per backend) and time the
    single store calls it is made of. ``filter_rounds``: passes with a date filter (0: none).
    """
    say = log or (lambda _msg: None)
    settings = settings or Settings()
    root = Path(root or settings.data_dir / "bench-scale")
    records_dir = Path(records_dir or default_records())
    queries = list(queries) if queries is not None else [q.question for q in load_gold()]
    embedder = _make_embedder(embedder_kind)
    name = embedder.name if embedder is not None else settings.embed_model
    corpora = []
    for n in sorted(sizes):
        manifest = ensure_corpus(
            root,
            n,
            seed,
            records_dir=records_dir,
            settings=settings,
            embedder=embedder,
            embedder_name=name.replace("/", "_"),
            log=say,
        )
        folder = Path(manifest["folder"])
        manifest["chroma_bytes"] = _folder_bytes(folder / "chroma")
        manifest["lexical_bytes"] = _folder_bytes(folder / "lexical")
        corpora.append(manifest)
    real_codes = _real_codes(corpora[0]["folder"], settings) if corpora else set()
    # Query vectors are shared by the measurements of this run (the first one embeds them), not kept across runs,
    # so every run times the model too.
    query_vectors = root / f".queries-{os.getpid()}.npz"
    query_vectors.unlink(missing_ok=True)
    measurements = []
    try:
        for manifest in corpora:
            for backend in backends:
                say(f"measuring {manifest['pairs']:,} pairs on {backend} Chroma ...")
                spec = {
                    "folder": manifest["folder"],
                    "backend": backend,
                    "settings": _settings_payload(settings),
                    "embedder": embedder_kind,
                    "queries": queries,
                    "rounds": rounds,
                    "k": k,
                    "real_codes": sorted(real_codes),
                    "query_vectors": str(query_vectors),
                    "profile": profile and manifest is corpora[-1],
                    "filter_rounds": filter_rounds,
                }
                if isolate:
                    result = _isolated(spec)
                else:
                    result = measure(
                        Path(manifest["folder"]),
                        backend,
                        settings=settings,
                        embedder=_make_embedder(embedder_kind) if embedder is not None else None,
                        queries=queries,
                        rounds=rounds,
                        k=k,
                        real_codes=real_codes,
                        query_vectors=query_vectors,
                        profile=spec["profile"],
                        store_costs=spec["profile"],
                        filter_rounds=filter_rounds,
                    )
                result["pairs"] = manifest["pairs"]
                measurements.append(result)
    finally:
        query_vectors.unlink(missing_ok=True)
    return {
        "corpora": corpora,
        "measurements": measurements,
        "queries": len(queries),
        "rounds": rounds,
        "filter_rounds": filter_rounds,
        "k": k,
        "embedder": name,
        "isolated": isolate,
    }


def _real_codes(folder: str, settings: Settings) -> set[str]:
    """Stock codes of the real records in a corpus (the ones not made up by the generator)."""
    from rag.store import open_store

    store = open_store(corpus_settings(Path(folder), settings))
    try:
        return {c.stock_code for c in store.get(where={"kind": "record"}) if not c.source.startswith("synthetic/")}
    finally:
        store.close()


def _calls_per_search(m: dict[str, Any], name: str, queries: int) -> float:
    """Store calls of one kind per hybrid search: counted while timing, else from the embedded-Chroma profile."""
    counted = m.get("store_calls_per_search") or {}
    if counted:
        return float(counted.get(name, 0.0))  # every store call was counted: one not seen was not made
    for function, calls, _own, _cum in m.get("profile") or []:
        if function.startswith(f"<method '{name}' of 'builtins.Bindings'"):
            return calls / queries
    return float("nan")


def _ms(x: float) -> str:
    return f"{x:.1f}"


def render(results: dict[str, Any], env: dict[str, Any]) -> str:
    """The markdown section: latency table, growth table, verdicts, environment."""
    corpora = {c["pairs"]: c for c in results["corpora"]}
    meas = results["measurements"]
    rows = []
    for m in meas:
        c = corpora[m["pairs"]]
        ir, bl = m["irchat"], m["baseline"]
        ie, be = m.get("irchat_e2e"), m.get("baseline_e2e")
        rss = mib(m["peak_rss"])
        if m.get("server_peak_rss"):
            rss += f" + server {mib(m['server_peak_rss'])}"
        rows.append(
            [
                f"{m['pairs']:,}",
                f"{c['chunks']:,}",
                m["backend"],
                f"{_ms(ir['p50'])} / {_ms(ir['p95'])} / {_ms(ir['p99'])}",
                f"{_ms(bl['p50'])} / {_ms(bl['p95'])} / {_ms(bl['p99'])}",
                f"{ir['p50'] / bl['p50']:.2f} / {ir['p95'] / bl['p95']:.2f}",
                f"{_ms(ie['p50'])} / {_ms(ie['p95'])} / {_ms(ie['p99'])}" if ie else "",
                f"{_ms(be['p50'])} / {_ms(be['p95'])} / {_ms(be['p99'])}" if be else "",
                " / ".join(_ms(m["parts_mean"][p]) for p in (*PARTS, "other")),
                rss,
            ]
        )
    latency = markdown_table(
        [
            "pairs",
            "chunks",
            "Chroma",
            "irchat hybrid p50 / p95 / p99 ms",
            "LangChain similarity_search p50 / p95 / p99 ms",
            "÷ baseline p50 / p95",
            "irchat hybrid incl. query embedding p50 / p95 / p99 ms",
            "LangChain incl. query embedding p50 / p95 / p99 ms",
            "hybrid mean ms: dense / BM25 / count + get / rest",
            "peak RSS",
        ],
        rows,
    )
    filtered_rows = [
        [
            f"{m['pairs']:,}",
            m["backend"],
            " / ".join(_ms(m["irchat_date"][q]) for q in ("p50", "p95", "p99")),
            " / ".join(_ms(m["baseline_date"][q]) for q in ("p50", "p95", "p99")),
            f"{m['irchat_date']['p50'] / m['baseline_date']['p50']:.2f}",
        ]
        for m in meas
        if "irchat_date" in m and "baseline_date" in m
    ]
    filtered = ""
    if filtered_rows:
        filtered = "\n".join(
            [
                f"With a date filter (`date_from` {DATE_FROM}; the baseline gets the same `where`), "
                f"{results.get('filter_rounds', 1)} round(s):",
                "",
                markdown_table(
                    [
                        "pairs",
                        "Chroma",
                        "irchat hybrid p50 / p95 / p99 ms",
                        "LangChain similarity_search p50 / p95 / p99 ms",
                        "÷ baseline p50",
                    ],
                    filtered_rows,
                ),
            ]
        )
    costs: dict[str, dict[str, float]] = {}
    costs_at = None
    for m in meas:
        for _key, label, value in m.get("store_costs") or []:
            costs.setdefault(label, {})[m["backend"]] = value
            costs_at = m["pairs"]
    store_table = ""
    if costs:
        store_table = "\n".join(
            [
                f"The store calls behind those parts, one at a time at {costs_at:,} pairs (median ms over 20 query "
                "vectors):",
                "",
                markdown_table(
                    ["call", "embedded ms", "server ms"],
                    [[label, *(_ms(v[b]) if b in v else "" for b in BACKENDS)] for label, v in costs.items()],
                ),
            ]
        )
    findings: list[str] = []
    costed = next((m for m in meas if m.get("store_costs") and m["backend"] == "embedded"), None)
    if costed is not None:
        c = {key: value for key, _label, value in costed["store_costs"]}
        p50 = costed["irchat"]["p50"]
        findings.append(f"Where a search's time goes at {costed['pairs']:,} pairs (embedded Chroma):")
        n_count = _calls_per_search(costed, "count", results["queries"])
        findings.append(
            f"- `count()`: {_ms(c['count'])} ms a call, against the hybrid p50 of {_ms(p50)} ms; the retriever "
            f"calls it {n_count:.1f} times a search (it notices ingests by a `stat` of "
            "the BM25 index's `CURRENT` file);"
        )
        if "query_where" in c:
            findings.append(
                f"- a company named in the question: the dense query by `where` would take {_ms(c['query_where'])} ms; "
                f"the retriever resolves the filter to ids once (cached until an ingest) and queries by id: "
                f"{_ms(c['query_ids'])} ms, against {_ms(c['query'])} ms unfiltered;"
            )
        findings.append(
            f"- documents and metadata of all 50 dense candidates: {_ms(c['query'] - c['query_bare'])} ms of that "
            f"query; the 10 results alone would cost {_ms(c['get10'])} ms by id;"
        )
        findings.append(
            f"- BM25: {_ms(costed['parts_mean']['bm25'])} ms a search on average; a date filter "
            f"matching a large share of the corpus costs {_ms(c['query_date'])} ms in Chroma through `where` (the "
            "baseline pays it); the retriever instead filters an unfiltered search of enough nearest ids "
            "(`store.nearest`) and asks Chroma with `where` only when too few of them pass."
        )
    smallest = min(corpora)
    first = {m["backend"]: m for m in meas if m["pairs"] == smallest}
    growth_rows = []
    for n in sorted(corpora):
        c = corpora[n]
        cells = [f"{n:,}", f"{c['chunks']:,}", f"{c['companies']:,}"]
        for backend in BACKENDS:
            m = next((x for x in meas if x["pairs"] == n and x["backend"] == backend), None)
            if m is None:
                cells.append("")
                continue
            base = first[backend]["irchat"]["p50"]
            cells.append(f"{_ms(m['irchat']['p50'])} ({m['irchat']['p50'] / base:.1f}×)")
        any_m = next(x for x in meas if x["pairs"] == n)
        cells += [
            _ms(any_m["parts_mean"]["bm25"]),
            _ms(any_m["parts_mean"]["dense"]),
            f"{any_m['open_s']:.1f}",
            mib(c["chroma_bytes"]),
            mib(c["lexical_bytes"]),
            f"{c['timings']['total']:.0f}"
            + (f" (resumed after {c['resumed_records']:,} records)" if c.get("resumed_records") else "")
            + (" (reused)" if c.get("reused") else ""),
            str(c["texts_embedded"]),
        ]
        growth_rows.append(cells)
    growth = markdown_table(
        [
            "pairs",
            "chunks",
            "companies",
            "hybrid p50 ms, embedded (× smallest)",
            "hybrid p50 ms, server (× smallest)",
            "BM25 mean ms",
            "dense mean ms",
            "open s",
            "Chroma on disk",
            "BM25 on disk",
            "build s",
            "texts really embedded",
        ],
        growth_rows,
    )
    embed = [m["embed_ms"] for m in meas if m["embed_ms"]["n"]]
    embed_line = ""
    if embed:
        e = max(embed, key=lambda x: x["n"])
        embed_line = (
            f"The query embedding itself ({results['embedder']}, {e['n']} distinct query texts, not in the times "
            f"above) took p50 {_ms(e['p50'])} ms, p95 {_ms(e['p95'])} ms."
        )
    profiled = [m for m in meas if m.get("profile")]
    profile_lines: list[str] = []
    for m in profiled:
        profile_lines += [
            "",
            f"Where a hybrid search spends its time at {m['pairs']:,} pairs on {m['backend']} Chroma (cProfile, one "
            f"pass over the questions, top functions by own time; profiling inflates Python-heavy parts):",
            "",
            markdown_table(
                ["function", "calls", "own s", "cumulative s"],
                [[f"`{r[0]}`", r[1], f"{r[2]:.3f}", f"{r[3]:.3f}"] for r in m["profile"]],
            ),
        ]
    verdicts = []
    big = [m for m in meas if m["pairs"] >= TARGET_PAIRS]
    for m in big:
        p95 = m["irchat"]["p95"]
        ok = "PASS" if p95 <= TARGET_P95_MS else "MISS"
        verdicts.append(
            f"- {m['pairs']:,} pairs, {m['backend']}: hybrid search p95 {_ms(p95)} ms — **{ok}** (≤ 150 ms)"
        )
        rss = m["peak_rss"] + (m.get("server_peak_rss") or 0)
        ok = "PASS" if rss <= TARGET_RSS else "MISS"
        verdicts.append(f"- {m['pairs']:,} pairs, {m['backend']}: peak RSS {mib(rss)} — **{ok}** (≤ 3 GiB)")
    for m in meas:
        if m["pairs"] == TARGET_PAIRS and m["backend"] == "embedded" and m.get("irchat_e2e"):
            p95 = m["irchat_e2e"]["p95"]
            ok = "PASS" if p95 <= TARGET_E2E_P95_MS else "MISS"
            verdicts.append(
                f"- {m['pairs']:,} pairs, embedded: hybrid search p95 including the query embedding {_ms(p95)} ms — "
                f"**{ok}** (≤ {TARGET_E2E_P95_MS:.0f} ms)"
            )
    if not big:
        verdicts.append(f"- no corpus of {TARGET_PAIRS:,} pairs in this run: targets not checked")
    fictional = sum(m.get("queries_naming_fictional_companies", 0) for m in meas)
    builds = "; ".join(
        f"{c['pairs']:,} pairs: {c['synthetic_records']:,} recombined records of {c['companies']} fictional "
        f"companies + {c['real_records']} real ({c['real_pairs']} pairs)"
        for c in results["corpora"]
    )
    lines = [
        f"`python benchmarks/scale.py` — {results['queries']} gold questions × {results['rounds']} rounds per "
        f"(size, Chroma), k={results['k']}, embedder {results['embedder']}, hybrid mode (dense + BM25, RRF), no LLM. "
        "Baseline: LangChain `Chroma.similarity_search` on the same collection with the same query vectors, timed "
        "in the same process, alternating with irchat query by query. The 'incl. query embedding' columns time the "
        "same searches with every query embedded afresh by the model (the project's embedder, uncached): what a "
        "user waits for.",
        "",
        f"Corpora (benchmarks/corpus.py, seed {results['corpora'][0]['seed'] if results['corpora'] else 0}): "
        f"{builds}. Recombined chunks reuse the cached vectors of the real chunks they copy (embedded by the real "
        "model), perturbed by seeded Gaussian noise and renormalised, so only the real records' chunks are ever "
        "embedded and the query vectors come from the real model; gold questions that name a fictional company: "
        f"{fictional}.",
        "",
        latency,
        "",
        filtered,
        "",
        "How the cost grows with the corpus (one line per size):",
        "",
        growth,
        "",
        embed_line,
        "Peak RSS is that of the measuring process (its own process per row"
        + ("" if results["isolated"] else "; not isolated in this run")
        + "): embedding model, Chroma client (embedded Chroma inside it), BM25 index; for the server, plus the "
        "`chroma run` process.",
        "",
        store_table,
        "",
        *findings,
        "",
        *profile_lines,
        "",
        "Targets:",
        *verdicts,
        "",
        "Environment: " + "; ".join(f"{k} {v}" for k, v in env.items()),
    ]
    if results.get("busy"):
        lines += [
            "",
            "Taken on a shared machine while other jobs were running (see the load averages): absolute times are "
            "inflated and noisy; the ratios to the baseline, timed alternately in the same process, are steadier.",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    # the smallest corpus must hold the real records (1,605 pairs in ../shared/records; 162 in data/records)
    ap.add_argument("--sizes", default="2000,10000,100000", help="Q&A pairs per corpus, comma-separated")
    ap.add_argument("--backends", default=",".join(BACKENDS), help="embedded, server, or both")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--corpus-dir", type=Path, default=None, help="corpora folder (default DATA_DIR/bench-scale)")
    ap.add_argument("--records", type=Path, default=None, help="real records (default ../shared/records)")
    ap.add_argument("--rounds", type=int, default=3, help="passes over the gold questions")
    ap.add_argument("--filter-rounds", type=int, default=1, help="passes with a date filter (0: skip)")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--embedder", choices=["model", "hash"], default="model", help="hash: a test stand-in")
    ap.add_argument("--no-profile", action="store_true", help="skip the cProfile pass on the largest corpus")
    ap.add_argument("--no-isolate", action="store_true", help="measure in this process (peak RSS then accumulates)")
    ap.add_argument("--markdown", type=Path, default=DOCS)
    ap.add_argument("--json", type=Path, default=None, help="also write the raw results here")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return _worker(json.loads(sys.stdin.read()))
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(backends) - set(BACKENDS)
    if unknown:
        ap.error(f"unknown backend(s) {sorted(unknown)}; expected {list(BACKENDS)}")
    load_before = os.getloadavg() if hasattr(os, "getloadavg") else None
    results = run(
        [int(s) for s in args.sizes.split(",") if s.strip()],
        backends=backends,
        seed=args.seed,
        root=args.corpus_dir,
        records_dir=args.records,
        embedder_kind=args.embedder,
        rounds=args.rounds,
        k=args.k,
        isolate=not args.no_isolate,
        profile=not args.no_profile,
        filter_rounds=args.filter_rounds,
        log=lambda msg: print(msg, file=sys.stderr, flush=True),
    )
    env = environment()
    if load_before is not None:
        env["load average at start"] = " / ".join(f"{x:.2f}" for x in load_before)
        load_after = os.getloadavg()
        # This benchmark keeps about one core busy; a load well above that means other jobs shared the machine.
        results["busy"] = max(load_before[0], load_after[0]) > 0.75 * (os.cpu_count() or 1)
    body = render(results, env)
    print(body)
    replace_section(args.markdown, SECTION, body)
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
