"""benchmarks/corpus.py and benchmarks/scale.py at toy sizes, in-process, with the hash stand-in embedder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from benchmarks import scale
from benchmarks.corpus import build_corpus, read_manifest
from ingest.pipeline import embedded_texts
from rag.index import Index
from rag.lexical import LexicalIndex
from rag.settings import Settings
from tests.fakes import HashEmbedder

ROOT = Path(__file__).resolve().parents[1]
PAIRS = 300
QUERIES = 12


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled text records only (Haitian and Midea): parsing the PDFs would take most of the test's time."""
    folder = tmp_path_factory.mktemp("records")
    for name in ("haitian-688787", "midea-000333"):
        shutil.copytree(ROOT / "data" / "records" / name, folder / name)
    return folder


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data = tmp_path_factory.mktemp("data")
    return Settings(data_dir=data, embed_cache_dir=data / "embeddings", chroma_host=None)


@pytest.fixture(scope="module")
def corpus(records: Path, settings: Settings):
    """A 300-pair corpus where scale.run looks for it, so the benchmark reuses it."""
    root = settings.data_dir / "bench-scale"
    folder = scale.corpus_folder(root, PAIRS, 0, HashEmbedder.name)
    report = build_corpus(folder, PAIRS, 0, records_dir=records, settings=settings, embedder=HashEmbedder())
    return root, folder, report


def test_corpus_counts_and_store_agree(corpus, settings: Settings) -> None:
    _root, folder, report = corpus
    assert report.pairs == PAIRS == report.real_pairs + report.synthetic_pairs
    assert report.real_records == 3 and report.synthetic_pairs > 0 and report.companies >= 1
    index = Index(settings.scratch(folder), embedder=HashEmbedder())
    chunks = index.store.get()
    # A fresh embedding cache: what the ingest of the real records embeds (each chunk, and each pair's answer and
    # each sentence said by itself, for the answer model: `embedded_texts`, whose own rule the ingest tests check)
    # embedded once, and nothing of the recombined records.
    real = [c for c in chunks if not c.source.startswith("synthetic/")]
    assert len(real) == report.real_chunks
    embedded = set(embedded_texts(real))
    answers = {c.answer_alone for c in real} - {""}
    said = {s for c in real for s in c.said}
    assert answers and said - answers and answers | said <= embedded
    assert report.texts_embedded == len(embedded)
    assert report.vectors_reused == report.synthetic_chunks
    assert len(chunks) == report.chunks == report.real_chunks + report.synthetic_chunks
    assert sum(1 for c in chunks if c.kind == "record") == report.real_records + report.synthetic_records
    pairs = {(c.record_key, c.question) for c in chunks if c.kind == "qa"}
    assert len(pairs) == PAIRS
    lexical = index.ensure_lexical()  # loads the saved index; rebuilding would mean it was out of step
    assert set(lexical.ids) == {c.id for c in chunks}
    assert read_manifest(folder)["chunks"] == report.chunks


def test_recombined_chunks_are_rewritten_and_vectors_distinct(corpus, settings: Settings) -> None:
    _root, folder, report = corpus
    store = Index(settings.scratch(folder), embedder=HashEmbedder()).store
    chunks = store.get()
    real = [c for c in chunks if not c.source.startswith("synthetic/")]
    fake = [c for c in chunks if c.source.startswith("synthetic/")]
    assert len(fake) == report.synthetic_chunks
    real_codes = {c.stock_code for c in real}
    assert not {c.stock_code for c in fake} & real_codes
    for c in fake:
        assert "海天瑞声" not in c.text and "美的集团" not in c.text
        if c.kind == "qa":
            assert c.text.startswith(c.short_name) and c.question_text in c.text
    # Texts differ from their sources: at most a few recombined texts equal a real one (none should).
    assert not {c.text for c in fake} & {c.text for c in real}
    vectors = np.asarray(store._col().get(include=["embeddings"])["embeddings"], dtype=np.float32)
    assert len(vectors) == len(chunks)
    assert len(np.unique(vectors, axis=0)) == len(vectors)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def test_same_seed_same_corpus_and_no_new_embeddings(corpus, records: Path, settings: Settings, tmp_path) -> None:
    """A smaller corpus with the same seed is the larger one's prefix, and embeds nothing (the cache has it all)."""
    _root, folder, _first = corpus
    small = build_corpus(tmp_path / "small", 200, 0, records_dir=records, settings=settings, embedder=HashEmbedder())
    assert small.texts_embedded == 0 and small.embed_cache_hits >= small.real_chunks
    big = {c.id: c.text for c in Index(settings.scratch(folder), embedder=HashEmbedder()).store.get()}
    chunks = Index(settings.scratch(tmp_path / "small"), embedder=HashEmbedder()).store.get()
    differ = {c.source for c in chunks if big.get(c.id) != c.text}
    # Only the small corpus's last recombined record, cut short to land on 200 pairs, may differ.
    assert len(differ) <= 1 and all(s.startswith("synthetic/") for s in differ)
    assert sum(c.source.startswith("synthetic/") for c in chunks) > 10 * len(differ)
    with pytest.raises(FileExistsError):
        build_corpus(tmp_path / "small", 200, 0, records_dir=records, settings=settings, embedder=HashEmbedder())


