"""Post-hoc attribution of an LLM's reply: each claim tied to the passage that states it, or dropped.

Small local models often answer well and cite nothing, or cite keys they were never given. Answer engines
then attribute the reply after the fact; so does :func:`attribute`.

A *claim* is a stretch of the reply that ends at a citation, at the end of a sentence or at a line break:
``毛利率为50.00% [2024-013 Q1]，同比提升1.5个百分点。`` holds two. Each claim is

- **cited** when the model cited it with keys of the passages given and each of its figures is stated by one
  of those passages (the citations are not otherwise second-guessed: models that do cite keep theirs);
- **attributed** to the passage that supports it, when it is uncited or its figures are not in the passages
  it cites: every figure in the claim appears in that passage with the same value and unit
  (:mod:`rag.figures`: ``50.00%`` backs ``50%`` and ``约50%``, ``4,369.53万元`` backs ``RMB 43.7 million``,
  ``超过10000个`` backs ``10000个``; a percentage never backs percentage points), so does every other
  number it gives (years and list markers aside), and the claim is close to a sentence of the passage or to
  two or three consecutive ones.
  Close means, for a Chinese claim, that the sentences (with the company's names, and the investor's
  question at half weight) hold :data:`TERM_SHARE` of its terms (:data:`FIGURE_TERM_SHARE` when they
  state its figures); for an English claim, that they hold the Chinese renderings of :data:`CONCEPT_SHARE`
  of its glossary terms (two at least) and the multilingual embedder's cosine is at least
  :data:`COSINE_FLOOR` (a claim with one glossary term or none has to reach :data:`COSINE`). The passage's
  key is inserted before the claim's end mark;
- **dropped** otherwise, with the reason; so is a question (the model repeating the investor's, or asking
  back).

A sentence that only names a source ("This is cited in [2024-013 Q1].", "来源：[…]") gives its citation to
the sentence before. The claim answering the question is the one sharing most of the question's terms; the
caller falls back to another answerer when it is dropped (:mod:`rag.llm`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import Literal

import numpy as np

from rag.figures import Figure, extract_figures
from rag.glossary import Glossary, default_glossary
from rag.lang import detect_language
from rag.protocols import Embedder
from rag.sentences import has_content, split_sentences
from rag.tokenize import tokenize
from rag.types import Citation, Hit

__all__ = [
    "CONCEPT_SHARE",
    "COSINE",
    "COSINE_FLOOR",
    "FIGURE_CONCEPT_SHARE",
    "FIGURE_COSINE",
    "FIGURE_TERM_SHARE",
    "TERM_SHARE",
    "Attribution",
    "Claim",
    "ClaimStatus",
    "attribute",
]

ClaimStatus = Literal["cited", "attributed", "dropped"]

# Share of a Chinese claim's terms (jieba words and character pairs, figures aside) that one to three
# consecutive sentences of a passage must hold; the company's names count as the passage's, the investor's
# question for half (restating the question says nothing new). Set by hand on few examples (the tests' and the
# Chinese replies in benchmarks/llm-replies-*.jsonl): paraphrases of a passage held 0.6-1.0 of their terms,
# claims adding a cause or a judgement the passage lacks 0.3-0.5.
TERM_SHARE = 0.6
# ... or this share, when the passage also states every figure of the claim (at least one): a short claim
# ("毛利率约为50%") has few terms, and its figure is already strong evidence.
FIGURE_TERM_SHARE = 0.45
QUESTION_WEIGHT = 0.5
# An English claim over Chinese passages is compared by its glossary terms (rag/data/glossary.json: "gross
# margin" stands for 毛利率, "overseas" for 海外 or 境外): this share of them must appear in the passage's
# sentences (or :data:`FIGURE_CONCEPT_SHARE` when the passage states the claim's figures), counted as for
# Chinese terms. The multilingual embedder's cosine alone does not separate claims here: with
# multilingual-e5-small an English claim no passage supports ("plans a new factory in Brazil") scores
# 0.82-0.83 against the passages, as high as faithful summaries of them (0.82-0.86).
CONCEPT_SHARE = 0.5
FIGURE_CONCEPT_SHARE = 0.34
# ... and the passage itself must say this many of them: with two or three glossary terms to a claim, a share
# of one half is one term ("investors" is in every record's title). A claim of one term must also be as close
# as a claim without any (:data:`COSINE`).
MIN_CONCEPTS = 2
# The cosine (the claim as a query, passage sentences as passages) still rules out a passage on another
# topic that happens to hold the terms: on 25 English gold questions, their passages' sentences scored
# 0.78-0.84, others 0.75-0.82.
COSINE_FLOOR = 0.78
# A claim without any glossary term (names, rare words) has only the cosine: it must be this close (or
# :data:`FIGURE_COSINE` when the passage states its figures).
COSINE = 0.84
FIGURE_COSINE = 0.8
# Consecutive passage sentences compared at once: a summary often folds two or three into one.
WINDOW = 3

_KEY = re.compile(r"\[([^\[\]\n]{1,160})\]")
_END = re.compile(r"[。！？!?；;]+[”’」』）)\"']*|\n+|(?<!\b[A-Z])\.(?=\s|$)[”’\")]*")
_CLAUSE_MARKS = "，,、；;：: \t"
_SENTENCE_MARKS = "。！？!?；;.\n"
_NUMBER = re.compile(r"(?<![0-9.A-Za-z])[0-9][0-9,]*(?:\.[0-9]+)?")
# Years, list markers ("1、", "（2）") and ordinals of periods are not claims about a figure.
_NOT_A_CLAIM = re.compile(
    r"(?<![0-9])(?:19|20)[0-9]{2}(?![0-9]|[.,][0-9])|^\s*[0-9]{1,2}(?=[、.．)）])|(?<=[（(])[0-9]{1,2}(?=[)）])"
)
_DIGIT = re.compile(r"[0-9]")
_ANGLE_MARKS = re.compile(r"[‹›<>＜＞]")
# A sentence that only names the source of the one before ("This is cited in [2024-013 Q1].", "来源：[…]"): its
# citations are moved to that sentence's end.
_SOURCE_SENTENCE = re.compile(
    r"(?P<end>[.。!?！？])[ \t]*[(（]?(?:"
    r"(?:this|that|it|which|these)(?: information| answer| figure| data)? (?:is|was|are|were|can be) "
    r"(?:cited|stated|mentioned|found|given|taken|reported|sourced)(?: in| from| by)?"
    r"|(?:the )?sources?:?|references?:?|cited (?:in|from)|see|according to"
    r"|来源[:：]?|出处[:：]?|参见|详见|引用[:：]?|资料来源[:：]?|以上(?:信息|内容|数据)?(?:来自|出自|引自)"
    r")\s*(?P<keys>(?:\[[^\[\]\n]{1,160}\](?:\s*(?:[,，、]|and|和)?\s*))+)[)）]?\s*[.。]?",
    re.I,
)
# What may stand between a claim and a citation that still belongs to it ("…增长50%。[2024-013 Q1]").
_ONLY_ENDS = re.compile(r"[\s。！？!?.；;]*")
# "1. " opening a line of a list is not a sentence.
_LIST_MARKER = re.compile(r"\s*[0-9]{1,2}")


@dataclass(frozen=True)
class Claim:
    """One claim of the reply, with what backs it."""

    text: str
    """The claim as written, its citations removed."""
    span: tuple[int, int]
    """Where it is in the reply, its own citations included."""
    status: ClaimStatus
    citations: tuple[Citation, ...] = ()
    """The passages backing it (cited or attributed); empty when dropped."""
    score: float = 0.0
    """Closeness to the attributed passage (term share or cosine); 0 for a cited claim."""
    reason: str = ""
    """Why it was dropped, or why its own citation was replaced."""


@dataclass
class Attribution:
    """The reply's claims, each cited, attributed or dropped, and which of them answers the question."""

    reply: str
    """The reply attributed: as given, with sentences that only named a source folded into the one before."""
    claims: list[Claim]
    answer: int | None
    """Index in :attr:`claims` of the claim answering the question; None when the reply has no claim."""
    lang: str = "zh"
    _layout: list[_Piece] = field(default_factory=list, repr=False)

    @property
    def answered(self) -> bool:
        """Whether the claim answering the question was kept (cited or attributed)."""
        return self.answer is not None and self.claims[self.answer].status != "dropped"

    @property
    def dropped(self) -> list[Claim]:
        """Claims no passage supports."""
        return [c for c in self.claims if c.status == "dropped"]

    @property
    def attributed(self) -> list[Claim]:
        """Claims given a citation here (uncited, or cited to a passage that does not state their figures)."""
        return [c for c in self.claims if c.status == "attributed"]

    @property
    def citations(self) -> list[Citation]:
        """The citations of the kept claims, in order of first use, each once."""
        out: list[Citation] = []
        for claim in self.claims:
            for cit in claim.citations:
                if cit not in out:
                    out.append(cit)
        return out

    def render(self, key: Callable[[Citation], str]) -> str:
        """The reply with every kept claim cited (``key`` writes a citation) and dropped claims removed."""
        parts: list[str] = []
        for i, (piece, claim) in enumerate(zip(self._layout, self.claims, strict=True)):
            start = self._layout[i - 1].end if i else 0
            parts.append(self.reply[start : piece.start])
            if claim.status == "cited":
                parts.append(self.reply[piece.start : piece.end])
            elif claim.status == "attributed":
                keys = "".join(key(c) for c in claim.citations)
                sep = " " if self.lang == "en" else ""
                body = _without(self.reply, piece.start, piece.body_end, piece.cite_spans)
                tail = _without(self.reply, piece.body_end, piece.end, piece.cite_spans)
                parts.append(body.rstrip() + sep + keys + tail)
            else:
                parts.append("\x00")
        parts.append(self.reply[self._layout[-1].end :] if self._layout else self.reply)
        return _tidy(_drop_marked(parts, [p.sentence for p in self._layout]))


