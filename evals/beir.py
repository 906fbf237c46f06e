"""BEIR-style datasets: load ``corpus.jsonl``, ``queries.jsonl`` and ``qrels/<split>.tsv``, index the corpus
into a (scratch) index and score the retrieval configurations on it with the gold set's metrics.

Each document becomes one or more ``qa`` chunks of a pseudo-company named after the dataset, with the BEIR
``_id`` as its record number, so the retriever treats it like any passage: no record chunks means no company
narrowing, and the parts of a long document share one citation (``dedupe_pairs`` keeps the best part).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evals.gold import GoldQuestion
from rag.errors import ParseError
from rag.index import Index
from rag.lang import detect_language
from rag.protocols import batched
from rag.types import Chunk, Hit

CORPUS = "corpus.jsonl"
QUERIES = "queries.jsonl"
KIND = "beir"
EMBED_GROUP = 256
# Sentence ends in Chinese and Latin text; a Latin full stop only before whitespace so "3.5" stays whole.
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;\n])|(?<=\.)(?=\s)")
_SLACK = 4  # special tokens the counter may leave out


@dataclass
class BeirDataset:
    """A BEIR dataset in memory: documents ``{id: (title, text)}``, queries ``{id: text}``, graded qrels."""

    name: str
    path: Path
    corpus: dict[str, tuple[str, str]]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    warnings: list[str] = field(default_factory=list)


def is_beir(path: str | Path) -> bool:
    """True when ``path`` is a folder holding a BEIR ``corpus.jsonl``."""
    p = Path(path)
    return p.is_dir() and (p / CORPUS).is_file()


def load_beir(path: str | Path, split: str = "test") -> BeirDataset:
    """Read a BEIR folder; a malformed line raises :class:`ParseError` naming the file and line."""
    folder = Path(path)
    for need in (folder / CORPUS, folder / QUERIES, folder / "qrels" / f"{split}.tsv"):
        if not need.is_file():
            raise ParseError(need, "missing: a BEIR folder holds corpus.jsonl, queries.jsonl and qrels/<split>.tsv")
    corpus = {
        row["_id"]: (str(row.get("title") or ""), str(row.get("text") or ""))
        for row in _jsonl(folder / CORPUS, ("_id", "text"))
    }
    queries = {row["_id"]: str(row["text"]) for row in _jsonl(folder / QUERIES, ("_id", "text"))}
    qrels, warnings = _qrels(folder / "qrels" / f"{split}.tsv", queries, corpus)
    return BeirDataset(folder.name, folder, corpus, queries, qrels, warnings)


def _jsonl(path: Path, required: Sequence[str]) -> list[dict[str, Any]]:
    rows = []
    seen: set[str] = set()
    with path.open(encoding="utf-8-sig") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise ParseError(path, f"not JSON ({e.msg})", line=n) from e
            if not isinstance(row, dict) or any(k not in row for k in required):
                raise ParseError(path, f"expected an object with {', '.join(required)}", line=n)
            row["_id"] = str(row["_id"])
            if row["_id"] in seen:
                raise ParseError(path, f"duplicate _id {row['_id']!r}", line=n)
            seen.add(row["_id"])
            rows.append(row)
    return rows


def _qrels(
    path: Path, queries: dict[str, str], corpus: dict[str, tuple[str, str]]
) -> tuple[dict[str, dict[str, int]], list[str]]:
    qrels: dict[str, dict[str, int]] = {}
    unknown_docs: set[str] = set()
    with path.open(encoding="utf-8-sig", newline="") as f:
        for n, row in enumerate(csv.reader(f, delimiter="\t"), 1):
            if not row or not "".join(row).strip():
                continue
            if n == 1 and row[0].strip().lower() == "query-id":
                continue  # the header BEIR writes
            if len(row) < 3:
                raise ParseError(path, "expected query-id, corpus-id and score separated by tabs", line=n)
            qid, did, score = row[0].strip(), row[1].strip(), row[2].strip()
            try:
                grade = int(float(score))
            except ValueError as e:
                raise ParseError(path, f"score {score!r} is not a number", line=n) from e
            if qid not in queries:
                raise ParseError(path, f"query {qid!r} is not in {QUERIES}", line=n)
            if did not in corpus:
                unknown_docs.add(did)
            qrels.setdefault(qid, {})[did] = grade
    warnings = []
    if unknown_docs:
        # Kept as relevant, as BEIR's own evaluation does: recall cannot reach 1 for those queries.
        warnings.append(f"{len(unknown_docs)} judged documents are not in {CORPUS} (e.g. {sorted(unknown_docs)[0]!r})")
    return qrels, warnings


def gold_questions(dataset: BeirDataset) -> list[GoldQuestion]:
    """The judged queries as gold questions: documents graded above 0 are the expected ones (binary relevance)."""
    out = []
    for qid, text in dataset.queries.items():
        relevant = [d for d, grade in dataset.qrels.get(qid, {}).items() if grade > 0]
        if relevant:
            out.append(GoldQuestion(id=qid, question=text, lang=detect_language(text), expected=relevant, kind=KIND))
    return out


def split_text(text: str, count: Callable[[str], int], budget: int) -> list[str]:
    """Greedy packing of ``text``'s sentences into pieces of at most ``budget`` tokens (a longer sentence is cut
    by characters), so that every part of a document is embedded rather than truncated away."""
    if count(text) <= budget:
        return [text]
    parts: list[str] = []
    current = ""
    for sentence in (s for s in _SENTENCE_END.split(text) if s):
        if current and count(current + sentence) > budget:
            parts.append(current)
            current = ""
        current += sentence
        while count(current) > budget and len(current) > 1:
            cut = max(1, len(current) * budget // max(count(current), 1) - 1)
            parts.append(current[:cut])
            current = current[cut:]
    if current.strip():
        parts.append(current)
    return [p for p in parts if p.strip()]


def document_chunks(dataset: BeirDataset, count: Callable[[str], int], max_tokens: int) -> list[Chunk]:
    """Chunks of every document: the title heads each part (it carries the topic), the text is split to fit."""
    chunks = []
    for doc_id, (title, text) in dataset.corpus.items():
        head = f"{title}\n" if title.strip() else ""
        budget = max(16, max_tokens - (count(head) if head else 0) - _SLACK)
        pieces = split_text(text, count, budget) if text.strip() else [""]
        for i, piece in enumerate(pieces):
            chunks.append(
                Chunk(
                    id=f"{dataset.name}:{doc_id}:{i}",
                    kind="qa",
                    text=(head + piece).strip() or doc_id,
                    company=dataset.name,
                    record=doc_id,
                    part=i,
                    n_parts=len(pieces),
                    question_text=title,
                    answer_text=piece,
                )
            )
    return chunks


def index_dataset(dataset: BeirDataset, index: Index, on_progress: Callable[[int, int], None] | None = None) -> int:
    """Embed and store every document of ``dataset`` in ``index`` and build its lexical index; returns chunks."""
    index.check_embedder()
    embedder = index.embedder
    chunks = document_chunks(dataset, embedder.count_tokens, embedder.max_tokens)
    done = 0
    for group in batched(chunks, EMBED_GROUP):
        index.store.upsert(group, embedder.embed_passages([c.text for c in group]))
        done += len(group)
        if on_progress:
            on_progress(done, len(chunks))
    index.sync_lexical()
    return len(chunks)


def document_id(hit: Hit) -> str:
    """A hit's BEIR document id (what qrels name)."""
    return hit.chunk.record


def evaluate(
    dataset: BeirDataset,
    index: Index,
    configs: Sequence[str] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Index ``dataset`` into ``index`` (use a scratch one) and score the retrieval configurations on it."""
    from evals.run import DEFAULT_CONFIGS, run

    questions = gold_questions(dataset)
    n_chunks = index_dataset(dataset, index, on_progress)
    info = {
        "format": "beir",
        "name": dataset.name,
        "path": str(dataset.path),
        "documents": len(dataset.corpus),
        "chunks": n_chunks,
        "queries_judged": len(questions),
        "warnings": dataset.warnings,
    }
    return run(index, questions, configs or DEFAULT_CONFIGS, key_of=document_id, dataset=info)
