import json
import re
from pathlib import Path

import bm25s
import numpy as np
import pytest

import rag.lexical as lexical
import rag.tokenize as tk
from rag.errors import IrchatError
from rag.lexical import LexicalIndex, LexicalIndexError

RECORDS = Path(__file__).resolve().parents[2] / "data" / "records"
# A numbered question at a line start (or after a table tab): "3、公司在…？" / "12.库卡…？"
QUESTION = re.compile(r"(?:^|\t)\s*(\d{1,2})[、.．]\s*(?=\S*[？?])", re.M)


def qa_chunks() -> list[tuple[str, str]]:
    """Crude Q&A split of the bundled Haitian and Midea records: one chunk per numbered question."""
    chunks = []
    files = sorted(RECORDS.glob("haitian-688787/*.txt")) + sorted(RECORDS.glob("midea-000333/*.txt"))
    for f in files:
        text = f.read_text(encoding="utf-8")
        starts = list(QUESTION.finditer(text))
        for m, nxt in zip(starts, [*starts[1:], None], strict=True):
            chunks.append((f"{f.stem}#{m.group(1)}", text[m.end() : nxt.start() if nxt else len(text)]))
    return chunks


CHUNKS = qa_chunks()
TEXT = dict(CHUNKS)
QUERIES = ["毛利率增加到了多少", "DeepSeek预训练用了多少token", "美的分红和回购", "70.34", "库卡商誉减值"]


def chunk_with(phrase: str) -> str:
    (cid,) = [cid for cid, text in CHUNKS if phrase in text]
    return cid


@pytest.fixture(scope="module")
def index() -> LexicalIndex:
    return LexicalIndex.build(CHUNKS)


@pytest.fixture
def saved(index, tmp_path) -> Path:
    index.save(tmp_path / "lexical")
    return tmp_path / "lexical"


def version_dir(directory: Path) -> Path:
    return directory / (directory / "CURRENT").read_text().strip()


def test_corpus_is_real_qa_text():
    assert len(CHUNKS) > 40
    assert len(TEXT) == len(CHUNKS)
    assert any("4,369.53万元" in text for text in TEXT.values())


@pytest.mark.parametrize(
    ("query", "phrase"),
    [
        ("公司整体毛利率增加到了多少？", "毛利率增加至70.34%"),
        ("境外收入4369.53万元", "4,369.53万元"),
        ("DeepSeek V3预训练消耗了多少token", "14.8T"),
        ("自动化标注会不会取代人工", "完全的自动化标注"),
        ("数据服务商之间会打价格战吗", "价格竞争"),
        ("库卡有没有商誉减值风险", "商誉减值测试"),
        ("美的是否在做人形机器人", "网传美的研发生产了自己的人形机器人"),
        ("美的制造业毛利率28.24%", "28.24%"),
    ],
)
def test_paraphrased_query_ranks_its_passage_first(index, query, phrase):
    hits = index.search(query, k=5)
    assert hits[0][0] == chunk_with(phrase), hits


def test_bare_number_finds_the_passage_with_the_unit(index):
    hits = index.search("70.34", k=3)
    assert [cid for cid, _ in hits] == [chunk_with("70.34%")]


def test_results_are_positive_scores_best_first_and_at_most_k(index):
    hits = index.search("毛利率 收入 增长", k=7)
    assert len(hits) == 7
    scores = [s for _, s in hits]
    assert scores == sorted(scores, reverse=True)
    assert all(s > 0 for s in scores)
    assert len({cid for cid, _ in hits}) == 7


def test_no_known_token_or_k_zero_gives_nothing(index):
    assert index.search("的了是？", k=5) == []
    assert index.search("zzzqqq", k=5) == []
    assert index.search("毛利率", k=0) == []
    assert len(index.search("毛利率", k=10_000)) <= len(index)


def test_allowed_ids_restrict_results(index):
    midea = {cid for cid in index.ids if cid.startswith("midea")}
    everything = index.search("毛利率", k=len(index))
    filtered = index.search("毛利率", k=5, allowed_ids=midea)
    assert filtered and all(cid in midea for cid, _ in filtered)
    assert any(not cid.startswith("midea") for cid, _ in everything)
    # Same scores as unfiltered, just without the others.
    assert filtered == [h for h in everything if h[0] in midea][:5]