@dataclass
class _Piece:
    start: int
    body_end: int
    """End of the claim's words, before its citations and its end mark."""
    end: int
    sentence: int
    cite_spans: list[tuple[int, int]] = field(default_factory=list)
    cites: list[Citation] = field(default_factory=list)


@dataclass
class _Passage:
    """What one passage offers to check a claim against, read once per reply."""

    hit: Hit
    rank: int

    @cached_property
    def body(self) -> str:
        c = self.hit.chunk
        return c.text if c.kind == "record" else (c.answer_text or c.text)

    @cached_property
    def figures(self) -> list[Figure]:
        return extract_figures(self.body)

    @cached_property
    def numbers(self) -> set[Decimal]:
        c = self.hit.chunk
        meta = " ".join([c.date, c.date_end, c.record, str(c.question or ""), c.question_text])
        return _numbers(self.body + " " + meta.replace("-", " "), ())

    @cached_property
    def sentences(self) -> list[str]:
        return [self.body[s:e] for s, e in split_sentences(self.body)] or [self.body]

    @cached_property
    def windows(self) -> list[tuple[int, int]]:
        """Runs of one to :data:`WINDOW` consecutive sentences, as ``(first, last + 1)``."""
        n = len(self.sentences)
        return [(i, i + w) for w in range(1, WINDOW + 1) for i in range(n - w + 1)]

    @cached_property
    def window_texts(self) -> list[str]:
        return ["".join(self.sentences[a:b]) for a, b in self.windows]

    @cached_property
    def window_terms(self) -> list[set[str]]:
        single = [_terms(s) for s in self.sentences]
        return [set().union(*single[a:b]) for a, b in self.windows]

    @cached_property
    def name_terms(self) -> set[str]:
        c = self.hit.chunk
        return _terms(f"{c.company} {c.short_name}")

    @cached_property
    def question_terms(self) -> set[str]:
        return _terms(self.hit.chunk.question_text)

    def backs(self, figures: Sequence[Figure], numbers: set[Decimal]) -> str:
        """The first figure or number of a claim this passage does not state, or "" when it states them all."""
        for f in figures:
            if not any(g.implies(f) or _same_value(g, f) for g in self.figures):
                return f.text.strip() or f.display()
        missing = numbers - self.numbers
        return _plain(min(missing)) if missing else ""


