"""The small typed values that flow between stages: records, pairs, chunks, citations, hits, answers."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Literal

from rag.sentences import split_sentences

ChunkKind = Literal["qa", "intro", "record"]


# The labels of a meeting record chunk's lines, "label：value" (ingest/chunker.py writes them); a value may run over
# several lines, and a line of it may hold a colon of its own ("董事会秘书：王五"), so a field is known by its label.
RECORD_LABELS: dict[str, str] = {
    "number": "投资者关系活动记录表 编号",
    "activity": "活动类别",
    "time": "时间",
    "place": "地点",
    "participants": "参与单位名称及人员姓名",
    "hosts": "上市公司接待人员姓名",
    "date": "日期",
    "pairs": "问答",
}


@dataclass(frozen=True)
class QAPair:
    """One numbered question and its answer (sub-points kept as lines of the answer)."""

    index: int
    question: str
    answer: str


@dataclass
class Record:
    """One 投资者关系活动记录表 as parsed from a file."""

    company: str
    record: str
    """The record's identity within its company: the 编号 as printed, else the meeting date (``2024-08-28``); a
    number the company printed on two meetings is told apart by the date (``2021-012 (2021-11-02)``)."""
    pairs: list[QAPair]
    short_name: str = ""
    stock_code: str = ""
    activity_types: list[str] = field(default_factory=list)
    participants: str = ""
    dates: list[date] = field(default_factory=list)
    date_text: str = ""
    place: str = ""
    receptionists: str = ""
    release_date: date | None = None
    intro: str = ""
    source: str = ""
    source_hash: str = ""
    warnings: list[str] = field(default_factory=list)
    number: str = ""
    """The 编号 as printed ("" when none was printed)."""

    @property
    def fingerprint(self) -> str:
        """Hash of the meeting's dates and of what was said, with spacing and character widths normalised: the same
        record read from a .txt and from a .pdf has the same fingerprint."""
        parts = [",".join(d.isoformat() for d in self.dates), self.intro]
        parts += [f"{p.question}\x1f{p.answer}" for p in self.pairs]
        text = unicodedata.normalize("NFKC", "\x1e".join(parts))
        return hashlib.sha256(re.sub(r"\s+", "", text).encode("utf-8")).hexdigest()[:32]

    @property
    def company_key(self) -> str:
        """Stable identity of the company: its stock code, else its name."""
        return self.stock_code or self.short_name or self.company

    @property
    def key(self) -> str:
        """Stable identity of the record: company and record number."""
        return f"{self.company_key}/{self.record}"


@dataclass(frozen=True)
class Citation:
    """Where a claim comes from: a record, and the question (or the opening presentation) within it."""

    record: str
    question: int | None = None
    company: str = ""
    kind: ChunkKind = "qa"
    stock_code: str = ""

    @property
    def passage(self) -> str:
        """The passage it names, as the gold sets write it: ``002415 2024-8-17 Q3`` (stock code, record, part)."""
        head = f"{self.stock_code or self.company} {self.record}"
        if self.kind == "qa" and self.question is not None:
            return f"{head} Q{self.question}"
        return f"{head} intro" if self.kind == "intro" else head

    def key(self, with_company: bool = False) -> str:
        """Bracketed form: ``[2024-013 Q5]``, ``[海康威视 2024-12-6 Q3]``, ``[2024-8-17 intro]``, ``[2024-013]``."""
        parts = [self.company] if with_company and self.company else []
        parts.append(self.record)
        if self.kind == "qa" and self.question is not None:
            parts.append(f"Q{self.question}")
        elif self.kind == "intro":
            parts.append("intro")
        return "[" + " ".join(parts) + "]"


@dataclass
class Chunk:
    """One indexed passage: a Q&A pair (or a part of a long one), a record's metadata, or its opening text."""

    id: str
    kind: ChunkKind
    text: str
    company: str
    record: str
    short_name: str = ""
    stock_code: str = ""
    question: int | None = None
    part: int = 0
    n_parts: int = 1
    question_text: str = ""
    answer_text: str = ""
    date: str = ""
    date_end: str = ""
    activity_type: str = ""
    source: str = ""
    source_hash: str = ""
    tokens: int = 0
    n_pairs: int = 0
    fingerprint: str = ""
    """On a record's metadata chunk: :attr:`Record.fingerprint`, to tell the same record in another file."""

    @property
    def answer_alone(self) -> str:
        """What the company answered in this chunk, without the investor's question ("" unless a Q&A chunk): the
        answer model compares a question with it by itself, as well as with the whole chunk."""
        return (self.answer_text or self.text) if self.kind == "qa" else ""

    @property
    def said(self) -> list[str]:
        """The sentences of what was said here (a pair's answer alone, a presentation, a record's metadata lines):
        the answer model compares a question with each by itself, since one sentence of a long answer may be the
        reply while the whole answer's vector is the average of several topics."""
        text = self.text if self.kind == "record" else (self.answer_text or self.text)
        return [text[start:end] for start, end in split_sentences(text)]

    @property
    def record_key(self) -> str:
        """Same as :attr:`Record.key` for the record this chunk came from."""
        return f"{self.stock_code or self.short_name or self.company}/{self.record}"

    @property
    def citation(self) -> Citation:
        """The citation of this chunk; every part of a split pair keeps the pair's citation."""
        return Citation(
            record=self.record,
            question=self.question if self.kind == "qa" else None,
            company=self.short_name or self.company,
            kind=self.kind,
            stock_code=self.stock_code,
        )

    @property
    def content_hash(self) -> str:
        """Hash of what is stored for this chunk, its source path aside, so a moved file is unchanged."""
        meta = self.to_metadata()
        meta.pop("source", None)
        meta.pop("content_hash", None)
        # A record's file hash lives on its record chunk only, so editing one answer rewrites that
        # answer's chunk and the record chunk, not every chunk of the record.
        if self.kind != "record":
            meta.pop("source_hash", None)
        blob = json.dumps([self.text, meta], ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def to_metadata(self) -> dict[str, Any]:
        """Flat metadata for the vector store (Chroma takes no None values)."""
        meta = asdict(self)
        meta.pop("id")
        meta.pop("text")
        meta["question"] = -1 if self.question is None else self.question
        meta["record_key"] = self.record_key
        meta["content_hash"] = ""
        return meta

    def store_metadata(self) -> dict[str, Any]:
        """Metadata as written to the store, with the content hash filled in."""
        meta = self.to_metadata()
        meta["content_hash"] = self.content_hash
        return meta

    @classmethod
    def from_metadata(cls, id: str, text: str, meta: dict[str, Any]) -> Chunk:
        """Inverse of :meth:`to_metadata`."""
        known = {k: v for k, v in meta.items() if k in cls.__dataclass_fields__ and k not in ("id", "text")}
        q = known.get("question", -1)
        known["question"] = None if q is None or int(q) < 0 else int(q)
        return cls(id=id, text=text, **known)


@dataclass
class Hit:
    """A retrieved chunk with its fused score and the rank it had in each retriever."""

    chunk: Chunk
    score: float
    ranks: dict[str, int] = field(default_factory=dict)
    similarity: float | None = None
    """Cosine similarity of query and chunk when the dense retriever saw it (used to decide abstention)."""


@dataclass
class Answer:
    """A reply to a question: text with inline citations, and the passages it was drawn from."""

    question: str
    text: str
    lang: str
    mode: str
    citations: list[Citation] = field(default_factory=list)
    passages: list[Hit] = field(default_factory=list)
    notice: str = ""
    reason: str = "answered"
    """Why it answered or refused: ``answered``, ``no_passage``, ``low_confidence``, ``period_not_reported``,
    ``period_not_found``, ``figure_not_given``, ``ambiguous_company``, ``company_not_indexed`` (see
    rag/answering/verdicts.py)."""
    confidence: float | None = None
    """The answer model's calibrated probability that the first cited passage answers the question; on a refusal,
    that the closest passage does (below the threshold), or None when none is on the topic."""
    closest: Citation | None = None
    """On a refusal, the passage the records come closest with (the answer model's likeliest, on the question's
    topic but not likely enough to cite): somewhere to read, not a claim; never in :attr:`citations`."""