def test_allowed_ids_edge_cases(index):
    target = chunk_with("商誉减值测试")
    assert index.search("毛利率", k=5, allowed_ids=set()) == []
    assert index.search("毛利率", k=5, allowed_ids={"no-such-id"}) == []
    assert index.search("商誉减值", k=5, allowed_ids={target, "no-such-id"})[0][0] == target
    # An allowed chunk that does not match the query is not returned with a zero score.
    assert index.search("商誉减值", k=5, allowed_ids={chunk_with("14.8T")}) == []


def test_ids_and_len(index):
    assert index.ids == tuple(cid for cid, _ in CHUNKS)
    assert len(index) == len(CHUNKS)


def test_matrix_is_bm25s_own_index_bit_for_bit(index):
    # The vectorised builder must give exactly what bm25s.BM25.index gives from the same token ids.
    vocab = index._bm25.vocab_dict
    docs = [tk.tokenize(text) for _, text in CHUNKS]
    reference = bm25s.BM25(k1=index.k1, b=index.b, method="lucene")
    reference.index(([[vocab[t] for t in doc] for doc in docs], dict(vocab)), show_progress=False)
    for part in ("data", "indices", "indptr"):
        assert np.array_equal(index._bm25.scores[part], reference.scores[part]), part
    # And bm25s fed plain token strings (its own vocabulary) scores every chunk the same.
    plain = bm25s.BM25(k1=index.k1, b=index.b, method="lucene")
    plain.index(docs, show_progress=False)
    for query in QUERIES:
        tokens = tk.tokenize(query)
        known = [t for t in tokens if t in vocab]
        assert np.array_equal(index._bm25.get_scores(known), plain.get_scores(tokens)), query


def test_blockwise_matrix_does_not_depend_on_block_size(index, monkeypatch):
    expected = {part: index._bm25.scores[part].copy() for part in ("data", "indices", "indptr")}
    monkeypatch.setattr(lexical, "_BLOCK_DOCS", 7)
    small = LexicalIndex.build(CHUNKS)
    for part, array in expected.items():
        assert np.array_equal(small._bm25.scores[part], array), part


def test_save_load_round_trip_gives_identical_results(index, saved):
    loaded = LexicalIndex.load(saved)
    assert loaded.ids == index.ids and (loaded.k1, loaded.b) == (index.k1, index.b)
    midea = {cid for cid in index.ids if cid.startswith("midea")}
    for query in QUERIES:
        assert loaded.search(query, k=10) == index.search(query, k=10)
        assert loaded.search(query, k=10, allowed_ids=midea) == index.search(query, k=10, allowed_ids=midea)
    mapped = LexicalIndex.load(saved, mmap=True)
    assert mapped.search(QUERIES[0], k=10) == index.search(QUERIES[0], k=10)


def test_manifest_lists_ids_and_checksums(saved):
    manifest = json.loads((version_dir(saved) / "manifest.json").read_text())
    assert manifest["ids"] == [cid for cid, _ in CHUNKS]
    assert {"data.csc.index.npy", "vocab.index.json", "tokens.npy"} <= manifest["files"].keys()
    assert all(len(meta["sha256"]) == 64 for meta in manifest["files"].values())


@pytest.mark.parametrize(
    "name", ["data.csc.index.npy", "indices.csc.index.npy", "vocab.index.json", "tokens.npy", "manifest.json"]
)
def test_truncated_file_raises(saved, name):
    path = version_dir(saved) / name
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(LexicalIndexError, match=re.escape(str(path))):
        LexicalIndex.load(saved)


def test_altered_file_of_same_size_raises(saved):
    path = version_dir(saved) / "data.csc.index.npy"
    blob = bytearray(path.read_bytes())
    blob[-1] ^= 0xFF
    path.write_bytes(bytes(blob))
    with pytest.raises(LexicalIndexError, match="SHA-256"):
        LexicalIndex.load(saved)


def test_edited_manifest_ids_raise(saved):
    path = version_dir(saved) / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["ids"][0], manifest["ids"][1] = manifest["ids"][1], manifest["ids"][0]
    path.write_text(json.dumps(manifest))
    with pytest.raises(LexicalIndexError, match="checksum"):
        LexicalIndex.load(saved)


def test_missing_or_partial_folder_raises(saved, tmp_path):
    with pytest.raises(LexicalIndexError, match="missing"):
        LexicalIndex.load(tmp_path / "nowhere")
    empty = tmp_path / "empty"
    (empty / ".tmp-index-20250101T000000-dead").mkdir(parents=True)  # what a crashed save leaves
    with pytest.raises(LexicalIndexError, match="CURRENT"):
        LexicalIndex.load(empty)
    (version_dir(saved) / "tokens.npy").unlink()
    with pytest.raises(LexicalIndexError, match=r"tokens\.npy"):
        LexicalIndex.load(saved)
    (saved / "CURRENT").write_text("index-gone\n")
    with pytest.raises(LexicalIndexError, match="index-gone"):
        LexicalIndex.load(saved)