def attribute(
    reply: str,
    hits: Sequence[Hit],
    lang: str,
    embedder: Embedder | None = None,
    *,
    question: str = "",
    glossary: Glossary | None = None,
) -> Attribution:
    """Each claim of ``reply`` cited, attributed to one of ``hits`` or dropped (see the module's docstring).

    ``reply`` holds citations as the passages' keys (``[2024-013 Q1]``, with or without the company), as
    :mod:`rag.llm`'s validator leaves them; any other bracket is text. English claims are compared with
    the Chinese passages through ``glossary`` (default: irchat's own) and ``embedder``'s cosine (without
    one, through the glossary alone).
    """
    passages = [_Passage(h, i) for i, h in enumerate(hits)]
    table = _key_table(hits)
    reply = _hoist_sources(reply, table)
    layout = _segment(reply, table)
    scorer = _Scorer(embedder, glossary or default_glossary())
    claims: list[Claim] = []
    for piece in layout:
        text = _without(reply, piece.start, piece.end, piece.cite_spans).strip()
        figures = extract_figures(text)
        numbers = _numbers(text, figures)
        if _asks(reply, piece):  # a question the model repeats or asks back says nothing to cite
            claims.append(Claim(text, (piece.start, piece.end), "dropped", reason="it asks rather than states"))
            continue
        cited = [p for p in passages if p.hit.chunk.citation in piece.cites]
        if cited:
            missing = [p.backs(figures, numbers) for p in cited]
            if any(not m for m in missing):
                claims.append(Claim(text, (piece.start, piece.end), "cited", tuple(piece.cites)))
                continue
            why = f"the cited passage does not state {missing[0]}"
        else:
            why = ""
        claims.append(_attribute_one(text, (piece.start, piece.end), figures, numbers, passages, scorer, why))
    answer = _answer_claim(question, claims, scorer)
    return Attribution(reply, claims, answer, lang, layout)


