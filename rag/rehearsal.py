"""Rehearsal for the investor-relations team: everything said before on a topic, and a check of a draft answer
against it, sentence by sentence (no LLM: the answer model finds the past passages a sentence speaks of, the
figure extractor compares what they state; the same index and draft always give the same result).

``Rehearsal(assistant).topic_history("境外收入")`` lists past answers on the topic grouped by record, newest
record first. ``Rehearsal(assistant).check_draft(draft)`` marks each sentence of a draft ``supported`` (a past
statement says it, cited), ``figure_differs`` (a past statement gives another figure for the same metric: both
figures and the citation are reported) or ``never_said``.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from rag.answering.features import Candidate
from rag.answering.selection import ON_TOPIC
from rag.coverage import query_terms, word_seams
from rag.cue_words import cue
from rag.figures import (
    Figure,
    companions,
    direction,
    extract_figures,
    metric_similarity,
    metric_subject,
    periods,
    periods_at,
    periods_compatible,
    short_measure_names,
)
from rag.lang import detect_language
from rag.sentences import split_sentences
from rag.tokenize import tokenize
from rag.types import Chunk, Hit

if TYPE_CHECKING:
    from rag.assistant import Assistant

__all__ = ["DraftCheck", "HistoryItem", "RecordGroup", "Rehearsal", "SentenceCheck", "Status", "split_sentences"]

Status = Literal["supported", "figure_differs", "never_said"]

# Idf-weighted share of a topic's terms that the question or one or two consecutive sentences of a past answer
# must contain for it to be listed in the topic's history, when the answer model alone does not list it.
TOPIC_COVERAGE = 0.55
# Share of a draft sentence's terms (figures aside) that one or two consecutive past sentences must contain
# for the sentence to count as said before.
SUPPORT_COVERAGE = 0.5
# A past sentence speaks of what a draft sentence's figure measures when it holds this share of the draft
# sentence's other terms: its comparable figure is then the past figure for the same measure.
ALIGN_COVERAGE = 0.3
# Past passages the answer model gives at least this share of its answering threshold are evidence for or
# against a draft sentence; at most EVIDENCE of them are read.
EVIDENCE_SHARE = 0.5
EVIDENCE = 3
# The likeliest passages read whatever their probability: a draft restating a passage with one figure wrong (309.76
# 亿元 for 309,760.58万元) is, to the answer model, a question that passage answers less well, yet it is the passage.
ALWAYS_READ = 1
# Coverage a pair of consecutive past sentences gives up against a single sentence when choosing what to quote.
PAIR_PENALTY = 0.1
# Passages retrieved per draft sentence.
CHECK_K = 16
# Figures of one past sentence whose words are this close to the best match's (metric_similarity, 0..1) are
# equally likely to be what a draft figure restates.
SAME_METRIC_MARGIN = 0.05

# A long passage's parts are stored as "<passage id>:p0", ":p1", ...
_PART = re.compile(r":p\d+$")
_CITATION = re.compile(r"\[[^\[\]\n]{1,60}\]")
_DIGIT = re.compile(r"[0-9０-９]")
_CJK_PAIR = re.compile(r"[\u3400-\u9fff]{2}")
_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
# The direction a clause gives, its negations, and a claim given as done or as planned (rag/data/cue_words.json).
_UP = cue("claim_up")
_DOWN = cue("claim_down")
_CLAUSE = re.compile(r"[，,；;。！？!?\n]")
_NUMBER = re.compile(r"(?<![0-9.A-Za-z])[0-9][0-9,]*(?:\.[0-9]+)?")
_NOT_A_CLAIM = re.compile(
    r"(?<![0-9.,])(?:19|20)[0-9]{2}(?![0-9]|[.,][0-9])|^\s*[0-9]{1,2}(?=[、.．)）])|(?<=[（(])[0-9]{1,2}(?=[)）])"
)
_NEGATION = cue("negation")
# English drafts are left to the negation above: done and planned are read in Chinese only.
_DONE = cue("done")
_PLANNED = cue("planned")


# -- results -----------------------------------------------------------------------------------------


@dataclass
class HistoryItem:
    """One past answer (or opening presentation) on the topic."""

    citation: str
    company: str
    record: str
    question: int | None
    question_text: str
    text: str
    date: str
    kind: str
    score: float
    similarity: float | None
    coverage: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "citation": self.citation,
            "company": self.company,
            "record": self.record,
            "question": self.question,
            "question_text": self.question_text,
            "text": self.text,
            "date": self.date,
            "kind": self.kind,
            "score": round(self.score, 6),
            "similarity": None if self.similarity is None else round(self.similarity, 4),
            "coverage": round(self.coverage, 4),
        }


@dataclass
class RecordGroup:
    """The past answers on a topic from one record, in the record's order."""

    company: str
    stock_code: str
    record: str
    date: str
    date_end: str
    activity_type: str
    items: list[HistoryItem] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "company": self.company,
            "stock_code": self.stock_code,
            "record": self.record,
            "date": self.date,
            "date_end": self.date_end,
            "activity_type": self.activity_type,
            "items": [i.to_dict() for i in self.items],
        }


