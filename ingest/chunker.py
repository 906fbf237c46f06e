"""Records to chunks: one per Q&A pair (split on sentences when over the model's limit), plus the
record's metadata (split too: the metadata first, then a long participant list in parts of its own) and its
opening presentation. No chunk is longer than the model's limit, so the model never truncates one."""

from __future__ import annotations

import re
from collections.abc import Callable

from rag.errors import ParseError
from rag.tokens import count_tokens as llm_tokens
from rag.types import RECORD_LABELS, Chunk, Record

TokenCounter = Callable[[str], int]

_SENTENCE_END = re.compile(r"(?<=[。！？；!?;\n])")
# Participant lists: "机构 姓名、姓名；机构 姓名" — split after each list separator, never inside a name.
_LIST_ITEM_END = re.compile(r"(?<=[、，,；;\n])")
PARTICIPANTS_LABEL = RECORD_LABELS["participants"]
# The e5 tokenizer counts special tokens and the "passage: " prefix; keep a little slack for them.
_SLACK = 4


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``, each keeping its closing punctuation or newline, so that joining them gives ``text``."""
    return [s for s in _SENTENCE_END.split(text) if s]


def split_list(text: str) -> list[str]:
    """Items of a list such as a participant list, each keeping its separator, so that joining them gives ``text``."""
    return [s for s in _LIST_ITEM_END.split(text) if s]


def _header(record: Record) -> str:
    # A short context line helps both dense and lexical search match company and date words.
    name = record.short_name or record.company
    when = record.dates[0].isoformat() if record.dates else record.date_text
    return " ".join(x for x in (name, record.record, when) if x)


def _pieces(fixed: str, sentences: list[str], count: TokenCounter, limit: int) -> list[str]:
    """Greedy packing of ``sentences`` after ``fixed`` so that each piece's text fits ``limit`` tokens."""
    budget = limit - count(fixed) - _SLACK
    if budget < 16:
        raise ValueError(f"leaves no room for answer text within the model's {limit} tokens")
    parts: list[str] = []
    current: list[str] = []
    for sentence in sentences:
        candidate = "".join([*current, sentence])
        if current and count(candidate) > budget:
            parts.append("".join(current))
            current = [sentence]
        else:
            current.append(sentence)
        # A single sentence over budget is cut by characters: rare, but a pair must never be dropped.
        while count("".join(current)) > budget and len(current) == 1 and len(current[0]) > 1:
            text = current[0]
            cut = max(1, len(text) * budget // max(count(text), 1) - 1)
            parts.append(text[:cut])
            current = [text[cut:]]
    if current:
        parts.append("".join(current))
    return parts


def chunk_record(record: Record, count: TokenCounter, max_tokens: int) -> list[Chunk]:
    """All chunks of ``record``; ``count`` is the embedding model's own token counter."""
    header = _header(record)
    base = {
        "company": record.company,
        "short_name": record.short_name,
        "stock_code": record.stock_code,
        "record": record.record,
        "date": record.dates[0].isoformat() if record.dates else "",
        "date_end": record.dates[-1].isoformat() if record.dates else "",
        "activity_type": "、".join(record.activity_types),
        "source": record.source,
        "source_hash": record.source_hash,
    }
    prefix = f"{record.company_key}:{record.record}"
    chunks = _record_chunks(record, prefix, base, count, max_tokens)

    if record.intro.strip():
        fixed = f"{header} 开场介绍\n"
        for i, piece in enumerate(_pieces(fixed, split_sentences(record.intro), count, max_tokens)):
            chunks.append(
                Chunk(
                    id=f"{prefix}:intro:p{i}",
                    kind="intro",
                    text=fixed + piece,
                    answer_text=piece,
                    part=i,
                    **base,
                )
            )
        _number_parts([c for c in chunks if c.kind == "intro"])

    for pair in record.pairs:
        fixed = f"{header}\n问：{pair.question}\n答："
        whole = fixed + pair.answer
        if count(whole) + _SLACK <= max_tokens:
            answers = [pair.answer]
        else:
            try:
                answers = _pieces(fixed, split_sentences(pair.answer), count, max_tokens)
            except ValueError as e:
                raise ParseError(record.source, f"question {pair.index} is too long: it {e}") from e
        group = [
            Chunk(
                id=f"{prefix}:q{pair.index}:p{i}",
                kind="qa",
                text=fixed + answer,
                question=pair.index,
                part=i,
                question_text=pair.question,
                answer_text=answer,
                **base,
            )
            for i, answer in enumerate(answers)
        ]
        _number_parts(group)
        chunks.extend(group)

    for chunk in chunks:
        chunk.tokens = llm_tokens(chunk.text)
    return chunks


def _number_parts(group: list[Chunk]) -> None:
    for chunk in group:
        chunk.n_parts = len(group)


def _record_chunks(record: Record, prefix: str, base: dict, count: TokenCounter, limit: int) -> list[Chunk]:
    """The record's metadata as one chunk, or, when that is over ``limit`` (a conference call's list of
    hundreds of participants), the metadata first and the participant list in numbered parts. Part 0 keeps the id
    ``…:meta`` either way."""
    title = [
        f"{record.company}（{record.stock_code}）" if record.stock_code else record.company,
        f"{RECORD_LABELS['number']}：{record.number or '未印（以会议日期标识）'}",
    ]
    participants = f"{PARTICIPANTS_LABEL}：{record.participants}" if record.participants else ""
    before = [
        f"{RECORD_LABELS['activity']}：{'、'.join(record.activity_types)}" if record.activity_types else "",
        f"{RECORD_LABELS['time']}：{record.date_text}" if record.date_text else "",
        f"{RECORD_LABELS['place']}：{record.place}" if record.place else "",
    ]
    after = [
        f"{RECORD_LABELS['hosts']}：{record.receptionists}" if record.receptionists else "",
        f"{RECORD_LABELS['date']}：{record.release_date.isoformat()}" if record.release_date else "",
        f"{RECORD_LABELS['pairs']}：{len(record.pairs)}个问题",
    ]
    text = "\n".join(line for line in [*title, *before, participants, *after] if line)
    if count(text) + _SLACK <= limit:
        return [
            Chunk(
                id=f"{prefix}:meta",
                kind="record",
                text=text,
                n_pairs=len(record.pairs),
                fingerprint=record.fingerprint,
                **base,
            )
        ]

    meta = "\n".join(line for line in [*title, *before, *after] if line)
    fixed = "\n".join(title) + "\n"
    try:
        if count(meta) + _SLACK <= limit:
            texts = [meta]
        else:  # some other field is long too: the metadata lines, packed like sentences
            texts = [fixed + piece for piece in _pieces(fixed, split_sentences(meta[len(fixed) :]), count, limit)]
        if participants:
            # The parts carry the record's citation and metadata in the store but not its title in their text: a
            # title repeated in ten parts makes each look like the company's other passages to dense search (gold
            # recall@5, dense: 0.889 with it, 0.901 without). Sized for the widest numbering, so that the real one
            # ("（1/3）") never pushes a part over the limit.
            widest = f"{PARTICIPANTS_LABEL}（99/99）："
            lists = _pieces(widest, split_list(record.participants), count, limit)
            texts += [f"{PARTICIPANTS_LABEL}（{j}/{len(lists)}）：{p}" for j, p in enumerate(lists, 1)]
    except ValueError as e:
        raise ParseError(record.source, f"the record's details are too long: their title {e}") from e
    chunks = [
        Chunk(
            id=f"{prefix}:meta" if i == 0 else f"{prefix}:meta:p{i}",
            kind="record",
            text=t,
            part=i,
            n_pairs=len(record.pairs),
            fingerprint=record.fingerprint,
            **base,
        )
        for i, t in enumerate(texts)
    ]
    _number_parts(chunks)
    return chunks