def _attribute_one(
    text: str,
    span: tuple[int, int],
    figures: list[Figure],
    numbers: set[Decimal],
    passages: list[_Passage],
    scorer: _Scorer,
    why: str,
) -> Claim:
    """The claim attributed to the closest passage stating its figures, or dropped with the reason."""
    candidates = []
    missing = ""
    for p in passages:
        lacks = p.backs(figures, numbers)
        if lacks:
            missing = missing or lacks
        else:
            candidates.append(p)
    if not candidates:
        return Claim(text, span, "dropped", reason=_join(why, f"no passage states {missing}"))
    if detect_language(text) == "en":
        concepts = scorer.concepts(text)
        cosines = scorer.cosines(text, candidates) if scorer.embedder is not None else [1.0] * len(candidates)
        if concepts:
            shares = [scorer.concept_share(concepts, p) for p in candidates]
            scores = [share for share, _ in shares]
            need = FIGURE_CONCEPT_SHARE if figures else CONCEPT_SHARE
            # Two terms at least (one in a claim of one): "investors" alone is in every record's title.
            least = min(MIN_CONCEPTS, len(concepts))
            alone = FIGURE_COSINE if figures else COSINE
            ok = [
                share >= need and said >= least and c >= (COSINE_FLOOR if len(concepts) > 1 else alone)
                for (share, said), c in zip(shares, cosines, strict=True)
            ]
            measure = "{:.0%} of its terms"
        elif scorer.embedder is not None:
            scores = cosines
            ok = [c >= (FIGURE_COSINE if figures else COSINE) for c in cosines]
            measure = "cosine {:.2f}"
        else:
            return Claim(text, span, "dropped", reason=_join(why, "no term of it to compare with the passages"))
    else:
        scores = [scorer.term_share(text, p) for p in candidates]
        cosines = [0.0] * len(candidates)
        ok = [s >= (FIGURE_TERM_SHARE if figures else TERM_SHARE) for s in scores]
        measure = "{:.0%} of its terms"
    # A passage that passes first; then the closest (share, then cosine); then the best-ranked.
    best = max(range(len(candidates)), key=lambda i: (ok[i], scores[i], cosines[i], -candidates[i].rank))
    score, passage = scores[best], candidates[best]
    if not ok[best]:
        key = passage.hit.chunk.citation.key()
        reason = f"no passage says it (closest: {key}, {measure.format(score)})"
        return Claim(text, span, "dropped", score=score, reason=_join(why, reason))
    return Claim(text, span, "attributed", (passage.hit.chunk.citation,), score, why)