@dataclass
class SentenceCheck:
    """The verdict on one sentence of a draft, with the past statement behind it."""

    sentence: str
    status: Status
    citation: str | None = None
    past_text: str = ""
    draft_figure: Figure | None = None
    past_figure: Figure | None = None
    note: str = ""
    span: tuple[int, int] = (0, 0)
    """Where the sentence is in the draft."""
    score: float = 0.0
    """Share of the sentence's terms the cited statement contains."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; figures as written (``"45%"``) with their details beside."""
        return {
            "sentence": self.sentence,
            "status": self.status,
            "citation": self.citation,
            "past_text": self.past_text,
            "draft_figure": self.draft_figure.display() if self.draft_figure else None,
            "past_figure": self.past_figure.display() if self.past_figure else None,
            "draft_figure_detail": self.draft_figure.to_dict() if self.draft_figure else None,
            "past_figure_detail": self.past_figure.to_dict() if self.past_figure else None,
            "note": self.note,
            "span": list(self.span),
            "score": round(self.score, 4),
        }


@dataclass
class DraftCheck:
    """A draft answer, sentence by sentence."""

    draft: str
    sentences: list[SentenceCheck] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        """How many sentences have each status."""
        out = {"supported": 0, "figure_differs": 0, "never_said": 0}
        for s in self.sentences:
            out[s.status] += 1
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"draft": self.draft, "counts": self.counts, "sentences": [s.to_dict() for s in self.sentences]}


# -- internals ---------------------------------------------------------------------------------------


@dataclass
class _Concept:
    """One thing a text asks about: a term, or the Chinese renderings of one English glossary term."""

    weight: float
    tokens: frozenset[str] = frozenset()
    phrases: tuple[str, ...] = ()

    def found_in(self, tokens: set[str], text: str) -> bool:
        return bool(self.tokens & tokens) or any(p in text for p in self.phrases)


@dataclass
class _Unit:
    """One past sentence (or two consecutive ones) of a passage, read once per draft check."""

    text: str
    periods: frozenset[str]
    single: bool
    tokens: set[str]

    @cached_property
    def figures(self) -> list[Figure]:
        return extract_figures(self.text)

    @cached_property
    def companions(self) -> dict[int, int]:
        """:func:`rag.figures.companions` of its figures, read once however many draft figures ask."""
        return companions(self.text, self.figures)


@dataclass
class _Reading:
    """What one draft check has read, by id: passages' parts and their sentences (units)."""

    passages: dict[str, list[Chunk]] = field(default_factory=dict)
    units: dict[str, list[_Unit]] = field(default_factory=dict)


@dataclass
class _Statement:
    """A unit of a passage retrieved for one draft sentence, with the passage's rank."""

    hit: Hit
    rank: int
    unit: _Unit

    @property
    def text(self) -> str:
        return self.unit.text

    @property
    def tokens(self) -> set[str]:
        return self.unit.tokens

    @property
    def figures(self) -> list[Figure]:
        return self.unit.figures

    @property
    def periods(self) -> frozenset[str]:
        return self.unit.periods

    @property
    def single(self) -> bool:
        return self.unit.single


def _tokens(text: str) -> set[str]:
    """The words of a past sentence, those of its report measure names in their short form included."""
    short = short_measure_names(text)
    return set(tokenize(text)) | (set(tokenize(short)) if short != text else set())


def _body(chunk: Chunk) -> str:
    return chunk.answer_text or chunk.text


