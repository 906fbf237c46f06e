"""HTML for the Gradio app: answers with citation chips, the cited-passage panel, records, rehearsal results.

Everything taken from records or questions is escaped here: record text is data (it may even contain
markup or instructions aimed at a model) and must never become live HTML in the browser.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from html import escape
from typing import Any
from urllib.parse import quote

from rag.catalog import Passage, RecordView

_KEY = re.compile(r"\[([^\[\]\n]{1,80})\]")
_SENTENCE = re.compile(r"[^。！？；!?\n]+[。！？；!?]?")
_NOISE = re.compile(r"[\s…\.。，,：:；;“”\"'‘’（）()、]+")


def chip(key: str) -> str:
    """A clickable citation chip; the page's script opens its passage (see ``CLICK_JS``)."""
    # The chat's sanitiser drops data-* attributes, so the key travels in the link's fragment.
    href = "#cite:" + quote(key, safe="")
    return f'<a href="{href}" class="cite-chip" title="show the cited passage">{escape(key)}</a>'


def tag(key: str) -> str:
    """A citation label that is not a link (tabs that already show the passage's text)."""
    return f'<span class="cite-tag">{escape(key)}</span>'


def answer_html(text: str, known: Iterable[str]) -> str:
    """The answer text, escaped, with every valid citation key turned into a chip."""
    valid = set(known)
    out: list[str] = []
    pos = 0
    for m in _KEY.finditer(text):
        key = f"[{m.group(1)}]"
        if key not in valid:
            continue
        out.append(escape(text[pos : m.start()]))
        out.append(chip(key))
        pos = m.end()
    out.append(escape(text[pos:]))
    return "".join(out).replace("\n", "<br>")


def cited_segments(text: str, known: Iterable[str]) -> dict[str, list[str]]:
    """For each citation key in an answer, the answer text it follows (the claims it backs)."""
    valid = set(known)
    segments: dict[str, list[str]] = {}
    pos = 0
    for m in _KEY.finditer(text):
        key = f"[{m.group(1)}]"
        if key not in valid:
            continue
        piece = text[pos : m.start()].strip()
        if piece:
            segments.setdefault(key, []).append(piece)
        pos = m.end()
    return segments


def _norm(s: str) -> str:
    return _NOISE.sub("", s).lower()


def _bigrams(s: str) -> set[str]:
    return {s[i : i + 2] for i in range(len(s) - 1)}


def _is_cited(sentence: str, claims: Sequence[str]) -> bool:
    s = _norm(sentence)
    if len(s) < 4:
        return False
    grams = _bigrams(s)
    for claim in claims:
        for part in _SENTENCE.findall(claim):
            c = _norm(part)
            if len(c) < 4:
                continue
            # A quoted sentence (maybe clipped with "…") is inside the passage sentence, or the other way
            # round; a paraphrase (LLM mode) shares most of its character bigrams with the sentence it cites.
            if s in c or c[:40] in s:
                return True
            shared = len(grams & (claim_grams := _bigrams(c)))
            if shared / len(grams) >= 0.6 or (len(claim_grams) >= 6 and shared / len(claim_grams) >= 0.6):
                return True
    return False


def highlight(text: str, claims: Sequence[str]) -> str:
    """The passage text, escaped, with the sentences the answer quoted or paraphrased in ``<mark>``."""
    out: list[str] = []
    pos = 0
    for m in _SENTENCE.finditer(text):
        out.append(escape(text[pos : m.start()]))
        sentence = m.group(0)
        if claims and _is_cited(sentence, claims):
            out.append(f'<mark class="cited">{escape(sentence)}</mark>')
        else:
            out.append(escape(sentence))
        pos = m.end()
    out.append(escape(text[pos:]))
    return "".join(out).replace("\n", "<br>")


def _dates(date: str, date_end: str) -> str:
    if not date:
        return "date unknown"
    return date if not date_end or date_end == date else f"{date} – {date_end}"


def passage_html(p: Passage, claims: Sequence[str] = ()) -> str:
    """The side panel: where the passage comes from, the question, and the whole answer."""
    label = {"qa": f"Q{p.question}", "intro": "opening presentation 开场介绍", "record": "record details 基本信息"}
    code = f" ({escape(p.stock_code)})" if p.stock_code else ""
    question = f'<div class="pq"><b>问 Q{p.question}</b> {escape(p.question_text)}</div>' if p.question_text else ""
    return (
        f'<div class="passage" data-citation="{escape(p.citation, quote=True)}">'
        f'<div class="pcite">{escape(p.citation)}</div>'
        f'<div class="pmeta"><span>{escape(p.company)}{code}</span><span>record {escape(p.record)}</span>'
        f"<span>{escape(_dates(p.date, p.date_end))}</span><span>{escape(p.activity_type)}</span>"
        f"<span>{escape(label.get(p.kind, p.kind))}</span></div>"
        f'{question}<div class="pa">{highlight(p.text, claims)}</div></div>'
    )


PASSAGE_PLACEHOLDER = (
    '<div class="passage empty">Click a citation chip in an answer to see the cited passage here.<br>'
    "点击回答中的引用标签，在此查看原文。</div>"
)


def record_html(view: RecordView) -> str:
    """A whole record: metadata, then its opening presentation and every Q&A pair."""
    m = view.meta
    rows = [
        ("公司 Company", f"{m.company} ({m.stock_code})" if m.stock_code else m.company),
        ("编号 Record", m.record),
        ("日期 Dates", _dates(m.date, m.date_end)),
        ("类别 Type", m.activity_type),
        ("问答 Pairs", str(m.n_pairs)),
    ]
    meta = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    body = []
    for p in view.passages:
        title = "开场介绍 Opening presentation" if p.kind == "intro" else f"Q{p.question} {p.question_text}"
        body.append(
            f'<section class="pair"><h4>{tag(p.citation)} {escape(title)}</h4>'
            f"<p>{escape(p.text).replace(chr(10), '<br>')}</p></section>"
        )
    return f'<div class="record"><table class="rmeta">{meta}</table>{"".join(body)}</div>'


def ingest_html(report: dict[str, Any]) -> str:
    """What an upload did, errors first, in the CLI's words."""
    parts = []
    for e in report.get("errors", []):
        parts.append(f'<li class="err"><b>error</b> {escape(e["file"])}: {escape(e["error"])}</li>')
    for w in report.get("warnings", []):
        parts.append(f'<li class="warn"><b>warning</b> {escape(w["file"])}: {escape(w["error"])}</li>')
    summary = (
        f"{report.get('files', 0)} files, {report.get('records', 0)} records, {report.get('pairs', 0)} Q&amp;A pairs; "
        f"chunks: {report.get('chunks_added', 0)} added, {report.get('chunks_updated', 0)} updated, "
        f"{report.get('chunks_unchanged', 0)} unchanged, {report.get('chunks_removed', 0)} removed; "
        f"{len(report.get('errors', []))} errors"
    )
    return f'<div class="ingest"><ul>{"".join(parts)}</ul><p>{summary}</p></div>'


def error_html(message: str) -> str:
    """A user-facing error box."""
    return f'<div class="ingest"><ul><li class="err"><b>error</b> {escape(message)}</li></ul></div>'
