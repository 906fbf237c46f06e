"""Search latency over the indexed records: irchat's hybrid search against a plain LangChain Chroma
``similarity_search`` with the same embeddings, in the same run.

    python benchmarks/query.py                 # ingests data/records into a temporary index first
    python benchmarks/query.py --current       # the index IRCHAT_* settings point at
    python benchmarks/query.py --embedder hash --rounds 1 --markdown /tmp/q.md   # seconds, no model (tests)

Prints a table (p50/p95/p99 in ms per method, and ratios to the baseline) and writes it into
docs/benchmarks.md under "Query" (other sections are kept).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: make the repo importable

from benchmarks._common import DOCS, ROOT, PeakRSS, environment, markdown_table, mib, replace_section
from evals.gold import load_gold
from ingest.pipeline import Ingestor
from rag.index import Index
from rag.retriever import HybridRetriever
from rag.settings import Settings


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def timed(fn: Callable[[str], object], queries: list[str], rounds: int) -> list[float]:
    """Milliseconds per call, every query ``rounds`` times, after one warm-up call."""
    fn(queries[0])
    out = []
    for _ in range(rounds):
        for q in queries:
            t = time.perf_counter()
            fn(q)
            out.append((time.perf_counter() - t) * 1000)
    return out


class _LCEmbeddings:
    """Our embedder as LangChain ``Embeddings`` so the baseline embeds exactly as irchat does."""

    def __init__(self, embedder):
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.embed_passages(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed_query(text).tolist()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--current", action="store_true", help="use the index the IRCHAT_* settings point at")
    ap.add_argument("--records", type=Path, default=ROOT / "data" / "records")
    ap.add_argument("--rounds", type=int, default=3, help="passes over the gold questions")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--embedder", choices=["model", "hash"], default="model", help="hash: a test stand-in")
    ap.add_argument("--markdown", type=Path, default=DOCS)
    args = ap.parse_args(argv)

    queries = [q.question for q in load_gold()]
    peak = PeakRSS()
    with tempfile.TemporaryDirectory(prefix="irchat-bench-q-") as tmp, peak:
        base = Settings()
        settings = base if args.current else base.scratch(Path(tmp))
        embedder = None
        if args.embedder == "hash":
            from tests.fakes import HashEmbedder

            embedder = HashEmbedder()
        index = Index(settings, embedder=embedder)
        if not args.current:
            Ingestor(index).ingest([args.records])
        n_chunks = index.store.count()
        # Queries bypass the embedding cache's query LRU: otherwise whichever method runs first warms it for
        # the others and for later rounds.
        index.__dict__["embedder"] = getattr(index.embedder, "inner", index.embedder)
        hybrid = HybridRetriever(index)
        dense = HybridRetriever(index, mode="dense")
        bm25 = HybridRetriever(index, mode="bm25")

        from langchain_chroma import Chroma

        store = index.store
        baseline = Chroma(
            client=store._client,
            collection_name=settings.collection,
            embedding_function=_LCEmbeddings(index.embedder),
        )
        methods: dict[str, Callable[[str], object]] = {
            "LangChain Chroma similarity_search (baseline)": lambda q: baseline.similarity_search(q, k=args.k),
            "irchat dense": lambda q: dense.search(q, args.k),
            "irchat BM25": lambda q: bm25.search(q, args.k),
            "irchat hybrid (default)": lambda q: hybrid.search(q, args.k),
            "query embedding alone": lambda q: index.embedder.embed_query(q),
        }
        results = {name: timed(fn, queries, args.rounds) for name, fn in methods.items()}

    base_p50 = percentile(results["LangChain Chroma similarity_search (baseline)"], 50)
    base_p95 = percentile(results["LangChain Chroma similarity_search (baseline)"], 95)
    rows = []
    for name, ms in results.items():
        p50, p95, p99 = (percentile(ms, q) for q in (50, 95, 99))
        rows.append(
            [
                name,
                len(ms),
                f"{p50:.1f}",
                f"{p95:.1f}",
                f"{p99:.1f}",
                f"{statistics.mean(ms):.1f}",
                f"{p50 / base_p50:.2f}",
                f"{p95 / base_p95:.2f}",
            ]
        )
    table = markdown_table(
        ["method", "queries", "p50 ms", "p95 ms", "p99 ms", "mean ms", "p50 ÷ baseline", "p95 ÷ baseline"], rows
    )
    env = environment()
    body = "\n".join(
        [
            f"{n_chunks} chunks ({'current index' if args.current else args.records}), {len(queries)} gold questions "
            f"× {args.rounds} rounds, k={args.k}, embedder {args.embedder}; peak RSS {mib(peak.peak)}.",
            "Every method embeds its query with the same model, uncached, so the ratios compare the search itself.",
            "",
            table,
            "",
            "Environment: " + "; ".join(f"{k} {v}" for k, v in env.items()),
        ]
    )
    print(body)
    replace_section(args.markdown, "Query", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
