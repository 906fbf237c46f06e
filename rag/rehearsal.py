"""Rehearsal for the investor-relations team: everything said before on a topic, and a check of a draft answer
against it, sentence by sentence (rules only, no LLM; the same index and draft always give the same result).

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

from rag.coverage import query_terms
from rag.extractive import AGREEMENT_MARGIN, DEFAULT_THRESHOLDS
from rag.figures import (
    Figure,
    direction,
    extract_figures,
    metric_similarity,
    metric_subject,
    periods,
    periods_compatible,
    same_metric,
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
# must contain for it to be listed in the topic's history. The extractive answerer needs only 0.12 of its best
# passage (rag/extractive.py, DEFAULT_COVERAGE) because similarity decides there; a history lists every passage
# that passes, so each must speak to the topic. Over the bundled records, 0.55 keeps "海外收入" for 境外收入
# (0.56) and drops passages that say "overseas" but not "revenue" for "overseas revenue" (0.53).
TOPIC_COVERAGE = 0.55
# A passage with few of the topic's words still belongs when dense retrieval ranks it this high and its
# similarity clears the extractive answerer's threshold ("海外业务的收入占比" for 境外收入).
DENSE_TOP = 3
# Share of a draft sentence's terms (figures aside) that one or two consecutive past sentences must contain
# for the sentence to count as said before.
SUPPORT_COVERAGE = 0.6
# Metric subjects at least this similar (rag.figures.metric_similarity) are the same metric:
# 境外收入 / 境外业务收入 is 0.8, 收入 / 境外业务收入 0.5.
METRIC_MATCH = 0.6
# ... and neither subject adds more than this many characters (or words) to what they share: 毛利率 is not
# 创新业务毛利率, a part of the company is not the company.
METRIC_EXTRA = 2
# ... or this share of the passage, when every figure of the sentence matches a past figure for the same metric
# and period.
FIGURE_SUPPORT = 0.5
# ... with at least this share of that in the statement itself ("……增长50%，主要来自美国客户" has the figure's
# passage but not the added claim).
FIGURE_STATEMENT_SHARE = 0.6
# Coverage a pair of consecutive past sentences gives up against a single sentence when choosing what to quote.
PAIR_PENALTY = 0.1
# Passages retrieved per draft sentence.
CHECK_K = 8

_CITATION = re.compile(r"\[[^\[\]\n]{1,60}\]")
_DIGIT = re.compile(r"[0-9０-９]")
_CJK_PAIR = re.compile(r"[\u3400-\u9fff]{2}")
_UP = re.compile(r"增长|增加|提升|提高|上升|上涨|扩大|改善|(?<![A-Za-z])(?:grow|grew|rise|rose|increas)", re.I)
_DOWN = re.compile(r"下降|下滑|减少|降低|回落|下跌|收缩|萎缩|恶化|(?<![A-Za-z])(?:declin|decreas|fell|fall|drop)", re.I)
_CLAUSE = re.compile(r"[，,；;。！？!?\n]")
_NUMBER = re.compile(r"(?<![0-9.A-Za-z])[0-9][0-9,]*(?:\.[0-9]+)?")
_NOT_A_CLAIM = re.compile(
    r"(?<![0-9.,])(?:19|20)[0-9]{2}(?![0-9]|[.,][0-9])|^\s*[0-9]{1,2}(?=[、.．)）])|(?<=[（(])[0-9]{1,2}(?=[)）])"
)
# Negations that flip a claim; single 不/无 are left out, they mostly build words (不断, 无人机).
_NEGATION = re.compile(
    r"没有|未曾|尚未|并未|并非|不会|不是|不再|不能|无法|未能|(?<![A-Za-z])(?:not|never|no longer|none)(?![A-Za-z])|n't",
    re.I,
)


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


@dataclass
class _FigureMatch:
    statement: _Statement
    figure: Figure
    similarity: float
    agrees: bool


def _body(chunk: Chunk) -> str:
    return chunk.answer_text or chunk.text


def _record_order(record: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", record))


def _strip(text: str, names: Iterable[str]) -> str:
    for name in names:
        text = re.sub(re.escape(name), " ", text, flags=re.I)
    return text


class Rehearsal:
    """Topic history and draft checks over an :class:`~rag.assistant.Assistant`'s index."""

    def __init__(
        self,
        assistant: Assistant,
        *,
        thresholds: dict[str, float] | None = None,
        topic_coverage: float = TOPIC_COVERAGE,
        support_coverage: float = SUPPORT_COVERAGE,
        figure_support: float = FIGURE_SUPPORT,
        metric_match: float = METRIC_MATCH,
        metric_extra: int = METRIC_EXTRA,
        check_k: int = CHECK_K,
    ):
        self.assistant = assistant
        self.retriever = assistant.retriever
        self.thresholds = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
        self.topic_coverage = topic_coverage
        self.support_coverage = support_coverage
        self.figure_support = figure_support
        self.metric_match = metric_match
        self.metric_extra = metric_extra
        self.check_k = check_k

    # -- shared --------------------------------------------------------------------------------------

    def _threshold(self, lang: str) -> float:
        return self.thresholds.get(lang, min(self.thresholds.values()))

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
        stripped = _strip(text, names)
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
        for term in sorted(query_terms(stripped, stripped, lambda t: idf(t) < unknown, names)):
            if term in covered or (drop_figures and _DIGIT.search(term)):
                continue
            if counts[term] == 1 and _CJK_PAIR.fullmatch(term) and idf(term) >= unknown:
                # A character pair across two words ("年境" of "上半年境外") that no record has: the wording
                # differs there, which says nothing about whether the claim was made. (A two-character word
                # comes out twice, as a word and as a pair, and stays: 火星.)
                continue
            concepts.append(_Concept(idf(term), tokens=frozenset([term])))
        return concepts

    @staticmethod
    def _coverage(concepts: Sequence[_Concept], tokens: set[str], text: str) -> float:
        total = sum(c.weight for c in concepts)
        if not concepts or total <= 0:
            return 0.0
        return sum(c.weight for c in concepts if c.found_in(tokens, text)) / total

    # -- topic history -------------------------------------------------------------------------------

    def topic_history(self, question: str, filters: dict[str, Any] | None = None, k: int = 30) -> list[RecordGroup]:
        """Every past answer on the topic of ``question`` among the best ``k`` passages, grouped by record,
        newest record first (by date, then record number); each group in the record's question order."""
        hits = [h for h in self.retriever.search(question, k, filters) if h.chunk.kind != "record"]
        names = self._names()
        concepts = self._concepts(question, names)
        if not hits or not concepts:
            return []
        floor = self._threshold(detect_language(question))
        with_company = self.assistant.with_company
        kept: dict[str, tuple[Hit, float, list[Hit]]] = {}
        for hit in hits:
            cov = self._topic_coverage(concepts, hit.chunk)
            dense_top = hit.ranks.get("dense", 99) <= DENSE_TOP and (hit.similarity or 0.0) >= floor
            relevant = cov >= self.topic_coverage or (dense_top and cov > 0)
            # Below the answerer's lowest similarity (its threshold less the agreement margin) a passage is
            # off topic whatever words it shares.
            if hit.similarity is not None and hit.similarity < floor - AGREEMENT_MARGIN:
                relevant = False
            if not relevant:
                continue
            key = hit.chunk.citation.key(with_company=True)
            if key in kept:
                best, best_cov, parts = kept[key]
                kept[key] = (best, max(best_cov, cov), [*parts, hit])
            else:
                kept[key] = (hit, cov, [hit])

        groups: dict[str, RecordGroup] = {}
        for best, cov, parts in kept.values():
            c = best.chunk
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
                    text=self._full_text(parts),
                    date=c.date,
                    kind=c.kind,
                    score=best.score,
                    similarity=best.similarity,
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

    def _full_text(self, parts: list[Hit]) -> str:
        """A pair's whole answer (a long one is split into parts); of an opening presentation, the parts found."""
        chunk = parts[0].chunk
        chunks = [h.chunk for h in parts]
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
        cache: dict[str, list[_Unit]] = {}
        for start, end in split_sentences(draft):
            sentence = draft[start:end]
            clean = _CITATION.sub(" ", sentence).strip()
            sentence_filters = dict(filters or {})
            if named and "company" not in sentence_filters and not directory.mentioned(clean):
                # "海天瑞声……。公司毛利率……": a sentence without a name is about the company named before.
                sentence_filters["company"] = [c.stock_code or c.name for c in named]
            check = self._check_sentence(clean, sentence_filters, names, cache)
            check.sentence, check.span = sentence, (start, end)
            result.sentences.append(check)
        return result

    def _statements(self, hits: Sequence[Hit], cache: dict[str, list[_Unit]]) -> list[_Statement]:
        return [_Statement(hit, rank, unit) for rank, hit in enumerate(hits) for unit in self._units(hit.chunk, cache)]

    @staticmethod
    def _units(chunk: Chunk, cache: dict[str, list[_Unit]]) -> list[_Unit]:
        """The sentences and sentence pairs of a passage; periods a sentence does not name come from its passage
        ("今年" read as the record's year)."""
        if chunk.id in cache:
            return cache[chunk.id]
        body = _body(chunk)
        year = chunk.date[:4]
        if year.isdigit():
            body = body.replace("今年", f"{year}年")
        context = periods(body)
        spans = split_sentences(body)
        singles = [_Unit(body[s:e], periods(body[s:e]) or context, True, set(tokenize(body[s:e]))) for s, e in spans]
        # A pair's tokens are its sentences' tokens: enough to measure coverage, without cutting the text again.
        pairs = [
            _Unit(body[sa:eb], a.periods | b.periods, False, a.tokens | b.tokens)
            for ((sa, _), (_, eb)), (a, b) in zip(itertools.pairwise(spans), itertools.pairwise(singles), strict=True)
        ]
        cache[chunk.id] = units = singles + pairs
        return units

    def _check_sentence(
        self, sentence: str, filters: dict[str, Any], names: Sequence[str], cache: dict[str, list[_Unit]]
    ) -> SentenceCheck:
        hits = [h for h in self.retriever.search(sentence, self.check_k, filters) if h.chunk.kind != "record"]
        statements = self._statements(hits, cache)
        with_company = self.assistant.with_company
        concepts = self._concepts(sentence, names, drop_figures=True)
        scored = sorted(
            ((self._coverage(concepts, s.tokens, s.text), s) for s in statements),
            # A sentence pair must say more than its better sentence to be quoted instead of it.
            key=lambda cs: (-(cs[0] - (0 if cs[1].single else PAIR_PENALTY)), cs[1].rank, not cs[1].single),
        )
        best_cov, best = scored[0] if scored else (0.0, None)
        draft_figures = extract_figures(sentence)
        # A statement with the sentence's words does not back it when it says the opposite ("不会影响" for
        # "会影响", "提升" for "下降") or lacks a number the sentence gives outside its figures ("22 centers").
        supporting: list[_Statement] = []
        rejected = ""
        for cov, s in scored:
            if cov < self.support_coverage:
                break
            why = _contradiction(sentence, draft_figures, s.text)
            if why:
                rejected = rejected or f"{s.hit.chunk.citation.key(with_company)} has {cov:.0%} of its terms but {why}"
            else:
                supporting.append(s)

        draft_periods = periods(sentence)
        matches = {id(f): self._figure_matches(f, sentence, draft_periods, statements, names) for f in draft_figures}

        # A figure is backed when a past statement gives a figure for the same metric that implies it (50.00% backs
        # 50%; 超过300家 does not back 超过391家). When no past figure's metric matches (worded too differently),
        # a statement that says the rest of the sentence backs it if its one figure of that unit implies it.
        unbacked: list[Figure] = []
        differing: list[tuple[Figure, _FigureMatch]] = []
        for f in draft_figures:
            found = matches[id(f)]
            if found:
                if not any(m.agrees for m in found):
                    differing.append((f, found[0]))
                continue
            if not any(_sole_comparable(f, s.figures) for s in supporting):
                unbacked.append(f)

        if differing:
            f, m = differing[0]
            key = m.statement.hit.chunk.citation.key(with_company)
            return SentenceCheck(
                sentence,
                "figure_differs",
                citation=key,
                past_text=m.statement.text,
                draft_figure=f,
                past_figure=m.figure,
                note=_differs_note(f, m.figure, key, names),
                score=self._coverage(concepts, m.statement.tokens, m.statement.text),
            )
        if draft_figures and not unbacked and not supporting:
            # Every figure matches a past figure for the same metric and period: the statement giving the first
            # one backs the sentence when its passage has most of the sentence's other words ("Hikvision's Q1
            # revenue grew 4.01%"; "上半年" may be named sentences before the figure).
            for m in matches[id(draft_figures[0])]:
                body = _body(m.statement.hit.chunk)
                in_passage = self._coverage(concepts, set(tokenize(body)), body)
                in_statement = self._coverage(concepts, m.statement.tokens, m.statement.text)
                if (
                    m.agrees
                    and in_passage >= self.figure_support
                    and in_statement >= self.figure_support * FIGURE_STATEMENT_SHARE
                    and not _contradiction(sentence, draft_figures, m.statement.text)
                ):
                    supporting = [m.statement]
                    break
        if supporting and not unbacked:
            chosen = self._citing(supporting, draft_figures, matches)
            f, g = self._figure_pair(draft_figures, matches, chosen)
            return SentenceCheck(
                sentence,
                "supported",
                citation=chosen.hit.chunk.citation.key(with_company),
                past_text=chosen.text,
                draft_figure=f,
                past_figure=g,
                score=self._coverage(concepts, chosen.tokens, chosen.text),
            )
        if unbacked and supporting:
            note = f"no past statement gives {unbacked[0].display()} for {_subject_words(unbacked[0], names)}"
        elif rejected:
            note = rejected
        elif best is not None:
            note = (
                f"the closest past statement, {best.hit.chunk.citation.key(with_company)}, "
                f"has {best_cov:.0%} of the sentence's terms"
            )
        else:
            note = "no past statement found"
        return SentenceCheck(sentence, "never_said", note=note, score=best_cov)

    def _figure_matches(
        self,
        figure: Figure,
        sentence: str,
        draft_periods: frozenset[str],
        statements: Sequence[_Statement],
        names: Sequence[str],
    ) -> list[_FigureMatch]:
        """Past figures for the same metric (comparable unit, same period where both name one), best first."""
        subject = metric_subject(figure.metric_text, names)
        english = detect_language(subject) == "en"
        found: list[_FigureMatch] = []
        for s in statements:
            if not s.single or not periods_compatible(draft_periods, s.periods):
                continue
            for g in s.figures:
                if not figure.comparable(g):
                    continue
                past = metric_subject(g.metric_text, names)
                mine = self._render(subject, past) if english else subject
                if not same_metric(mine, past, min_similarity=self.metric_match, max_extra=self.metric_extra):
                    continue
                mine_dir, past_dir = direction(figure.metric_text), direction(g.metric_text)
                if (mine_dir == 0) != (past_dir == 0):
                    continue  # a change (增长50%) and a level (占比50%, 增长至4,369.53万元) are different metrics
                sim = metric_similarity(mine, past)
                opposite = mine_dir * past_dir < 0
                found.append(_FigureMatch(s, g, sim, g.implies(figure) and not opposite))
        found.sort(key=lambda m: (-m.similarity, m.statement.rank))
        return found

    def _render(self, subject: str, past: str) -> str:
        """An English metric subject in the Chinese words of ``past`` where the glossary knows them."""
        glossary = self.retriever.glossary
        if glossary is None:
            return subject
        out = []
        rest = subject.lower()
        for term in glossary.matches(subject):
            renderings = sorted(glossary.terms[term], key=len, reverse=True)
            out.append(next((r for r in renderings if r in past), renderings[-1]))
            rest = rest.replace(term, " ")
        return "".join(out) + " " + rest

    @staticmethod
    def _citing(
        supporting: list[_Statement], figures: list[Figure], matches: dict[int, list[_FigureMatch]]
    ) -> _Statement:
        """Of the statements that say the sentence, the first that also gives its figures."""
        agreeing = {id(m.statement.hit): m for f in figures for m in matches[id(f)] if m.agrees}
        for s in supporting:
            if id(s.hit) in agreeing:
                return s
        return supporting[0]

    @staticmethod
    def _figure_pair(
        figures: list[Figure], matches: dict[int, list[_FigureMatch]], chosen: _Statement
    ) -> tuple[Figure | None, Figure | None]:
        for f in figures:
            for m in matches[id(f)]:
                if m.agrees and m.statement.hit is chosen.hit:
                    return f, m.figure
        for f in figures:
            for g in chosen.figures:
                if g.implies(f):
                    return f, g
        return (figures[0], None) if figures else (None, None)


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


def _sole_comparable(figure: Figure, past: Sequence[Figure]) -> bool:
    comparable = [g for g in past if g.comparable(figure)]
    return len(comparable) == 1 and comparable[0].implies(figure)


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
