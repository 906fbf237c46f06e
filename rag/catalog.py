"""What is indexed, record by record: the list of records, one whole record, one whole Q&A pair.

The UI's records tab and its "show the cited passage" panel read the store through this, so they never
touch Chroma or file paths themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rag.index import Index
from rag.types import Chunk


@dataclass
class Passage:
    """A whole Q&A pair (every part of a split pair joined), an opening presentation, or a record's metadata."""

    citation: str
    company: str
    stock_code: str
    record: str
    question: int | None
    kind: str
    date: str
    date_end: str
    activity_type: str
    question_text: str
    text: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return dict(self.__dict__)


@dataclass
class RecordView:
    """One record whole: its metadata chunk, then its opening presentation and pairs in order."""

    meta: Chunk
    passages: list[Passage] = field(default_factory=list)


def _join(parts: list[Chunk], with_company: bool) -> Passage:
    parts = sorted(parts, key=lambda c: c.part)
    first = parts[0]
    body = "\n".join(c.answer_text if c.kind != "record" else c.text for c in parts)
    return Passage(
        citation=first.citation.key(with_company),
        company=first.short_name or first.company,
        stock_code=first.stock_code,
        record=first.record,
        question=first.question if first.kind == "qa" else None,
        kind=first.kind,
        date=first.date,
        date_end=first.date_end,
        activity_type=first.activity_type,
        question_text=first.question_text,
        text=body,
    )


class Catalog:
    """Read-only views of the indexed records for browsing and for opening a cited passage.

    ``with_company`` says whether citations name the company; pass ``lambda: assistant.with_company``.
    """

    def __init__(self, index: Index, with_company: Callable[[], bool]):
        self.index = index
        self.with_company = with_company

    def records(self) -> list[Chunk]:
        """One metadata chunk per record, newest meeting first."""
        return self.index.records()

    def record(self, record_key: str) -> RecordView | None:
        """The whole record ``<stock code or name>/<record number>``, or None when it is not indexed."""
        chunks = self.index.store.get(where={"record_key": record_key})
        # part 0: a record whose details are over the model's limit has more record-level parts (its participant list)
        meta = min((c for c in chunks if c.kind == "record"), key=lambda c: c.part, default=None)
        if meta is None:
            return None
        with_company = self.with_company()
        groups: dict[tuple[int, int], list[Chunk]] = {}
        for c in chunks:
            if c.kind == "record":
                continue
            order = (0, 0) if c.kind == "intro" else (1, c.question or 0)
            groups.setdefault(order, []).append(c)
        return RecordView(meta, [_join(groups[k], with_company) for k in sorted(groups)])

    def passage(self, record_key: str, question: int | None, kind: str = "qa") -> Passage | None:
        """The whole pair ``question`` of a record (all its parts), its intro, or its metadata; None if absent."""
        where: dict[str, Any] = {"record_key": record_key, "kind": kind}
        if kind == "qa":
            if question is None:
                return None
            where["question"] = int(question)
        chunks = self.index.store.get(where=where)
        return _join(chunks, self.with_company()) if chunks else None