def test_index_cut_by_other_analyser_rules_raises(saved, monkeypatch):
    monkeypatch.setattr(lexical, "analyser_fingerprint", lambda: "other-rules/jieba-0")
    with pytest.raises(LexicalIndexError, match="rebuild"):
        LexicalIndex.load(saved)


def test_error_is_an_irchat_error():
    assert issubclass(LexicalIndexError, IrchatError)


def test_save_replaces_the_current_version_and_keeps_only_the_previous(index, tmp_path):
    directory = tmp_path / "lexical"
    first = index.save(directory)
    smaller = LexicalIndex.build(CHUNKS[:10])
    second = smaller.save(directory)
    third = smaller.save(directory)
    assert len(LexicalIndex.load(directory)) == 10
    versions = sorted(p.name for p in directory.iterdir() if p.name.startswith("index-"))
    assert versions == sorted([second.name, third.name])
    assert not first.exists()
    assert not [p for p in directory.iterdir() if p.name.startswith(".tmp")]


def test_failed_save_leaves_the_previous_index_loadable(index, tmp_path, monkeypatch):
    directory = tmp_path / "lexical"
    LexicalIndex.build(CHUNKS[:10]).save(directory)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(lexical.np, "save", disk_full)
    with pytest.raises(LexicalIndexError, match="could not save"):
        index.save(directory)
    monkeypatch.undo()
    assert len(LexicalIndex.load(directory)) == 10
    assert not [p for p in directory.iterdir() if p.name.startswith(".tmp")]


@pytest.fixture
def count_tokenised(monkeypatch) -> list[str]:
    """Texts that go through the analyser while building (search cuts queries through its own import)."""
    seen: list[str] = []
    real = tk.tokenize

    def counting(text: str) -> list[str]:
        seen.append(text)
        return real(text)

    monkeypatch.setattr(tk, "tokenize", counting)
    return seen


def changed_corpus() -> list[tuple[str, str]]:
    items = list(CHUNKS[1:])  # one removed
    cid, text = items[0]
    items[0] = (cid, text + "公司新增回购计划。")  # one edited
    items.append(("new#1", "全新一段：库卡机器人订单增长。"))  # one added
    return items


def test_rebuild_tokenises_only_changed_texts(index, count_tokenised):
    items = changed_corpus()
    rebuilt = index.rebuild(items)
    assert sorted(count_tokenised) == sorted([items[0][1], items[-1][1]])
    assert rebuilt.last_build.tokenised == 2 and rebuilt.last_build.reused == len(items) - 2
    count_tokenised.clear()
    fresh = LexicalIndex.build(items)
    assert len(count_tokenised) == len(items)
    # Reused tokens (with a re-numbered vocabulary) must rank exactly like a build from scratch.
    for query in [*QUERIES, "回购计划", "库卡机器人订单"]:
        assert rebuilt.search(query, k=10) == fresh.search(query, k=10), query
    assert rebuilt.ids == fresh.ids
    assert len(rebuilt._bm25.vocab_dict) == len(fresh._bm25.vocab_dict)


def test_rebuild_from_disk_uses_the_saved_token_cache(saved, count_tokenised):
    loaded = LexicalIndex.load(saved)
    rebuilt = loaded.rebuild(changed_corpus())
    assert len(count_tokenised) == 2
    assert rebuilt.search("回购计划", k=3)[0][0] == CHUNKS[1][0]
    assert rebuilt.search("库卡机器人订单", k=3)[0][0] == "new#1"


def test_empty_and_tokenless_indexes(tmp_path):
    empty = LexicalIndex.build([])
    assert len(empty) == 0 and empty.search("毛利率") == []
    empty.save(tmp_path / "a")
    assert len(LexicalIndex.load(tmp_path / "a")) == 0
    blank = LexicalIndex.build([("x", "。。。"), ("y", "")])
    blank.save(tmp_path / "b")
    assert LexicalIndex.load(tmp_path / "b").search("毛利率") == []
    assert blank.rebuild([("x", "毛利率提升")]).search("毛利率")[0][0] == "x"


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="duplicate"):
        LexicalIndex.build([("a", "毛利率"), ("a", "收入")])
    with pytest.raises(TypeError):
        LexicalIndex.build([("a", None)])
    with pytest.raises(ValueError):
        LexicalIndex(b=2.0)