def _asks(reply: str, piece: _Piece) -> bool:
    """Whether the claim ends with a question mark (before or after its citations)."""
    return any(reply[a:b].lstrip()[:1] in ("?", "？") for a, b in ((piece.body_end, piece.end), (piece.end, None)))


def _join(*reasons: str) -> str:
    return "; ".join(r for r in reasons if r)


def _answer_claim(question: str, claims: list[Claim], scorer: _Scorer) -> int | None:
    """The claim sharing most of the question's terms; on a tie the one the embedder puts closest (a reply in
    the other language shares none), then the earliest. A lead-in ("Its priorities include:") answers only
    when nothing else does. The first claim when no question is given."""
    if not claims:
        return None
    if not question.strip():
        return 0
    asked = _terms(question)
    shares = [len(asked & _terms(c.text)) / max(len(asked), 1) for c in claims]
    cosines = [0.0] * len(claims)
    if scorer.embedder is not None and len(set(shares)) < len(shares):
        q = scorer.embedder.embed_query(question)
        cosines = [float(scorer.embedder.embed_query(c.text) @ q) for c in claims]
    leads = [c.text.rstrip().endswith((":", "：")) for c in claims]
    return max(range(len(claims)), key=lambda i: (not leads[i], shares[i], cosines[i], -i))


class _Scorer:
    """Closeness of a claim to a passage: its terms' share (Chinese), its glossary terms' share and the
    embedder's cosine (English)."""

    def __init__(self, embedder: Embedder | None, glossary: Glossary):
        self.embedder = embedder
        self.glossary = glossary
        self._vectors: dict[int, np.ndarray] = {}

    def concepts(self, text: str) -> list[tuple[str, ...]]:
        """The Chinese renderings of each glossary term of an English claim, each term once."""
        return [tuple(self.glossary.terms[t]) for t in dict.fromkeys(self.glossary.matches(text))]

    def concept_share(self, concepts: list[tuple[str, ...]], passage: _Passage) -> tuple[float, int]:
        """The best window's share of the claim's glossary terms, and how many of them the passage itself says."""
        c = passage.hit.chunk
        names, question = f"{c.company} {c.short_name}", c.question_text
        best = (0.0, 0)
        for window in passage.window_texts:
            said = [any(r in window or r in names for r in renderings) for renderings in concepts]
            asked = [
                not s and any(r in question for r in renderings) for s, renderings in zip(said, concepts, strict=True)
            ]
            best = max(best, ((sum(said) + QUESTION_WEIGHT * sum(asked)) / len(concepts), sum(said)))
        return best

    def term_share(self, text: str, passage: _Passage) -> float:
        terms = _terms(text)
        if not terms:
            return 0.0
        best = 0.0
        for window in passage.window_terms:
            said = terms & (window | passage.name_terms)
            asked = (terms - said) & passage.question_terms
            best = max(best, (len(said) + QUESTION_WEIGHT * len(asked)) / len(terms))
        return best

    def cosines(self, text: str, passages: list[_Passage]) -> list[float]:
        if self.embedder is None:
            raise ValueError("cosines need an embedder")
        todo = [p for p in passages if id(p) not in self._vectors]
        if todo:
            # One batch for every passage's sentences: the model runs once per reply, not once per claim. A
            # run of sentences is the normalised sum of theirs (cheaper than embedding every run, and close).
            vecs = self.embedder.embed_passages([s for p in todo for s in p.sentences])
            at = 0
            for p in todo:
                own = vecs[at : at + len(p.sentences)]
                at += len(p.sentences)
                runs = np.stack([own[a:b].sum(axis=0) for a, b in p.windows])
                self._vectors[id(p)] = runs / np.maximum(np.linalg.norm(runs, axis=1, keepdims=True), 1e-12)
        q = self.embedder.embed_query(text)
        return [float(np.max(self._vectors[id(p)] @ q)) for p in passages]


