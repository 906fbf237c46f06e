"""BEIR folders: loading, chunking, and retrieval scored end to end on a tiny hand-made dataset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.beir import document_chunks, evaluate, gold_questions, is_beir, load_beir, split_text
from rag.errors import ParseError
from rag.index import Index
from tests.fakes import HashEmbedder

LIGHTHOUSE_FILLER = " ".join(
    f"In the year {1700 + i} the keepers of harbour light number {i} trimmed the wicks, polished the brass and "
    "logged the weather before dawn."
    for i in range(20)
)
DOCS = {
    "photo": (
        "Photosynthesis in plants",
        "Plants convert sunlight, water and carbon dioxide into glucose and oxygen inside their chloroplasts.",
    ),
    "resp": (
        "Plant respiration",
        "At night plants take in oxygen and release carbon dioxide, burning the sugars made during the day.",
    ),
    "volcano": (
        "Volcanic eruptions",
        "Magma rises through the crust and erupts as lava, ash and gas when pressure builds in the chamber.",
    ),
    "jazz": (
        "Origins of jazz",
        "Jazz emerged in New Orleans in the early twentieth century, blending blues, ragtime and brass band music.",
    ),
    "marathon": (
        "Marathon running",
        "The marathon distance of 42.195 kilometres was fixed at the 1908 London Olympics.",
    ),
    "bitcoin": (
        "Bitcoin mining",
        "Miners compete to solve proof-of-work puzzles; the winner adds a block and earns newly issued bitcoin.",
    ),
    "modern-lights": (
        "Modern lighthouses",
        "Most lighthouses are now automated, with LED lamps and solar panels instead of resident keepers.",
    ),
    "tea": ("乌龙茶", "乌龙茶是半发酵茶，主要产于福建、广东和台湾，铁观音和大红袍是其代表品种。"),
    "lighthouse": (
        "Harbour light logbook",
        LIGHTHOUSE_FILLER + " The Tower of Hercules in A Coruña, built by the "
        "Romans, is the oldest lighthouse still in use.",
    ),
}
QUERIES = {
    "q-photo": "How do plants turn sunlight into sugar?",
    "q-volcano": "What happens when magma pressure builds up under a volcano?",
    "q-jazz": "Where did jazz music begin?",
    "q-marathon": "How long is a marathon in kilometres?",
    "q-tea": "乌龙茶的代表品种有哪些？",
    "q-roman": "What is the oldest lighthouse built by the Romans?",
    "q-two": "jazz music and volcanic lava",
    "q-unjudged": "This query has no judgements and is left out.",
}
QRELS = [
    ("q-photo", "photo", 1),
    ("q-photo", "resp", 0),  # judged, not relevant
    ("q-volcano", "volcano", 1),
    ("q-jazz", "jazz", 2),  # graded relevance counts as relevant
    ("q-marathon", "marathon", 1),
    ("q-tea", "tea", 1),
    ("q-roman", "lighthouse", 1),
    ("q-two", "jazz", 1),
    ("q-two", "volcano", 1),
]
EXPECTED = {qid: {d for q, d, s in QRELS if q == qid and s > 0} for qid in QUERIES if qid != "q-unjudged"}


def write_beir(folder: Path, docs=DOCS, queries=QUERIES, qrels=QRELS) -> Path:
    """A BEIR folder as BEIR's own loaders read it."""
    (folder / "qrels").mkdir(parents=True)
    with (folder / "corpus.jsonl").open("w", encoding="utf-8") as f:
        for doc_id, (title, text) in docs.items():
            f.write(json.dumps({"_id": doc_id, "title": title, "text": text}, ensure_ascii=False) + "\n")
    with (folder / "queries.jsonl").open("w", encoding="utf-8") as f:
        for qid, text in queries.items():
            f.write(json.dumps({"_id": qid, "text": text}, ensure_ascii=False) + "\n")
    lines = ["query-id\tcorpus-id\tscore", *(f"{q}\t{d}\t{s}" for q, d, s in qrels)]
    (folder / "qrels" / "test.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.fixture
def beir_dir(tmp_path) -> Path:
    return write_beir(tmp_path / "tiny")


def test_load_and_questions(beir_dir):
    assert is_beir(beir_dir) and not is_beir(beir_dir / "corpus.jsonl")
    ds = load_beir(beir_dir)
    assert ds.name == "tiny" and len(ds.corpus) == len(DOCS) and ds.corpus["tea"][0] == "乌龙茶"
    assert ds.qrels["q-photo"] == {"photo": 1, "resp": 0}
    questions = {q.id: q for q in gold_questions(ds)}
    assert {qid: set(q.expected) for qid, q in questions.items()} == EXPECTED
    assert questions["q-tea"].lang == "zh" and questions["q-roman"].lang == "en"
    assert ds.warnings == []


@pytest.mark.parametrize(
    ("file", "content", "message", "line"),
    [
        ("corpus.jsonl", '{"_id": "a", "text": "x"}\n{not json}\n', "not JSON", 2),
        ("corpus.jsonl", '{"_id": "a", "text": "x"}\n{"_id": "a", "text": "y"}\n', "duplicate _id 'a'", 2),
        ("queries.jsonl", '{"text": "no id"}\n', "expected an object with _id, text", 1),
        ("qrels/test.tsv", "query-id\tcorpus-id\tscore\nq-nope\tphoto\t1\n", "query 'q-nope' is not in", 2),
        ("qrels/test.tsv", "query-id\tcorpus-id\tscore\nq-photo\tphoto\thigh\n", "score 'high'", 2),
    ],
)
def test_malformed_files_name_file_and_line(beir_dir, file, content, message, line):
    (beir_dir / file).write_text(content, encoding="utf-8")
    with pytest.raises(ParseError) as e:
        load_beir(beir_dir)
    assert e.value.file.endswith(file) and e.value.line == line and message in e.value.reason


def test_missing_qrels_and_unknown_documents(beir_dir):
    with open(beir_dir / "qrels" / "test.tsv", "a", encoding="utf-8") as f:
        f.write("q-photo\tghost\t1\n")
    ds = load_beir(beir_dir)
    assert ds.qrels["q-photo"]["ghost"] == 1 and "not in corpus.jsonl" in ds.warnings[0]
    (beir_dir / "qrels" / "test.tsv").unlink()
    with pytest.raises(ParseError, match=r"qrels/<split>\.tsv"):
        load_beir(beir_dir)


def test_split_text_keeps_every_character_within_budget():
    def count(text: str) -> int:  # stand-in tokenizer: one token per 4 characters
        return (len(text) + 3) // 4

    pieces = split_text(LIGHTHOUSE_FILLER, count, 100)
    assert len(pieces) > 3 and "".join(pieces) == LIGHTHOUSE_FILLER
    assert all(count(p) <= 100 for p in pieces)
    assert split_text("short.", count, 100) == ["short."]
    long_word = "x" * 1000  # no sentence end at all: cut by characters
    assert "".join(split_text(long_word, count, 50)) == long_word


def test_long_document_is_split_into_parts_of_one_citation(beir_dir):
    ds = load_beir(beir_dir)
    embedder = HashEmbedder()
    chunks = document_chunks(ds, embedder.count_tokens, 128)
    parts = [c for c in chunks if c.record == "lighthouse"]
    assert len(parts) > 1 and all(embedder.count_tokens(c.text) <= 128 for c in chunks)
    assert "".join(c.answer_text for c in parts) == DOCS["lighthouse"][1]
    assert all(c.text.startswith("Harbour light logbook\n") for c in parts)
    assert {c.citation.key() for c in parts} == {"[lighthouse]"} and {c.n_parts for c in parts} == {len(parts)}
    assert len({c.id for c in chunks}) == len(chunks)


def test_cli_scores_a_beir_folder_with_a_stand_in_embedder(beir_dir, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from ui import cli

    monkeypatch.setenv("IRCHAT_DATA_DIR", str(tmp_path / "home"))
    monkeypatch.setattr(cli, "Index", lambda settings: Index(settings, embedder=HashEmbedder()))
    out = tmp_path / "rep"
    args = ["eval", "--gold", str(beir_dir), "--config", "bm25", "--config", "hybrid", "--report", str(out)]
    result = CliRunner().invoke(cli.app, [*args, "--answers"])
    assert result.exit_code == 0, result.output
    assert "answers are not scored on a BEIR folder" in result.output
    assert "7 judged BEIR queries of tiny" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.json", "report.md"]
    data = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert data["dataset"]["format"] == "beir" and data["dataset"]["documents"] == len(DOCS)
    assert data["targets"] == [] and "answers" not in data
    bm25 = data["configs"]["bm25"]
    # every ranking names documents once, by their BEIR ids
    assert all(len(r) == len(set(r)) and set(r) <= set(DOCS) for r in bm25["ranked"].values())
    assert bm25["metrics"]["all"]["n"] == 7 and bm25["metrics"]["all"]["recall@5"] == 1.0
    assert not (tmp_path / "home" / "chroma").exists()  # the corpus went into a scratch index only

    result = CliRunner().invoke(cli.app, [*args, "--records", str(tmp_path)])
    assert result.exit_code == 2 and "--records does not apply" in result.output


@pytest.mark.slow
def test_real_embedder_retrieves_the_judged_documents(beir_dir, real_settings, tmp_path):
    ds = load_beir(beir_dir)
    index = Index(real_settings.scratch(tmp_path / "scratch"))
    report = evaluate(ds, index)
    assert report["dataset"]["chunks"] > len(DOCS)  # the lighthouse document was split
    assert index.store.count() == report["dataset"]["chunks"]
    for config in ("dense", "hybrid", "hybrid+glossary"):
        data = report["configs"][config]
        assert data["metrics"]["all"]["recall@5"] == 1.0, (config, data["ranked"])
        for qid, ranked in data["ranked"].items():
            assert ranked[0] in EXPECTED[qid], (config, qid, ranked)
        # q-two has two relevant documents: recall@1 is at most 1/2 there, 1 elsewhere
        assert data["metrics"]["all"]["recall@1"] == pytest.approx((6 + 0.5) / 7)
    # the judged-irrelevant neighbour is ranked, but below the relevant document
    ranked = report["configs"]["hybrid"]["ranked"]["q-photo"]
    assert ranked.index("photo") < ranked.index("resp")
    # The Roman lighthouse is named only in the last sentence of a document over 512 tokens. Embedded whole
    # (truncated), "modern-lights" ranks above it for this query; as a part of its own, the sentence wins.
    assert report["configs"]["dense"]["ranked"]["q-roman"][0] == "lighthouse"
