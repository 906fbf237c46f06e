"""What the answer model sees of a (question, passage) pair: company-agnostic numbers only.

Following FAQ retrieval (Sakata et al., SIGIR 2019), the question's match with a pair's *question* and with its
*answer* are kept apart: a record's pairs are real investor questions, and which field matches says different
things. Every feature is about the relation of question and passage (similarities, coverage of the question's
terms, period and date agreement, a figure asked and given, company agreement, ranks and gaps), never about
which company or which words: the model must carry to companies it has not seen.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from rag.answering.question import Question
from rag.answering.text import figure_clauses, figures, sentences
from rag.asked_figure import gives
from rag.coverage import absent_concepts, concept_coverage
from rag.intent import in_months, reporting_window, states_period
from rag.protocols import Embedder
from rag.types import Chunk, Hit

# The order of the model's inputs. A change here needs a retrained model (rag/data/answer_model).
FEATURES: tuple[str, ...] = (
    "q_en",
    "q_figure",
    "q_change",
    "q_periods",
    "q_months",
    "q_company",
    "q_unresolved",
    "q_unknown_org",
    "q_metadata",
    "q_now",
    "q_forward",
    "q_concepts",
    "rank",
    "fused",
    "fused_gap",
    "dense_rank",
    "bm25_rank",
    "dense",
    "dense_gap",
    "dense_question",
    "dense_question_gap",
    "dense_answer",
    "dense_answer_gap",
    "dense_said",
    "dense_said_gap",
    "cov",
    "cov_gap",
    "cov_question",
    "bigram_question",
    "bigram_question_in_query",
    "cov_answer",
    "cov_sentence",
    "cov_figure_sentence",
    "kind_qa",
    "kind_intro",
    "kind_record",
    "meta_field",
    "in_window",
    "states_period",
    "days_after",
    "in_month",
    "named_record",
    "company_match",
    "org_in_passage",
    "org_name_sim",
    "org_name_gap",
    "n_figures",
    "figure_kind_given",
    "figure_kind_cov",
    "recency",
    "answer_len",
    "n_parts",
    "n_companies",
    "cov_figure_clause",
    "absent_weightiest",
    "absent_topics",
)
_MISSING = float("nan")
# Ranks beyond the lists the retriever fused count as this far down.
_FAR = 100.0


@dataclass
class Candidate:
    """One passage competing to answer: all retrieved parts of a pair (or of a presentation), best part first."""

    hit: Hit
    rank: int
    parts: list[Chunk]

    @property
    def chunk(self) -> Chunk:
        return self.hit.chunk

    @property
    def text(self) -> str:
        """The passage as indexed (header, question, answer), parts in order."""
        return "\n".join(c.text for c in sorted(self.parts, key=lambda c: c.part))

    @property
    def body(self) -> str:
        """What the company said: the answer (or the presentation, or the record's metadata lines)."""
        if self.chunk.kind == "record":
            return self.chunk.text
        return "\n".join((c.answer_text or c.text) for c in sorted(self.parts, key=lambda c: c.part))

    @property
    def asked(self) -> str:
        """The investor's question the passage answers ("" for a presentation or metadata)."""
        return self.chunk.question_text if self.chunk.kind == "qa" else ""

    @property
    def key(self) -> str:
        return self.chunk.citation.key(with_company=True)


def candidates(hits: Sequence[Hit], limit: int = 8) -> list[Candidate]:
    """The best ``limit`` distinct passages of ``hits`` (a long pair's parts joined), in retrieval order."""
    by_key: dict[str, Candidate] = {}
    for hit in hits:
        key = hit.chunk.citation.key(with_company=True)
        if key in by_key:
            if hit.chunk.id not in {c.id for c in by_key[key].parts}:
                by_key[key].parts.append(hit.chunk)
        elif len(by_key) < limit:
            by_key[key] = Candidate(hit, len(by_key), [hit.chunk])
    return list(by_key.values())


@dataclass
class Vectors:
    """Dense vectors the features need: the question's, each passage's, each pair question's and answer's."""

    question: np.ndarray
    passages: np.ndarray
    asked: np.ndarray
    answers: np.ndarray
    """Per candidate, its answer by itself (:attr:`Chunk.answer_alone`), without the investor's question; NaN for a
    presentation or metadata."""
    said: np.ndarray
    """Per candidate, its closest sentence's similarity to the question (:attr:`Chunk.said`, over all its parts); NaN
    when it says nothing."""
    names: np.ndarray
    """Per candidate, how close an organisation the question names but the index does not know ("Hikvision")
    is to the candidate's company name (the multilingual model knows some brands); NaN when there is none."""

    @classmethod
    def of(cls, embedder: Embedder, question: Question, cands: Sequence[Candidate]) -> Vectors:
        """Passage and answer vectors come through the embedder's cache (the ingest embedded the same texts); a
        pair's question is embedded as a passage of its own ("问：…"), short and cached after the first time."""
        q = np.asarray(embedder.embed_query(question.dense_text or question.text), dtype=np.float32)
        n = len(cands)
        # One call (one pass over the cache) for the passages, their pairs' questions and their answers alone.
        texts = [c.parts[0].text for c in cands]
        texts += [f"问：{c.asked}" if c.asked else "" for c in cands]
        texts += [c.parts[0].answer_alone for c in cands]
        said = [[s for p in sorted(c.parts, key=lambda p: p.part) for s in p.said] for c in cands]
        texts += [s for ss in said for s in ss]
        vectors = _apart(embedder, texts, q.shape[0])
        passages, asked, answers = vectors[:n], vectors[n : 2 * n], vectors[2 * n : 3 * n]
        closest = np.full(n, np.nan, dtype=np.float32)
        start = 3 * n
        for i, ss in enumerate(said):
            if ss:
                closest[i] = float(np.max(vectors[start : start + len(ss)] @ q))
            start += len(ss)
        names = np.full(len(cands), np.nan, dtype=np.float32)
        if question.organisations and cands:
            orgs = np.stack([np.asarray(embedder.embed_query(o), dtype=np.float32) for o in question.organisations])
            labels = [f"{c.chunk.short_name} {c.chunk.company}" for c in cands]
            unique = list(dict.fromkeys(labels))
            sims = np.max(np.asarray(embedder.embed_passages(unique), dtype=np.float32) @ orgs.T, axis=1)
            best = dict(zip(unique, sims, strict=True))
            names = np.asarray([best[label] for label in labels], dtype=np.float32)
        return cls(q, passages, asked, answers, closest, names)


def _apart(embedder: Embedder, texts: Sequence[str], dim: int) -> np.ndarray:
    """Passage vectors of the non-empty ``texts``, a row of NaN for each empty one."""
    out = np.full((len(texts), dim), np.nan, dtype=np.float32)
    present = [i for i, t in enumerate(texts) if t]
    if present:
        out[present] = np.asarray(embedder.embed_passages([texts[i] for i in present]), dtype=np.float32)
    return out


def featurize(
    question: Question,
    cands: Sequence[Candidate],
    vectors: Vectors,
    *,
    hide_asked: bool = False,
) -> np.ndarray:
    """One row of :data:`FEATURES` per candidate. ``hide_asked`` leaves out the match with each pair's own
    question (training on a pair's question as the query, where that match would give the answer away)."""
    n = len(cands)
    if n == 0:
        return np.zeros((0, len(FEATURES)), dtype=np.float32)
    concepts = list(question.concepts)
    topics = list(question.topics)  # a sentence's coverage: the period is its own feature (states_period)
    dense = vectors.passages @ vectors.question if len(vectors.passages) else np.zeros(n)
    dense_q = np.array([_dot(v, vectors.question) for v in vectors.asked]) if not hide_asked else np.full(n, np.nan)
    dense_a = np.array([_dot(v, vectors.question) for v in vectors.answers])
    cov = np.array([concept_coverage(concepts, c.text) if concepts else 1.0 for c in cands])
    top_fused = max(c.hit.score for c in cands)
    latest = max((c.chunk.date_end or c.chunk.date for c in cands), default="")
    companies = {c.chunk.stock_code or c.chunk.company for c in cands}
    named = {c.stock_code or c.name for c in question.companies}
    windows = [reporting_window(p) for p in question.periods]
    query_pairs = _pairs(_without_names(question.lexical_text or question.text, question.company_names))
    heaviest = max((t.weight for t in topics), default=0.0)
    rows = []
    for i, c in enumerate(cands):
        chunk = c.chunk
        says = sentences(c.body)
        sentence_cov = [concept_coverage(topics, s) if topics else 1.0 for s in says] or [0.0]
        figure_cov = [cv for s, cv in zip(says, sentence_cov, strict=False) if figures(s)]
        # a long sentence may name the measure asked and state figures of others ("…净利润为11亿元…营业收入增幅上升")
        clause_cov = [concept_coverage(topics, k) if topics else 1.0 for s in says for k in figure_clauses(s)]
        asked = question.figure_asked
        # the sentences stating a figure of the kind asked, and how much of the question they hold
        kind_cov = [cv for s, cv in zip(says, sentence_cov, strict=False) if gives(asked, s)] if asked else []
        # a passage may hold most of a question and lack the one thing it asks about (量产 of "CPO哪年量产")
        absent = [t.weight for t in absent_concepts(topics, c.text)]
        row = {
            "q_en": float(question.lang == "en"),
            "q_figure": float(question.asks_figure),
            "q_change": float(question.asks_change),
            "q_periods": float(len(question.periods)),
            "q_months": float(bool(question.months)),
            "q_company": float(bool(question.companies)),
            "q_unresolved": float(bool(question.organisations)),
            "q_unknown_org": float(bool(question.unknown_org)),
            "q_metadata": float(bool(question.metadata)),
            "q_now": float(question.now),
            "q_forward": float(question.forward),
            "q_concepts": float(len(concepts)),
            "rank": float(c.rank),
            "fused": c.hit.score,
            "fused_gap": (top_fused - c.hit.score) / top_fused if top_fused > 0 else 0.0,
            "dense_rank": float(c.hit.ranks.get("dense", _FAR)),
            "bm25_rank": float(c.hit.ranks.get("bm25", _FAR)),
            "dense": float(dense[i]),
            "dense_gap": float(np.max(dense) - dense[i]),
            "dense_question": float(dense_q[i]),
            "dense_question_gap": _gap(dense_q, i),
            "dense_answer": float(dense_a[i]),
            "dense_answer_gap": _gap(dense_a, i),
            "dense_said": float(vectors.said[i]),
            "dense_said_gap": _gap(vectors.said, i),
            "cov": float(cov[i]),
            "cov_gap": float(np.max(cov) - cov[i]),
            "cov_question": concept_coverage(concepts, c.asked)
            if (c.asked and concepts and not hide_asked)
            else _MISSING,
            "bigram_question": _jaccard(query_pairs, _pairs(c.asked)) if c.asked and not hide_asked else _MISSING,
            "bigram_question_in_query": (
                _contained(_pairs(c.asked), query_pairs) if c.asked and not hide_asked else _MISSING
            ),
            "cov_answer": concept_coverage(concepts, c.body) if concepts else 1.0,
            "cov_sentence": max(sentence_cov),
            "cov_figure_sentence": max(figure_cov) if figure_cov else 0.0,
            "kind_qa": float(chunk.kind == "qa"),
            "kind_intro": float(chunk.kind == "intro"),
            "kind_record": float(chunk.kind == "record"),
            "meta_field": (
                float(chunk.kind == "record" and any(f in chunk.text for f in question.metadata))
                if question.metadata
                else _MISSING
            ),
            "in_window": float(any(w[0] <= chunk.date <= w[1] for w in windows)) if windows else _MISSING,
            "states_period": (
                float(any(states_period(s, list(question.periods)) for s in says if figures(s)) or not says)
                if question.periods
                else _MISSING
            ),
            "days_after": _days_after(question, chunk.date),
            "in_month": float(in_months(chunk.date, chunk.date_end, list(question.months)))
            if question.months
            else _MISSING,
            "named_record": float(chunk.record in question.records) if question.records else _MISSING,
            "company_match": float((chunk.stock_code or chunk.company) in named) if named else _MISSING,
            "org_in_passage": (
                float(any(o.lower() in c.text.lower() for o in question.organisations))
                if question.organisations
                else _MISSING
            ),
            "org_name_sim": float(vectors.names[i]),
            "org_name_gap": _gap(vectors.names, i),
            "n_figures": float(min(len(figures(c.body)), 20)),
            "figure_kind_given": float(bool(kind_cov)) if asked else _MISSING,
            "figure_kind_cov": max(kind_cov, default=0.0) if asked else _MISSING,
            "recency": _days(chunk.date_end or chunk.date, latest) / 365.0,
            "answer_len": math.log1p(len(c.body)),
            "n_parts": float(chunk.n_parts),
            "n_companies": float(len(companies)),
            "cov_figure_clause": max(clause_cov, default=0.0),
            "absent_weightiest": max(absent, default=0.0) / heaviest if heaviest > 0 else _MISSING,
            "absent_topics": float(len(absent)) if topics else _MISSING,
        }
        rows.append([row[name] for name in FEATURES])
    return np.asarray(rows, dtype=np.float32)


def featurize_periods(question: Question, cands: Sequence[Candidate], vectors: Vectors) -> list[np.ndarray]:
    """The rows of each period a question asks for, asked alone (:attr:`Question.per_period`; none for a question
    asking for one period or none). The question's text is the same for each period asked: so are its ``vectors``."""
    return [featurize(sub, cands, vectors) for sub in question.per_period]


def _pairs(text: str) -> set[str]:
    """Character pairs of a text's words (Chinese pairs, Latin words), punctuation and digits aside."""
    t = re.sub(r"[\W\d_]+", " ", text.lower())
    out: set[str] = set()
    for run in t.split():
        if run.isascii():
            out.add(run)
        else:
            out.update(run[i : i + 2] for i in range(len(run) - 1))
    return out


def _without_names(text: str, names: Sequence[str]) -> str:
    for name in sorted(names, key=len, reverse=True):
        text = text.replace(name, " ")
    return text


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def _contained(part: set[str], whole: set[str]) -> float:
    return len(part & whole) / len(part) if part else 0.0


def _dot(v: np.ndarray, q: np.ndarray) -> float:
    return float(v @ q) if not np.isnan(v).any() else _MISSING


def _gap(values: np.ndarray, i: int) -> float:
    if np.isnan(values[i]) or np.all(np.isnan(values)):
        return _MISSING
    return float(np.nanmax(values) - values[i])


def _days(earlier: str, later: str) -> float:
    if not earlier or not later:
        return 0.0
    return float((date.fromisoformat(later) - date.fromisoformat(earlier)).days)


def _days_after(question: Question, meeting: str) -> float:
    """Days from the end of the nearest asked period to the meeting, in hundreds (negative: before it ended)."""
    if not question.periods or not meeting:
        return _MISSING
    gaps = [_days(reporting_window(p)[0], meeting) for p in question.periods]
    return min(gaps, key=abs) / 100.0