def _terms(text: str) -> set[str]:
    """Terms of ``text`` for overlap: jieba words, character pairs and English words; figures aside."""
    return {t for t in tokenize(text) if not _DIGIT.search(t)}


def _numbers(text: str, figures: Sequence[Figure]) -> set[Decimal]:
    """Numbers of ``text`` outside its figures, years and list markers, normalised (``1,000.0`` -> ``1E+3``)."""
    taken = [f.span for f in figures] + [m.span() for m in _NOT_A_CLAIM.finditer(text)]
    out: set[Decimal] = set()
    for m in _NUMBER.finditer(text):
        if any(s <= m.start() < e for s, e in taken):
            continue
        try:
            out.add(Decimal(m.group().replace(",", "")).normalize())
        except InvalidOperation:
            continue
    return out


def _same_value(stated: Figure, claimed: Figure) -> bool:
    """The same value and unit, whatever qualifies them: a claim of "10000个订单" where the passage says
    "超过10000个" drops a word, not the figure (``implies`` covers rounding: ``50.00%`` backs ``约50%``)."""
    return (
        stated.comparable(claimed) and stated.base_value == claimed.base_value and stated.base_high == claimed.base_high
    )


def _plain(number: Decimal) -> str:
    return f"{number:f}"


def _key_table(hits: Sequence[Hit]) -> dict[str, Citation]:
    """Every form a validated key may take (with or without the company) to its citation."""
    table: dict[str, Citation] = {}
    for hit in hits:
        cit = hit.chunk.citation
        for with_company in (False, True):
            table.setdefault(_plain_key(cit.key(with_company)[1:-1]), cit)
    return table


def _plain_key(text: str) -> str:
    """A key as compared: without the angle marks the prompt's escaping may put in it (rag.llm.neutralise)."""
    return _ANGLE_MARKS.sub("", text)


def _hoist_sources(reply: str, keys: dict[str, Citation]) -> str:
    """``reply`` with each sentence that only names a source folded into the sentence before:
    "A. This is cited in [K]." -> "A [K]." (only when every bracket in it is a key of the passages)."""

    def fold(m: re.Match[str]) -> str:
        found = _KEY.findall(m.group("keys"))
        if not found or any(_plain_key(k) not in keys for k in found):
            return m.group(0)
        sep = " " if m.group("end") in ".!?" else ""
        return sep + "".join(f"[{k}]" for k in found) + m.group("end")

    return _SOURCE_SENTENCE.sub(fold, reply)