def _record_order(record: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", record))


def _strip(text: str, names: Iterable[str]) -> str:
    for name in names:
        text = re.sub(re.escape(name), " ", text, flags=re.I)
    return text


class Rehearsal:
    """Topic history and draft checks over an :class:`~rag.assistant.Assistant`'s index and answer model."""

    def __init__(
        self,
        assistant: Assistant,
        *,
        topic_coverage: float = TOPIC_COVERAGE,
        support_coverage: float = SUPPORT_COVERAGE,
        align_coverage: float = ALIGN_COVERAGE,
        check_k: int = CHECK_K,
    ):
        self.assistant = assistant
        self.retriever = assistant.retriever
        self.topic_coverage = topic_coverage
        self.support_coverage = support_coverage
        self.align_coverage = align_coverage
        self.check_k = check_k

    # -- shared --------------------------------------------------------------------------------------

    def _idf(self) -> Callable[[str], float]:
        return self.assistant.index.ensure_lexical().idf

    def _names(self) -> list[str]:
        names = {n for c in self.retriever.companies().companies for n in c.names if len(n) >= 2}
        return sorted(names, key=len, reverse=True)

    def _concepts(self, text: str, names: Sequence[str], *, drop_figures: bool = False) -> list[_Concept]:
        """What ``text`` is about, weighted by idf: its terms (company names and question words aside), with
        each English glossary term standing for any of its Chinese renderings."""
        idf = self._idf()
        unknown = idf("\x00")
        stripped = _strip(short_measure_names(text), names)
        glossary = self.retriever.glossary
        concepts: list[_Concept] = []
        covered: set[str] = set()
        if glossary is not None and detect_language(stripped) == "en":
            for term in glossary.matches(stripped):
                renderings = tuple(glossary.terms[term])
                weight = max((idf(t) for r in renderings for t in tokenize(r)), default=0.0)
                concepts.append(_Concept(weight, phrases=renderings))
                covered.update(tokenize(term))
        counts = Counter(tokenize(stripped))
        seams = word_seams(stripped, beside_single=True)
        for term in sorted(query_terms(stripped, stripped, lambda t: idf(t) < unknown, names)):
            if term in covered or (drop_figures and _DIGIT.search(term)):
                continue
            if counts[term] == 1 and _CJK_PAIR.fullmatch(term) and (idf(term) >= unknown or term in seams):
                # A character pair across two words ("年境" of "上半年境外", "于现" of "用于现有"): the wording
                # differs there, which says nothing about whether the claim was made. (A two-character word
                # comes out twice, as a word and as a pair, and stays: 火星.)
                continue
            concepts.append(_Concept(idf(term), tokens=frozenset([term])))
        # A word counts once: the parts search mode and the character pairs cut out of it (数据, 中心, 据中 of
        # 数据中心) would weigh it three or four times against a word that has none (火星).
        words = [t for c in concepts for t in c.tokens if len(t) > 2 and _CJK_RUN.fullmatch(t)]
        return [c for c in concepts if not any(t != w and t in w for t in c.tokens for w in words)]

    @staticmethod
    def _coverage(concepts: Sequence[_Concept], tokens: set[str], text: str) -> float:
        total = sum(c.weight for c in concepts)
        if not concepts or total <= 0:
            return 0.0
        return sum(c.weight for c in concepts if c.found_in(tokens, text)) / total

    def _judged(self, text: str, filters: dict[str, Any] | None, k: int) -> list[tuple[Candidate, float]]:
        """The passages retrieved for ``text`` with the answer model's probability that each speaks to it, most
        likely first (a record's metadata aside)."""
        query = self.retriever.prepare(text, filters)
        hits = [h for h in self.retriever.search_prepared(query, k) if h.chunk.kind != "record"]
        if not hits or query.question is None:
            return []
        judged = self.assistant.extractive.judge(query.question, hits, limit=k)
        ranked = sorted(zip(judged.candidates, judged.probabilities, strict=True), key=lambda cp: -cp[1])
        return [(c, float(p)) for c, p in ranked]

    # -- topic history -------------------------------------------------------------------------------

    def topic_history(self, question: str, filters: dict[str, Any] | None = None, k: int = 30) -> list[RecordGroup]:
        """Every past answer on the topic of ``question`` among the best ``k`` passages, grouped by record,
        newest record first (by date, then record number); each group in the record's question order."""
        judged = self._judged(question, filters, k)
        names = self._names()
        concepts = self._concepts(question, names)
        if not judged or not concepts:
            return []
        threshold = self.assistant.extractive.threshold
        floor = ON_TOPIC * threshold  # a topic history lists every passage on it, not only the one cited
        with_company = self.assistant.with_company
        groups: dict[str, RecordGroup] = {}
        for cand, p in judged:
            cov = self._topic_coverage(concepts, cand.chunk)
            # A passage sharing no term with the topic is listed only when the model would answer from it: below
            # that its probability is the model's low-end noise (0.1-0.3 for the weather on Mars, seed to seed).
            if cov < self.topic_coverage and (p < floor or (cov == 0 and p < threshold)):
                continue
            c = cand.chunk
            group = groups.get(c.record_key)
            if group is None:
                group = groups[c.record_key] = RecordGroup(
                    company=c.short_name or c.company,
                    stock_code=c.stock_code,
                    record=c.record,
                    date=c.date,
                    date_end=c.date_end,
                    activity_type=c.activity_type,
                )
            group.items.append(
                HistoryItem(
                    citation=c.citation.key(with_company),
                    company=c.short_name or c.company,
                    record=c.record,
                    question=c.question if c.kind == "qa" else None,
                    question_text=c.question_text,
                    text=self._full_text(cand.parts),
                    date=c.date,
                    kind=c.kind,
                    score=p,
                    similarity=cand.hit.similarity,
                    coverage=cov,
                )
            )
        for group in groups.values():
            group.items.sort(key=lambda i: -1 if i.question is None else i.question)
        return sorted(groups.values(), key=lambda g: (g.date, _record_order(g.record), g.record), reverse=True)

    def _topic_coverage(self, concepts: Sequence[_Concept], chunk: Chunk) -> float:
        """Best coverage of the topic by the question or one or two consecutive sentences of the answer: the
        topic's words scattered over a long answer do not make it an answer on the topic."""
        body = _body(chunk)
        texts = [body[s:e] for s, e in split_sentences(body)]
        units = [chunk.question_text, *texts, *(a + b for a, b in itertools.pairwise(texts))]
        return max((self._coverage(concepts, set(tokenize(u)), u) for u in units if u), default=0.0)

    def _full_text(self, chunks: list[Chunk]) -> str:
        """A pair's whole answer (a long one is split into parts); of an opening presentation, the parts found."""
        chunk = chunks[0]
        if chunk.kind == "qa" and chunk.n_parts > 1 and len({c.part for c in chunks}) < chunk.n_parts:
            stored = self.assistant.index.store.get(
                where={"record_key": chunk.record_key, "kind": "qa", "question": chunk.question}
            )
            chunks = stored or chunks
        unique = {c.part: c for c in chunks}
        return "\n".join(_body(unique[p]) for p in sorted(unique))

    # -- draft check ---------------------------------------------------------------------------------

    def check_draft(self, draft: str, filters: dict[str, Any] | None = None) -> DraftCheck:
        """Each sentence of ``draft`` marked supported, figure_differs or never_said against past statements."""
        directory = self.retriever.companies()
        named = directory.mentioned(draft)
        names = self._names()
        result = DraftCheck(draft)
        cache = _Reading()
        # citations blanked where they stand: "[海天瑞声 2024-013 Q3]" names no third quarter
        uncited = _CITATION.sub(lambda m: " " * len(m.group()), draft)
        for start, end in split_sentences(draft):
            sentence = draft[start:end]
            clean = _CITATION.sub(" ", sentence).strip()
            sentence_filters = dict(filters or {})
            # "海天瑞声……。公司毛利率……": a sentence without a name is about the company named before.
            about = directory.mentioned(clean) or named
            if about and "company" not in sentence_filters:
                sentence_filters["company"] = [c.stock_code or c.name for c in about]
            # "2024年PBG营收…；EBG营收176.51亿元…": a clause after a semicolon is of the period named before it.
            check = self._check_sentence(
                clean,
                sentence_filters,
                names,
                cache,
                frozenset(c.stock_code for c in about),
                _unit_periods(uncited, start, end, frozenset()),
            )
            check.sentence, check.span = sentence, (start, end)
            result.sentences.append(check)
        return result

    def _whole(self, candidate: Candidate, cache: _Reading) -> list[Chunk]:
        """Every part of a passage, in order, not only those retrieved: a long presentation's revenue sentence and
        its profit sentence fall in neighbouring parts, and a draft sentence giving both needs both read."""
        first = candidate.parts[0]
        base = _PART.sub("", first.id)
        if first.n_parts <= len(candidate.parts) or base == first.id:
            return list(candidate.parts)
        if base not in cache.passages:
            ids = [f"{base}:p{i}" for i in range(first.n_parts)]
            found = {c.id: c for c in self.assistant.index.store.get(ids=ids)}
            found.update((c.id, c) for c in candidate.parts)
            cache.passages[base] = [found[i] for i in ids if i in found]
        return cache.passages[base]

    @staticmethod
    def _units(chunk: Chunk, cache: _Reading) -> list[_Unit]:
        """The sentences and sentence pairs of a passage; periods a sentence does not name come from its passage
        ("今年" read as the record's year)."""
        if chunk.id in cache.units:
            return cache.units[chunk.id]
        body = _body(chunk)
        year = chunk.date[:4]
        if year.isdigit():
            body = body.replace("今年", f"{year}年")
        context = periods(body)
        spans = split_sentences(body)
        # a measure written in full is also found by its short name (归属于上市公司股东的净利润: 归母净利润)
        singles = [_Unit(body[s:e], _unit_periods(body, s, e, context), True, _tokens(body[s:e])) for s, e in spans]
        # A pair's tokens are its sentences' tokens: enough to measure coverage, without cutting the text again.
        pairs = [
            _Unit(body[sa:eb], a.periods | b.periods, False, a.tokens | b.tokens)
            for ((sa, _), (_, eb)), (a, b) in zip(itertools.pairwise(spans), itertools.pairwise(singles), strict=True)
        ]
        cache.units[chunk.id] = units = singles + pairs
        return units

    def _check_sentence(
        self,
        sentence: str,
        filters: dict[str, Any],
        names: Sequence[str],
        cache: _Reading,
        about: frozenset[str] = frozenset(),
        inherited: frozenset[str] = frozenset(),
    ) -> SentenceCheck:
        """The answer model finds the past passages the sentence speaks of (as it finds those a question asks
        about); their sentences say whether the draft's claim and figures were made, or which figure was. A
        sentence about named companies (``about``, stock codes) is only backed or contradicted by what they said;
        ``inherited``: the periods of a sentence naming none, from the clauses before it."""
        # a clause of a longer sentence ("…；SMBG营收119.71亿元") is searched with the period it is of
        named = periods(sentence)
        query = sentence if named or not inherited else _period_words(inherited) + sentence
        judged = self._judged(query, filters, self.check_k)
        threshold = self.assistant.extractive.threshold
        mine = [(c, p) for c, p in judged if not about or c.chunk.stock_code in about]
        evidence = [(c, p) for n, (c, p) in enumerate(mine) if n < ALWAYS_READ or p >= EVIDENCE_SHARE * threshold][
            :EVIDENCE
        ]
        statements = [
            _Statement(c.hit, rank, unit)
            for rank, (c, _) in enumerate(evidence)
            for part in self._whole(c, cache)
            for unit in self._units(part, cache)
        ]
        with_company = self.assistant.with_company
        concepts = self._concepts(sentence, names, drop_figures=True)
        scored = sorted(
            ((self._coverage(concepts, s.tokens, s.text), s) for s in statements),
            key=lambda cs: (-(cs[0] - (0 if cs[1].single else PAIR_PENALTY)), cs[1].rank, not cs[1].single),
        )
        draft_figures = extract_figures(sentence)
        draft_periods = named or inherited
        # Each figure of the draft against the figures of the same kind in the past sentences that speak of the
        # same thing (most of the draft sentence's other words), most likely passage first.
        # per draft figure: the first past figure found for the same measure that differs, and where
        differing: dict[int, tuple[Figure, Figure, _Statement, frozenset[str]]] = {}
        backed: dict[int, tuple[Figure, _Statement]] = {}
        draft_companions = companions(sentence, draft_figures)
        for i, f in enumerate(draft_figures):
            # "收入336亿元，同比增长9.86%": once the past sentence restating 336亿元 is found, the growth it gives for
            # that amount is the one to compare, not a growth of another amount in the same sentence.
            level = draft_companions.get(i)
            if level is not None and id(draft_figures[level]) in backed:
                g, s = backed[id(draft_figures[level])]
                counterpart = _counterpart(f, g, s)
                if counterpart is not None:
                    if counterpart.implies(f):
                        backed[id(f)] = (counterpart, s)
                    else:
                        differing[id(f)] = (f, counterpart, s, s.periods)
                    continue
            # A figure's own clause says what it measures ("其中苏州和槟城两家工厂合计约35亿元"): a past sentence
            # speaking of that clause is aligned with it even when it shares little of the rest of the sentence.
            clause = _clause(sentence, f.span)
            whole = _CLAUSE.sub("", clause) == _CLAUSE.sub("", sentence)  # one clause: its concepts are the sentence's
            own = concepts if whole else self._concepts(clause, names, drop_figures=True)
            own_periods = periods_at(sentence, f.span[0]) or draft_periods
            aligned = sorted(
                ((max(cov, self._coverage(own, s.tokens, s.text)), cov, s) for cov, s in scored),
                key=lambda acs: -acs[0],
            )
            for gate, _, s in aligned:
                if gate < self.align_coverage:
                    break
                if not s.single or not periods_compatible(draft_periods, s.periods):
                    continue
                # A sentence naming several periods ("2022年…27.33%，2023年前三季度…50.98%"): a figure's period is the
                # last one named before it, and only figures of compatible periods are the same measure.
                past_periods = {id(g): periods_at(s.text, g.span[0]) or s.periods for g in s.figures}
                comparable = [
                    g
                    for g in s.figures
                    if (g.comparable(f) or _points_for_percent(f, g))
                    and _same_direction(f, g)
                    and _periods_fit(own_periods, past_periods[id(g)])
                ]
                if not comparable:
                    continue
                # Of several figures in one past sentence (a list of projects, each with its amount), the one
                # whose words are closest to the draft figure's is the one it restates; a change given for an amount
                # ("净利润28.38亿元，同比分别增长179.15%和312.26%") measures what that amount measures.
                closeness = {id(g): _metric_closeness(f, _measured(g, s), names) for g in comparable}
                best = max(closeness.values())
                nearest = [g for g in comparable if closeness[id(g)] >= best - SAME_METRIC_MARGIN]
                agreeing = next((g for g in nearest if _restates(g, f)), None)
                if agreeing is not None:
                    backed[id(f)] = (agreeing, s)
                    break
                # Of the past sentences giving another figure, one of the very part of the year the draft names
                # (前三季度) is a surer counterpart than one merely not contradicting it; then the one whose measure
                # reads closest to the draft figure's (营收 beside 营收, not the 净利润 of the next sentence).
                candidate = (f, nearest[0], s, past_periods[id(nearest[0])])
                if id(f) not in differing or _closer(candidate, differing[id(f)], own_periods, best, names):
                    differing[id(f)] = candidate
        unbacked = [f for f in draft_figures if id(f) not in backed]
        contradicted = [differing[id(f)] for f in unbacked if id(f) in differing]
        if contradicted:
            f, g, s, _ = contradicted[0]
            key = s.hit.chunk.citation.key(with_company)
            return SentenceCheck(
                sentence,
                "figure_differs",
                citation=key,
                past_text=s.text,
                draft_figure=f,
                past_figure=g,
                note=_differs_note(f, g, key, names),
                score=self._coverage(concepts, s.tokens, s.text),
            )
        if draft_figures and not unbacked:
            g, s = backed[id(draft_figures[0])]
            if not _contradiction(sentence, draft_figures, s.text):
                return SentenceCheck(
                    sentence,
                    "supported",
                    citation=s.hit.chunk.citation.key(with_company),
                    past_text=s.text,
                    draft_figure=draft_figures[0],
                    past_figure=g,
                    score=self._coverage(concepts, s.tokens, s.text),
                )
        best_p = evidence[0][1] if evidence else 0.0
        rejected = ""
        if not draft_figures and best_p >= threshold:
            for cov, s in scored:
                if cov < self.support_coverage:
                    break
                why = _contradiction(sentence, draft_figures, s.text)
                if not why:
                    return SentenceCheck(
                        sentence,
                        "supported",
                        citation=s.hit.chunk.citation.key(with_company),
                        past_text=s.text,
                        score=cov,
                    )
                rejected = rejected or f"{s.hit.chunk.citation.key(with_company)} has {cov:.0%} of its terms but {why}"
        if unbacked:
            note = f"no past statement gives {unbacked[0].display()} for {_subject_words(unbacked[0], names)}"
        elif rejected:
            note = rejected
        elif scored:
            cov, best = scored[0]
            key = best.hit.chunk.citation.key(with_company)
            note = f"the closest past statement, {key}, has {cov:.0%} of its terms"
        else:
            note = "no past statement found"
        return SentenceCheck(sentence, "never_said", note=note, score=scored[0][0] if scored else 0.0)


# Where a sentence ends: a clause after a semicolon is still the same sentence's.
_FULL_STOP = re.compile(r"[。！？!?\n]")


def _unit_periods(body: str, start: int, end: int, context: frozenset[str]) -> frozenset[str]:
    """The periods of the sentence ``body[start:end]``: those it names (not only as a base), else those named last
    before it in the same full sentence ("…；公司第三季度实现营业收入…；实现…净利润30.44亿元" is the third quarter's),
    else its passage's (``context``)."""
    text = body[start:end]
    # periods named only as what is compared with ("与2023年相比…提升超过6个百分点") are not the sentence's own
    if periods_at(text, len(text)):
        return periods(text)
    opened = max((m.end() for m in _FULL_STOP.finditer(body, 0, start)), default=0)
    return periods_at(body[opened:start], start - opened) or context


def _measured(g: Figure, s: _Statement) -> Figure:
    """The figure whose words say what ``g`` measures: the amount it is the change of, if it is one, else itself."""
    figs = s.unit.figures
    k = next((n for n, h in enumerate(figs) if h is g), None)
    level = s.unit.companions.get(k) if k is not None else None
    return g if level is None else figs[level]


def _counterpart(f: Figure, level: Figure, s: _Statement) -> Figure | None:
    """The change figure the past sentence ``s`` gives for its figure ``level`` that is of ``f``'s kind."""
    figs = s.unit.figures
    k = next((n for n, g in enumerate(figs) if g is level), None)
    if k is None:
        return None
    pairs = s.unit.companions
    return next(
        (figs[j] for j, c in pairs.items() if c == k and figs[j].comparable(f) and _same_direction(f, figs[j])), None
    )


def _clause(sentence: str, span: tuple[int, int]) -> str:
    """The clause of ``sentence`` holding the characters ``span`` (between commas, semicolons or stops)."""
    start = max((m.end() for m in _CLAUSE.finditer(sentence, 0, span[0])), default=0)
    end = next((m.start() for m in _CLAUSE.finditer(sentence, span[1])), len(sentence))
    return sentence[start:end]


def _subject_words(figure: Figure, names: Sequence[str]) -> str:
    return metric_subject(figure.metric_text, names) or figure.metric_text or "this metric"


def _differs_note(draft: Figure, past: Figure, key: str, names: Sequence[str]) -> str:
    what = _subject_words(draft, names)
    mine, theirs = direction(draft.metric_text), direction(past.metric_text)
    if mine * theirs < 0:
        says = {1: "a rise", -1: "a fall"}
        return (
            f"the draft gives {what} {draft.display()} as {says[mine]}; {key} gave {past.display()} as {says[theirs]}"
        )
    return f"the draft gives {draft.display()} for {what}; {key} gave {past.display()}"


def _restates(past: Figure, draft: Figure) -> bool:
    """Whether the past figure backs the draft's: it implies it, or the draft gives in percentage points the change
    of a ratio the past gave, loosely, in % ("毛利率提升0.75%" restated as "提升0.75个百分点"; the other way round is a
    slip, see :func:`_points_for_percent`)."""
    if past.implies(draft):
        return True
    if not (_points_for_percent(draft, past) and draft.dimension == "pp"):
        return False
    (lo, hi), (lo_past, hi_past) = draft.interval, past.interval  # both on the scale of one point
    return lo <= hi_past and lo_past <= hi


def _closer(
    new: tuple[Figure, Figure, _Statement, frozenset[str]],
    old: tuple[Figure, Figure, _Statement, frozenset[str]],
    own_periods: frozenset[str],
    new_closeness: float,
    names: Sequence[str],
) -> bool:
    """Whether the past figure ``new`` is a likelier counterpart of the draft figure than ``old`` (found first)."""
    new_part, old_part = _same_part(own_periods, new[3]), _same_part(own_periods, old[3])
    if new_part != old_part:
        return new_part
    return new_closeness > _metric_closeness(old[0], _measured(old[1], old[2]), names) + SAME_METRIC_MARGIN


# How the records write each period tag (rag.figures.periods), to search for a clause with the period it inherits.
_PERIOD_WORDS = {"H1": "上半年", "H2": "下半年", "Q1": "第一季度", "Q2": "第二季度", "Q3": "第三季度", "Q4": "第四季度"}
_PERIOD_WORDS |= {"9M": "前三季度", "FY": "全年"}


def _period_words(tags: frozenset[str]) -> str:
    """``{"Y2024", "H1"}`` as the records write it: ``2024年上半年``."""
    years = "".join(f"{t[1:]}年" for t in sorted(tags) if t.startswith("Y"))
    return years + "".join(_PERIOD_WORDS.get(t, "") for t in sorted(tags) if not t.startswith("Y"))


def _periods_fit(draft: frozenset[str], past: frozenset[str]) -> bool:
    """Whether a past statement of periods ``past`` can state the draft's figure of periods ``draft``: compatible
    periods, and a year the draft names without a part of it ("2024年营收") is the whole year, not a past figure of
    only its first half or a quarter."""
    if not periods_compatible(draft, past):
        return False
    past_parts = {p for p in past if not p.startswith("Y")}
    bare_year = any(p.startswith("Y") for p in draft) and all(p.startswith("Y") for p in draft)
    return not (bare_year and past_parts and "FY" not in past_parts)


def _same_part(a: frozenset[str], b: frozenset[str]) -> bool:
    """Whether both name the same part of a year (H1, Q3, 9M, FY)."""
    return bool({p for p in a if not p.startswith("Y")} & {p for p in b if not p.startswith("Y")})


def _points_for_percent(a: Figure, b: Figure) -> bool:
    """A change of a ratio given in % where the past gave percentage points, or the other way round ("提高了7%" for
    "提高了7个百分点"): the same measure in the wrong unit, so never agreeing, but compared."""
    return (
        {a.dimension, b.dimension} == {"%", "pp"} and bool(direction(a.metric_text)) and bool(direction(b.metric_text))
    )


def _same_direction(a: Figure, b: Figure) -> bool:
    """A change (增长50%) and a level (占比50%, 增长至4,369.53万元) are different measures; so are a rise and a fall."""
    da, db = direction(a.metric_text), direction(b.metric_text)
    return (da == 0) == (db == 0)


def _metric_closeness(a: Figure, b: Figure, names: Sequence[str]) -> float:
    return metric_similarity(metric_subject(a.metric_text, names), metric_subject(b.metric_text, names))


def _contradiction(sentence: str, figures: Sequence[Figure], past: str) -> str:
    """Why a past statement with the sentence's words still does not back it, or "" when nothing is wrong.

    Negation and direction are compared clause by clause, each clause of the sentence against the past clause
    sharing most words with it: a long statement says "不会" or "下降" somewhere about something else."""
    past_clauses = [c for c in _CLAUSE.split(past) if c.strip()]
    past_words = [set(tokenize(c)) for c in past_clauses]
    for clause in _CLAUSE.split(sentence):
        words = set(tokenize(clause))
        if not words or not past_clauses:
            continue
        best = max(range(len(past_clauses)), key=lambda i: len(words & past_words[i]))
        if not words & past_words[best]:
            continue
        closest = past_clauses[best]
        if bool(_NEGATION.search(clause)) != bool(_NEGATION.search(closest)):
            return "one of them negates what the other says"
        if _DONE.search(clause) and not _DONE.search(closest) and _PLANNED.search(closest):
            return "it gives as done what was said as a plan or under way"
        up, down = bool(_UP.search(clause)), bool(_DOWN.search(clause))
        past_up, past_down = bool(_UP.search(closest)), bool(_DOWN.search(closest))
        if up != down and past_up != past_down and up != past_up:
            return "it says the change went the other way"
    missing = _numbers(sentence, figures) - _numbers(past, ())
    if missing:
        return f"it does not give the number {min(missing)}"
    return ""


def _numbers(text: str, figures: Sequence[Figure]) -> set[Decimal]:
    """Numbers of a text outside its figures, years (2024年) and list markers (1、, （2）)."""
    taken = [f.span for f in figures] + [m.span() for m in _NOT_A_CLAIM.finditer(text)]
    out = set()
    for m in _NUMBER.finditer(text):
        if any(s <= m.start() < e for s, e in taken):
            continue
        try:
            out.add(Decimal(m.group().replace(",", "")).normalize())
        except InvalidOperation:
            continue
    return out