def test_an_interrupted_build_resumed_is_the_corpus_an_uninterrupted_one_writes(
    corpus, records: Path, settings: Settings, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build stopped after some store writes goes on with ``resume``: nothing lost, nothing written twice."""
    from benchmarks import corpus as corpus_mod

    _root, whole, report = corpus
    monkeypatch.setattr(corpus_mod, "WRITE_BATCH", 10)  # several store writes before the stop
    monkeypatch.setattr(corpus_mod, "REPORT_EVERY_S", -1.0)  # and a progress line after each
    made = corpus_mod.CorpusBuilder.record
    stop = report.synthetic_records - 1
    assert stop >= 3

    def stop_at(self, i: int, max_pairs: int):
        if i == stop:
            raise KeyboardInterrupt
        return made(self, i, max_pairs)

    folder = tmp_path / "resumed"
    with monkeypatch.context() as m:
        m.setattr(corpus_mod.CorpusBuilder, "record", stop_at)
        with pytest.raises(KeyboardInterrupt):
            build_corpus(folder, PAIRS, 0, records_dir=records, settings=settings, embedder=HashEmbedder())
    progress = corpus_mod.read_progress(folder)
    assert progress is not None and 0 < progress["records"] <= stop and read_manifest(folder) is None
    with pytest.raises(FileExistsError):  # without resume (or force) a folder with a build in it is not touched
        build_corpus(folder, PAIRS, 0, records_dir=records, settings=settings, embedder=HashEmbedder())
    lines: list[str] = []
    again = build_corpus(
        folder, PAIRS, 0, records_dir=records, settings=settings, embedder=HashEmbedder(), resume=True, log=lines.append
    )
    assert any("resuming" in line for line in lines) and any("pairs," in line for line in lines)
    assert again.resumed_records == progress["records"] and corpus_mod.read_progress(folder) is None
    assert read_manifest(folder) is not None
    for field in ("chunks", "synthetic_records", "synthetic_pairs", "synthetic_chunks", "companies"):
        assert getattr(again, field) == getattr(report, field), field
    want = {c.id: c.text for c in Index(settings.scratch(whole), embedder=HashEmbedder()).store.get()}
    index = Index(settings.scratch(folder), embedder=HashEmbedder())
    got = {c.id: c.text for c in index.store.get()}
    assert got == want and index.store.count() == len(want)
    assert sorted(LexicalIndex.load(index.settings.lexical_dir).ids) == sorted(want)  # the saved one, as written
    # A different corpus asked in the same folder is not taken for the interrupted one.
    (folder / corpus_mod.MANIFEST).unlink()
    (folder / corpus_mod.PROGRESS).write_text(json.dumps({**progress, "pairs": PAIRS + 1}), encoding="utf-8")
    with pytest.raises(FileExistsError):
        build_corpus(folder, PAIRS, 0, records_dir=records, settings=settings, embedder=HashEmbedder(), resume=True)


@pytest.mark.parametrize("backend", ["embedded", pytest.param("server", marks=[pytest.mark.server, pytest.mark.slow])])
def test_scale_benchmark_output_shape(
    backend: str, corpus, records: Path, settings: Settings, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One measurement on embedded Chroma, or on a Chroma server that scale.measure starts over the same folder."""
    import rag.retriever

    # A toy index is searched in memory; the benchmark is about indexes searched through Chroma, so this one is too.
    monkeypatch.setattr(rag.retriever, "EXACT_LIMIT", 0)
    root, _folder, report = corpus
    queries = [q.question for q in scale.load_gold()][:QUERIES]
    results = scale.run(
        [PAIRS],
        backends=[backend],
        root=root,
        records_dir=records,
        settings=settings,
        embedder_kind="hash",
        queries=queries,
        rounds=1,
        isolate=False,
    )
    (corpus_info,) = results["corpora"]
    assert corpus_info["reused"] and corpus_info["pairs"] == PAIRS and corpus_info["chunks"] == report.chunks
    assert corpus_info["texts_embedded"] == report.texts_embedded
    (m,) = results["measurements"]
    assert m["backend"] == backend and m["pairs"] == PAIRS and m["chunks"] == report.chunks
    assert m["queries_naming_fictional_companies"] == 0
    for method in ("irchat", "baseline", "irchat_date", "baseline_date", "irchat_e2e", "baseline_e2e"):
        stats = m[method]
        assert stats["n"] == QUERIES
        assert 0 < stats["p50"] <= stats["p95"] <= stats["p99"]
    assert m["peak_rss"] > 0 and set(m["parts_mean"]) == {"dense", "bm25", "store_other", "other"}
    if backend == "server":
        assert m["server_peak_rss"] is None or m["server_peak_rss"] > 0
    assert m["store_calls_per_search"] and all(n > 0 for n in m["store_calls_per_search"].values())
    # Ingests are noticed by a stat of the BM25 index, not by counting the store on every search.
    assert "count" not in m["store_calls_per_search"], m["store_calls_per_search"]
    # The largest corpus also gets the single store calls timed and a cProfile of the searches.
    assert m["store_costs"] and all(ms > 0 for _key, _label, ms in m["store_costs"])
    assert m["profile"] and all(calls > 0 for _f, calls, _own, _cum in m["profile"])
    body = scale.render(results, {"date": "today"})
    md = tmp_path / "bench.md"
    md.write_text("# Benchmarks\n\n## Query\n\nkept\n", encoding="utf-8")
    scale.replace_section(md, scale.SECTION, body)
    text = md.read_text(encoding="utf-8")
    assert "## Query\n\nkept" in text and "## Search at scale" in text
    assert f"| {PAIRS} | {report.chunks} | {backend} |" in text and "With a date filter" in text
    assert "incl. query embedding" in text
    assert "no corpus of 100,000 pairs" in text