def _segment(reply: str, keys: dict[str, Citation]) -> list[_Piece]:
    """The reply cut into claims: each ends at a group of citations, a sentence end or a line break."""
    cites = [(m.start(), m.end(), keys[k]) for m in _KEY.finditer(reply) if (k := _plain_key(m.group(1))) in keys]
    events: list[tuple[int, int, Citation | None]] = list(cites)
    inside = [(s, e) for s, e, _ in cites]
    ends = [m for m in _END.finditer(reply) if not any(s <= m.start() < e for s, e in inside)]
    events += [(m.start(), m.end(), None) for m in ends]
    events.sort(key=lambda ev: (ev[0], ev[2] is None))
    pieces: list[_Piece] = []
    start = 0
    sentence = 0
    after_end = True  # the last boundary was a sentence end (or the reply's start)
    for s, e, cit in events:
        words = reply[start:s]
        if cit is not None:
            if has_content(words):
                body_end = start + len(words.rstrip())
                pieces.append(_Piece(_lstrip(reply, start, s), body_end, e, sentence, [(s, e)], [cit]))
            elif pieces and _ONLY_ENDS.fullmatch(reply[pieces[-1].end : s]):
                # "…增长50%。[2024-013 Q1]", "[Q1][Q3]": the citation belongs to the claim just before it.
                last = pieces[-1]
                last.end = e
                last.cite_spans.append((s, e))
                if cit not in last.cites:
                    last.cites.append(cit)
            start = e
            after_end = False
            continue
        if after_end and reply[s] == "." and _LIST_MARKER.fullmatch(words):
            continue
        if has_content(words):
            body_end = start + len(words.rstrip())
            pieces.append(_Piece(_lstrip(reply, start, s), body_end, body_end, sentence))
        start = e
        sentence += 1
        after_end = True
    words = reply[start:]
    if has_content(words):
        body_end = start + len(words.rstrip())
        pieces.append(_Piece(_lstrip(reply, start, len(reply)), body_end, body_end, sentence))
    return pieces


def _lstrip(reply: str, start: int, end: int) -> int:
    """Where a claim's words begin: after clause marks and spaces left by the claim before it."""
    while start < end and reply[start] in _CLAUSE_MARKS + "\n":
        start += 1
    return start


def _without(reply: str, start: int, end: int, spans: Sequence[tuple[int, int]]) -> str:
    """``reply[start:end]`` without the citation spans (and the spaces before them)."""
    out, pos = [], start
    for s, e in sorted(spans):
        if e <= start or s >= end:
            continue
        out.append(reply[pos:s].rstrip(" \t") if s > pos else "")
        pos = max(pos, e)
    out.append(reply[pos:end])
    return "".join(out)


def _drop_marked(parts: list[str], sentences: list[int]) -> list[str]:
    """Remove the dropped claims (``"\\x00"``) with the punctuation that tied them to their neighbours.

    ``parts`` alternates gap, claim, gap, ... gap. A dropped claim after a kept one of the same sentence takes
    the clause mark before it ("A [Q1]，B。" -> "A [Q1]。"); one that opens its sentence takes what follows it
    up to and including the sentence's end mark ("A。B。C" -> "A。C"), or the clause mark ("B，C [Q3]。").
    """
    claims = list(range(1, len(parts), 2))
    kept_sentence: int | None = None  # sentence of the last kept claim
    for n, at in enumerate(claims):
        if parts[at] != "\x00":
            kept_sentence = sentences[n]
            continue
        parts[at] = ""
        before, after = at - 1, at + 1
        if kept_sentence == sentences[n] and not any(ch in _SENTENCE_MARKS for ch in parts[before]):
            parts[before] = parts[before].rstrip(_CLAUSE_MARKS)
            continue
        gap = parts[after]
        stripped = gap.lstrip(_CLAUSE_MARKS)
        m = re.match(r"[。！？!?；;.]+[”’」』）)\"']*\s*|\n+", stripped)
        parts[after] = stripped[m.end() :] if m else stripped
        if not m and at + 2 < len(parts) and n + 1 < len(claims) and sentences[n + 1] != sentences[n]:
            parts[after] = gap  # nothing tied it to what follows
    return parts


def _tidy(parts: list[str]) -> str:
    text = "".join(parts)
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    # A reply cut after a clause that ended in a semicolon ends as a sentence.
    return text[:-1] + ("。" if text.endswith("；") else ".") if text.endswith(("；", ";")) else text
