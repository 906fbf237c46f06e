"""The JSON shapes of hits and answers, shared by the CLI (``--json``), the Gradio API and the evals."""

from __future__ import annotations

from typing import Any

from rag.types import Answer, Chunk, Citation, Hit


def hit_to_dict(hit: Hit, with_company: bool = False) -> dict[str, Any]:
    """One search hit as ``irchat search --json`` prints it."""
    c = hit.chunk
    return {
        "citation": c.citation.key(with_company),
        "company": c.short_name or c.company,
        "stock_code": c.stock_code,
        "record": c.record,
        "question": c.question if c.kind == "qa" else None,
        "kind": c.kind,
        "part": c.part,
        "score": round(hit.score, 6),
        "similarity": None if hit.similarity is None else round(hit.similarity, 4),
        "date": c.date,
        "date_end": c.date_end,
        "activity_type": c.activity_type,
        "question_text": c.question_text,
        "text": c.answer_text if c.kind != "record" else c.text,
        "source": c.source,
    }


def citation_to_dict(citation: Citation, with_company: bool = False) -> dict[str, Any]:
    """One citation of an answer."""
    return {
        "citation": citation.key(with_company),
        "company": citation.company,
        "record": citation.record,
        "question": citation.question,
        "kind": citation.kind,
        "stock_code": citation.stock_code,
        "passage": citation.passage,
    }


def answer_to_dict(answer: Answer, with_company: bool = False) -> dict[str, Any]:
    """An answer as ``irchat ask --json`` prints it."""
    return {
        "question": answer.question,
        "lang": answer.lang,
        "mode": answer.mode,
        "answer": answer.text,
        "citations": [citation_to_dict(c, with_company) for c in answer.citations],
        "passages": [hit_to_dict(h, with_company) for h in answer.passages],
        "notice": answer.notice,
        "reason": answer.reason,
        "confidence": None if answer.confidence is None else round(answer.confidence, 4),
        "closest": None if answer.closest is None else citation_to_dict(answer.closest, with_company),
    }


def record_to_dict(record: Chunk) -> dict[str, Any]:
    """One indexed record (its metadata chunk) as ``irchat records --json`` prints it."""
    return {
        "company": record.short_name or record.company,
        "company_full": record.company,
        "stock_code": record.stock_code,
        "record": record.record,
        "date": record.date,
        "date_end": record.date_end,
        "activity_type": record.activity_type,
        "pairs": record.n_pairs,
        "source": record.source,
    }
