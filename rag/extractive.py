"""The default answerer, no LLM needed: quotes the sentences of the best passages that answer the question,
each followed by its citation, or says the records do not cover the question."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from rag.companies import Unit, default_aliases, default_units, units_mentioned
from rag.coverage import Concept, concept_coverage, named_organisations, question_concepts, unknown_organisation
from rag.intent import (
    asked_periods,
    asks_change,
    asks_how_much,
    asks_metadata,
    figure_periods,
    in_months,
    mentioned_months,
    named_places,
    names_period,
    reporting_window,
    states_period,
    unreported_periods,
)
from rag.retriever import dedupe_pairs
from rag.types import Answer, Chunk, Citation, Hit

if TYPE_CHECKING:
    from rag.glossary import Glossary

# Below these cosine similarities (multilingual-e5-small; English queries over Chinese passages score
# lower) the best passage is rarely on topic. Set on the gold set; `irchat eval` reports them.
DEFAULT_THRESHOLDS = {"zh": 0.86, "en": 0.80}
# The thresholds and weights below were chosen on one half of the gold set (evals/gold, split by (lang,
# kind) and the sha1 of the question id) and checked on the other: about 5% of answerable questions are
# refused, in both halves.
# Idf-weighted share of the question's concepts (rag/coverage.py) the passage answered from must contain.
DEFAULT_COVERAGE = {"zh": 0.2, "en": 0.3}
# A question asking for a figure needs a sentence that states one, names what is measured (the words by
# 多少 / "how much") and holds this share of the question's concepts.
FIGURE_COVERAGE = 0.2
# When dense and lexical retrieval agree on the top passage, a slightly lower similarity still answers.
AGREEMENT_MARGIN = 0.04
# One citation per claim. A second passage is cited only for a question that asks about two periods or
# several things, when it answers a part the first does not (a period, a concept of the question the first
# passage lacks), holds at least half this share of the first one's coverage, and, for a question asking
# for figures, adds a figure the first did not give.
RELATIVE = 0.8
# How many of the top distinct passages compete to be the one answered from.
CANDIDATES = 4
# Weight of the best sentence's coverage next to the whole passage's when picking the passage.
SENTENCE_WEIGHT = 0.5
# Preference for a passage from the meeting that reported the period asked about (or the record named).
PERIOD_BONUS = 0.3
# Each rank down the retrieval list costs this much coverage when picking the passage to answer from.
RANK_PENALTY = 0.08
# Coverage a passage needs for a sentence of it that names the measured quantity to answer "how much" alone.
MEASURED_PASSAGE = 0.6

_SENTENCE = re.compile(r"[^。！？；!?\n]+[。！？；!?]?")
_ENUM = re.compile(r"^\s*(?:[（(]?\d{1,2}[)）、.．]|[一二三四五六七八九十]+、)\s*")
_FIGURE = re.compile(
    r"\d[\d,.]*\s*(?:%|％|‰|万元|亿元|元|个百分点|百分点|万|亿|倍|家|个|款|种|项|座|名|台|T\b|t\b)|"
    r"[一二三四五六七八九十百千万两]+(?:成|倍|个百分点)|"
    # Magnitudes in words (几十亿元, 数百家, 上万名, 近千个): an estimate is still the figure asked for.
    r"(?:[一二三四五六七八九两几数近]|(?<!成千)上)[十百千]*[万亿]+(?:多|余)?(?:美元|元)?|[十百]亿(?:元|美元)?|千亿|"
    r"[一二三四五六七八九两几数上近][十百千]+(?:多|余)?(?:家|个|款|种|项|名|台|人|座)"
)
# Several things asked at once: a second passage may answer the part the first does not.
_DIGIT = re.compile(r"\d")
_END = re.compile(r"[。！？；!?.…]$")
# Question words of a metadata question and the record field that answers them.
_META_FIELDS = [
    (re.compile(r"哪里|在哪|什么地方|地点|\bwhere\b|\bvenue\b", re.I), "地点"),
    (re.compile(r"哪天|哪几天|哪一天|什么时候|何时|几月几日|\bwhen\b|what date", re.I), "时间"),
    (re.compile(r"谁|哪些人|哪位|接待|出席|\bwho\b|\bhost", re.I), "接待人员"),
    (
        re.compile(r"哪些机构|哪些投资者|参加|参与|\battend|\bparticipa|which (?:institutions|funds|investors)", re.I),
        "参与单位",
    ),
    (re.compile(r"什么类型|什么形式|活动类别|哪种活动|what (?:kind|type|sort) of", re.I), "活动类别"),
]
_ZH_ASK = re.compile(r"多少|几[个家款种项年倍成台名]|多大(?!程度)|比例|占比")
_EN_ASK = re.compile(
    r"(?:how (?:much|many|fast|big|large)|what (?:share|percentage|proportion|ratio) of)\s+((?:\S+\s+){0,3}\S+)", re.I
)
_MULTI_PART = re.compile(r"和|与|及|分别|各|对比|相比|比较|从.+到|\band\b|\bvs\.?|compare|versus|both|each", re.I)

NO_ANSWER = {
    "zh": "现有记录未涉及这个问题。",
    "en": "The indexed records do not cover this question.",
}
EN_LEAD = "From the records (quoted in the original Chinese):"


@dataclass
class _Scored:
    text: str
    score: float
    order: int
    coverage: float
    figures: frozenset[str]
    supports: bool = True
    """For a figure question: the sentence states a figure for the period, place and entity asked about, of
    the quantity asked for."""
    measure: bool = False
    """For a figure question: the sentence names what the question measures (the 市场 of "市场有多大")."""
    declines: bool = False
    """For a figure question: the sentence says the figure is not broken out or cannot be put in numbers."""


@dataclass
class _Ask:
    """What a figure in a sentence must be about to answer the question."""

    periods: list[tuple[int, str]]
    places: list[tuple[str, ...]]
    unit: Unit | None
    entity_names: list[str]
    measures: list[Concept]
    total: bool
    """The question asks for a total (一共, in total): a figure for a qualified part (研发人员) does not answer it."""
    level: bool
    """The question asks how much, not how it changed: a sentence giving only changes does not answer it."""
    counts: tuple[str, ...]
    """Classifiers the question counts in (种 of 多少种, 款 of 多少款): a figure must be counted in one of them."""
    per_unit: str
    """The unit of a per-unit figure asked for (股 of 每10股 or "per share", 人 of 人均): a total does not answer."""
    bare_years: list[int]
    """Years the question names without a period word ("2024 revenue"): a full year or any part of it."""
    context: str
    """The question and its Chinese renderings, normalised: words a qualifier of the measured noun may come from."""
    stated: frozenset[str] = frozenset()
    """Figures the question states itself ("那个20-25亿的回购"): context the asker has, not an answer."""


@dataclass
class _Candidate:
    hit: Hit
    rank: int
    coverage: float
    sentences: list[_Scored]
    body: str = ""

    @property
    def best(self) -> float:
        return max((s.score for s in self.sentences), default=0.0)

    @property
    def best_coverage(self) -> float:
        return max((s.coverage for s in self.sentences), default=0.0)

    @property
    def figure_coverage(self) -> float:
        """Coverage of the best sentence stating a figure for what is asked."""
        return max((s.coverage for s in self.sentences if (s.figures and s.supports) or s.declines), default=0.0)


def sentences(text: str) -> list[str]:
    """Sentences and list items of a passage, trimmed."""
    return [s.strip() for s in _SENTENCE.findall(text) if len(s.strip()) > 1]


def figures(text: str) -> frozenset[str]:
    """The figures a sentence states, normalised (``4,369.53 万元`` → ``4369.53万元``)."""
    return frozenset(re.sub(r"[\s,]", "", m.group(0)) for m in _FIGURE.finditer(text))


class ExtractiveAnswerer:
    """Cited quotes from the passage that best covers the question; abstains when none does.

    A question is answered only when a retrieved passage is similar enough (dense cosine), holds enough of
    the question's concepts (idf-weighted, English terms through the glossary), gives a figure when a figure
    is asked for, and the period asked about had ended by the newest record searched.
    """

    mode = "extractive"

    def __init__(
        self,
        thresholds: dict[str, float] | None = None,
        *,
        max_passages: int = 2,
        max_sentences: int = 3,
        with_company: bool = False,
        idf: Callable[[str], float] | None = None,
        min_coverage: dict[str, float] | None = None,
        glossary: Glossary | None = None,
        figure_coverage: float = FIGURE_COVERAGE,
        rank_penalty: float = RANK_PENALTY,
        sentence_weight: float = SENTENCE_WEIGHT,
        period_bonus: float = PERIOD_BONUS,
        candidates: int = CANDIDATES,
        units: Sequence[Unit] | None = None,
    ):
        self.thresholds = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
        self.max_passages = max_passages
        self.max_sentences = max_sentences
        self.with_company = with_company
        self.idf = idf
        self.min_coverage = {**DEFAULT_COVERAGE, **(min_coverage or {})}
        self.glossary = glossary
        self.figure_coverage = figure_coverage
        self.rank_penalty = rank_penalty
        self.sentence_weight = sentence_weight
        self.period_bonus = period_bonus
        self.candidates = candidates
        self.units = tuple(default_units() if units is None else units)

    def threshold(self, lang: str) -> float:
        """Similarity needed to answer a question in ``lang``."""
        return self.thresholds.get(lang, min(self.thresholds.values()))

    def covered(self, hits: Sequence[Hit], lang: str = "zh") -> bool:
        """Whether the passages are close enough to the question to answer from."""
        if not hits:
            return False
        sims = [h.similarity for h in hits if h.similarity is not None]
        if not sims:  # lexical-only retrieval gives no similarity: answer from what it found
            return True
        threshold = self.threshold(lang)
        if max(sims) >= threshold:
            return True
        top = hits[0]
        agree = top.ranks.get("dense", 99) <= 3 and top.ranks.get("bm25", 99) <= 3
        return agree and (top.similarity or 0.0) >= threshold - AGREEMENT_MARGIN

    def concepts(self, question: str, query_text: str, names: Sequence[str], lang: str = "zh") -> list[Concept]:
        """What the question asks about, weighted by idf (equal weights without an idf)."""
        glossary = self.glossary if lang == "en" else None
        concepts = question_concepts(question, query_text, self.idf or _flat_idf, names, glossary)
        # "在哪里开的" asks for the record's 地点 line: the field stands in for the question word, and weighs
        # as much as the rest of the question (which only says which meeting).
        fields = [label for pattern, label in _META_FIELDS if pattern.search(question)]
        weight = sum(c.weight for c in concepts) or 1.0
        return concepts + [Concept(weight, (label,)) for label in fields if not any(label in c.forms for c in concepts)]

    def term_coverage(
        self, question: str, hits: Sequence[Hit], query_text: str, names: Sequence[str], lang: str = "zh"
    ) -> float:
        """Best idf-weighted share of the question's concepts found in one of the top passages."""
        if self.idf is None or not hits:
            return 1.0
        concepts = self.concepts(question, query_text, names, lang)
        return max(concept_coverage(concepts, h.chunk.text) for h in dedupe_pairs(hits)[: self.candidates])

    def answer(
        self,
        question: str,
        hits: Sequence[Hit],
        lang: str,
        query_text: str | None = None,
        company_names: Sequence[str] = (),
    ) -> Answer:
        """Quote the best sentences of ``hits`` with citations; ``query_text`` may add glossary terms."""
        refusal = Answer(question, NO_ANSWER.get(lang, NO_ANSWER["en"]), lang, self.mode, [], list(hits))
        reason, candidates, concepts = self.judge(question, hits, lang, query_text, company_names)
        if reason:
            return refusal
        first = candidates[0]
        numeric = asks_how_much(question)
        picked = [(first, self._quotes(first, self.max_sentences if len(candidates) == 1 else 2))]
        given = set().union(*(s.figures for s in picked[0][1]))
        multi = bool(_MULTI_PART.search(question))
        windows = [reporting_window(p) for p in figure_periods(question)]
        months = mentioned_months(question)
        first_periods = {i for i, w in enumerate(windows) if w[0] <= first.hit.chunk.date <= w[1]}
        for cand in candidates[1:]:
            if len(picked) >= self.max_passages:
                break
            # A question about two periods (2023 vs 2024) is answered from the meeting that reported each.
            other_period = len(windows) > 1 and any(
                w[0] <= cand.hit.chunk.date <= w[1] for i, w in enumerate(windows) if i not in first_periods
            )
            if not (other_period or multi) or cand.coverage < RELATIVE * first.coverage / 2:
                continue
            # Several things asked about one meeting are answered from that meeting; another meeting is cited
            # for another period or month the question names.
            if not other_period and cand.hit.chunk.record != first.hit.chunk.record and len(windows) + len(months) < 2:
                continue
            quotes = self._quotes(cand, 1)
            # Only a figure about what is asked (its period, its level or change) adds to the answer.
            new_figures = set().union(*(s.figures for s in quotes if s.supports)) - given
            if numeric and not new_figures:
                continue
            if not other_period and not _adds_concepts(cand, first, concepts):
                continue
            picked.append((cand, quotes))
            given |= new_figures

        citations: list[Citation] = []
        lines: list[str] = []
        for cand, quotes in picked:
            key = cand.hit.chunk.citation.key(self.with_company)
            citations.append(cand.hit.chunk.citation)
            text = _join(_clip(q.text) for q in quotes)
            lines.append(f"“{text}” {key}" if lang == "en" else f"{text}{key}")
        body = "\n".join(f"- {line}" for line in lines) if lang == "en" else "\n".join(lines)
        if lang == "en":
            body = EN_LEAD + "\n" + body
        return Answer(question, body, lang, self.mode, citations, list(hits))

    def judge(
        self,
        question: str,
        hits: Sequence[Hit],
        lang: str,
        query_text: str | None = None,
        company_names: Sequence[str] = (),
    ) -> tuple[str, list[_Candidate], list[Concept]]:
        """Why the records do not answer the question ("" when they do), and the passages that compete to
        answer it, the one to answer from first."""
        if not self.covered(hits, lang):
            return "not similar", [], []
        concepts = self.concepts(question, query_text or question, company_names, lang)
        numeric = asks_how_much(question)
        passages = self._passages(hits, lang)
        ask = self._ask(question, query_text or question, concepts, company_names, hits) if numeric else None
        candidates = [self._candidate(h, rank, concepts, numeric, hits, ask) for rank, h in enumerate(passages)]
        if not candidates:
            return "no passage", [], concepts
        windows = [reporting_window(p) for p in figure_periods(question)]
        months = mentioned_months(question)
        named = {h.chunk.record for h in hits if _names_record(question, h.chunk.record)}

        def merit(c: _Candidate) -> float:
            # Coverage of the passage and of its best sentence, less a little per rank down the retrieval
            # list; a passage from the meeting that reported the period asked about, or held in the month the
            # question names ("as of May 2024"), or from the record the question names, is preferred.
            chunk = c.hit.chunk
            dated = any(w[0] <= chunk.date <= w[1] for w in windows) or in_months(chunk.date, chunk.date_end, months)
            return (
                c.coverage
                + self.sentence_weight * (c.figure_coverage if numeric else c.best_coverage)
                - self.rank_penalty * c.rank
                + self.period_bonus * dated
                + self.period_bonus * (chunk.record in named)
            )

        candidates.sort(key=lambda c: (-merit(c), c.rank))
        if _NOW.search(question) and not windows and not named:
            # "now", "目前": of the passages that cover the question about as well, the latest meeting speaks for
            # the present; an earlier one has been superseded.
            best = max(c.coverage for c in candidates)
            near = [c for c in candidates if c.coverage >= RELATIVE * best]
            near.sort(key=lambda c: c.hit.chunk.date_end or c.hit.chunk.date, reverse=True)
            candidates = near + [c for c in candidates if c not in near]
        if named:
            # A question naming a record ("编号2024-013的那场") asks about that meeting only.
            candidates = [c for c in candidates if c.hit.chunk.record in named] or candidates
        if asks_metadata(question):
            # Who attended, when, where: the record's own metadata says it, not what was said there.
            candidates.sort(key=lambda c: c.hit.chunk.kind != "record")
        if self.idf is None:
            return "", candidates, concepts
        known = [*company_names, *(n for u in self.units for n in u.names)]
        others = named_organisations(question, known, self.glossary)
        if unknown_organisation(question, self.idf, known, self.glossary, others):
            return "unknown company", candidates, concepts
        if others:
            # A company the records mention in passing (a rival, a customer) but do not cover: only a passage
            # that names it can speak of it; another company's figures are no answer.
            candidates = [c for c in candidates if any(o.lower() in c.body.lower() for o in others)]
            if not candidates:
                return "company not covered", [], concepts
        latest = max((h.chunk.date_end or h.chunk.date for h in hits), default="")
        if unreported_periods(question, latest):
            return "period not reported", candidates, concepts
        if numeric:
            # Only a passage that states a figure about what is asked can answer "how much".
            with_figure = [c for c in candidates if _gives_figure(c, concepts, self.figure_coverage, [])]
            if not with_figure:
                return "no figure", candidates, concepts
            candidates = with_figure + [c for c in candidates if c not in with_figure]
        places = named_places(question)
        if places and not numeric:
            # "market share in the US": a sentence must speak of the place and of something else asked.
            rest = [c for c in concepts if not any(f in place for place in places for f in c.forms)]
            in_place = [c for c in candidates if _speaks_of(c, places, rest)]
            if not in_place:
                return "place not covered", candidates, concepts
            candidates = in_place + [c for c in candidates if c not in in_place]
        if candidates[0].coverage < self.min_coverage.get(lang, min(self.min_coverage.values())):
            return "low coverage", candidates, concepts
        return "", candidates, concepts

    def _ask(
        self, question: str, query_text: str, concepts: list[Concept], names: Sequence[str], hits: Sequence[Hit]
    ) -> _Ask:
        units = units_mentioned(question, self.units)
        entities = [*names, *(n for u in self.units for n in u.chinese_names)]
        entities += [n for h in hits for n in (h.chunk.short_name, h.chunk.company) if n]
        entities += [n for aliases in default_aliases().values() for n in aliases if not n.isascii()]
        periods = figure_periods(question)
        explicit = asked_periods(question)
        if _YEAR_EARLIER.search(question):
            periods += [(year - 1, kind) for year, kind in periods]
            explicit += [(year - 1, kind) for year, kind in explicit]
        # A period (2024年) says when, a change word (变化, 增长) how: neither is the quantity measured.
        measures = [
            c
            for c in measured(question, concepts, self.glossary)
            if not _PERIOD_WORD.match(c.forms[0]) and not asks_change(c.forms[0])
        ]
        return _Ask(
            periods=periods,
            places=named_places(question),
            unit=units[0] if units else None,
            entity_names=entities,
            measures=measures,
            total=bool(_TOTAL.search(question)),
            level=not asks_change(question),
            counts=_counts_asked(question),
            per_unit=_per_unit(question),
            bare_years=[year for year, kind in periods if (year, kind) not in explicit],
            context=_norm_text(f"{question} {query_text}"),
            stated=frozenset(_figure_key(f) for f in figures(question)),
        )

    def _passages(self, hits: Sequence[Hit], lang: str) -> list[Hit]:
        unique = dedupe_pairs(hits)
        if any(h.similarity is not None for h in unique):
            floor = self.threshold(lang) - AGREEMENT_MARGIN
            unique = [h for h in unique if h.similarity is None or h.similarity >= floor] or unique[:1]
        return unique[: self.candidates]

    def _candidate(
        self,
        hit: Hit,
        rank: int,
        concepts: list[Concept],
        numeric: bool,
        hits: Sequence[Hit] = (),
        ask: _Ask | None = None,
    ) -> _Candidate:
        # A long pair or opening presentation is stored in parts: the citation answers with all the parts
        # that were retrieved, in their order.
        key = hit.chunk.citation.key(with_company=True)
        parts = sorted(
            {h.chunk.id: h.chunk for h in [hit, *hits] if h.chunk.citation.key(with_company=True) == key}.values(),
            key=lambda c: c.part,
        )
        body = "\n".join(_chunk_body(c) for c in parts)
        text = "\n".join(c.text for c in parts)
        out: list[_Scored] = []
        lead = hit.chunk.question_text if hit.chunk.kind != "record" else ""
        reported = False
        unnamed = False
        if ask is not None:
            # What is measured must be in the figure's sentence where the passage names it at all.
            named = [c for c in ask.measures if concept_coverage([c], text) == 1.0]
            # A passage that never names what is measured (净利润 of "库卡净利润多少") gives other figures. An
            # English word the glossary does not render cannot be looked for in a Chinese passage.
            unnamed = not named and any(_CJK_CHAR.search(f) for c in ask.measures for f in c.forms)
            ask = replace(ask, measures=named)
            windows = [reporting_window(p) for p in ask.periods]
            reported = any(w[0] <= hit.chunk.date <= w[1] for w in windows)
        for i, sentence in enumerate(sentences(body)):
            share = concept_coverage(concepts, sentence) if concepts else 0.0
            found = figures(sentence)
            if ask is not None and ask.stated:
                found = frozenset(f for f in found if _figure_key(f) not in ask.stated)
            supports = ask is None or not found or (not unnamed and _supports(sentence, lead, ask, reported))
            # Read only where it counts: _gives_figure looks at sentences with figures.
            measure = bool(found) and ask is not None and any(_names_measure(sentence, c, ask) for c in ask.measures)
            declines = ask is not None and not found and bool(_UNQUANTIFIED.search(sentence))
            # For "how much", a figure about what is asked is the answer and a figure about something else is
            # a distraction: the first is quoted before a sentence that merely shares words with the question.
            bonus = (0.15 if (found and supports) or declines else -0.15 if found else 0.0) if numeric else 0.0
            score = share + bonus + 0.05 / (1 + i)
            out.append(_Scored(_ENUM.sub("", sentence), score, i, share, found, supports, measure, declines))
            lead += sentence
        return _Candidate(hit, rank, concept_coverage(concepts, text) if concepts else 1.0, out, body)

    def _quotes(self, cand: _Candidate, n: int) -> list[_Scored]:
        if not cand.sentences:
            return [_Scored((cand.body or _body(cand.hit))[:120], 0.0, 0, 0.0, frozenset())]
        ranked = sorted(cand.sentences, key=lambda s: -s.score)
        # Beside the best sentence, a figure about something other than what is asked only distracts.
        chosen = [ranked[0], *[s for s in ranked[1:n] if s.coverage > 0 and (s.supports or not s.figures)]]
        return sorted(chosen, key=lambda s: s.order)


def _gives_figure(cand: _Candidate, concepts: list[Concept], share: float, measures: list[Concept]) -> bool:
    """Whether a sentence of ``cand`` states a figure, holds ``share`` of the question's concepts and names
    what the question measures (the words by its "多少" / "how much"), for the period, place and subsidiary
    asked about (``_Scored.supports``)."""
    # A sentence naming what is measured ("该产品市场空间可达几十亿元") may leave the rest of the question to its
    # passage ("该产品" is the analyser the passage is about) when the passage covers the question well.
    # "难以做业绩拆分": the company saying it does not put a number on what is asked answers "how much" too.
    return any(
        (s.figures and s.supports and (s.coverage >= share or (s.measure and cand.coverage >= MEASURED_PASSAGE)))
        or (s.declines and s.coverage >= share)
        for s in cand.sentences
    )


# The company declining to put a number on something: it is not broken out, cannot be quantified or is not
# disclosed. An unpredictable outlook (难以预测) is not a figure withheld.
# "拆分后的影响" is a spin-off and "不能保证披露的数据准确" a disclaimer: neither withholds a figure.
_UNQUANTIFIED = re.compile(
    r"(?:难以|无法|不能)(?!保证)[^。，；,;]{0,8}(?:拆分|量化|估算|测算|披露)(?!后)|不(?:便|方便)[^。，；,;]{0,4}(?:透露|披露)|"
    r"(?:不|没有|未)(?:单独|对外|具体)(?:披露|统计|拆分|核算)|暂不(?:披露|透露)"
)
# A question asking for a total: a figure for a qualified part (研发人员 of 员工) does not answer it.
_TOTAL = re.compile(r"\btotal\b|\boverall\b|\baltogether\b|\bentire\b|一共|总共|合计|总数|总额|总计|全部|全体", re.I)
# A question comparing with the same period a year before asks about that period too.
_YEAR_EARLIER = re.compile(r"year earlier|a year ago|last year|prior year|previous year|去年同期|上年同期|比去年", re.I)
# A year or period term of the question (2024年度): when, not what, is measured.
_PERIOD_WORD = re.compile(r"\d{4}|[一二三四1-4]季度|上半年|下半年|前三季度|全年|年度")
# Words before the measured noun that do not narrow it (公司员工, 实现营收, 全球员工).
_NEUTRAL = frozenset(
    [
        "公司",
        "集团",
        "实现",
        "拥有",
        "全球",
        "整体",
        "全年",
        "合计",
        "累计",
        "营业",
        "共有",
        "现有",
        "在职",
        "全体",
        "总计",
        "目前",
        "当前",
    ]
)
_CJK_CHAR = re.compile(r"[\u3400-\u9fff]")


def _supports(sentence: str, lead: str, ask: _Ask, reported: bool = False) -> bool:
    """Whether the figures of ``sentence`` answer the question: the sentence names the period asked about (or
    none), every place the question narrows itself to, the quantity measured (unqualified, for a total), and
    a figure in it is bound to the subsidiary asked about (the nearest name before it, in the sentence or in
    ``lead``, the passage before the sentence, is that subsidiary's). A sentence about 本期 / 报告期 speaks of
    the period the meeting reports on, which is one asked about when ``reported``."""
    if ask.periods and not (reported and _THIS_PERIOD.search(sentence) and not names_period(sentence)):
        # A sentence naming no period speaks of the last one the passage named before it ("2024 年，A 收入…；B
        # 收入…").
        said = [sentence]
        if not names_period(sentence):
            said = [t for t in reversed(sentences(lead)) if names_period(_SINCE.sub("", t))][:1] or [sentence]
        if not states_period(said[0], ask.periods, ask.bare_years):
            return False
    if any(not any(f in sentence for f in place) for place in ask.places):
        return False
    if (ask.total or ask.level) and not _level_figures(sentence):
        return False
    if ask.counts and not any(re.search(rf"{_COUNT_NUMBER}\s*[多余]?\s*{c}", sentence) for c in ask.counts):
        return False
    if ask.per_unit and not re.search(rf"每\s*\d*\s*{ask.per_unit}|{ask.per_unit}均", sentence):
        return False
    if ask.measures and not any(_names_measure(sentence, c, ask) for c in ask.measures):
        return False
    return ask.unit is None or _bound_to_unit(sentence, lead, ask)


# "从2024年下半年起，公司主动降低渠道库存": a time something started, not the period the next figures are for.
_SINCE = re.compile(
    r"(?:从|自)\s*(?:20\d\d|今年|去年|明年|本年|上半年|下半年|年初|年中|第?[一二三四]季度)[^，。；,;]{0,10}?(?:起|以来|开始)"
)
# A figure right after one of these is a change (增长了2%，即1000人), not the level a total asks for, unless a
# level verb comes between (增长10%，达到100亿元).
_CHANGE = re.compile(r"增长|增加|减少|下降|提升|提高|降低|上升|同比|环比")  # quoted sentences are Chinese
_LEVEL = re.compile(r"达到|达|为|至|到|是|共|合计|总计|累计|实现|拥有")


def _level_figures(sentence: str) -> list[str]:
    """Figures of ``sentence`` that state a level, not a change."""
    out = []
    for fig in _FIGURE.finditer(sentence):
        # Within the figure's own clause: "人员有所增加，收入4,369.53万元" states a level.
        before = re.split(r"[，,；;：:]", sentence[max(0, fig.start() - 10) : fig.start()])[-1]
        change = list(_CHANGE.finditer(before))
        if not change or _LEVEL.search(before[change[-1].end() :]):
            out.append(fig.group(0))
    return out


_NOW = re.compile(
    r"\bnow\b|\bcurrent(?:ly)?\b|\blatest\b|\bat present\b|\btoday\b|目前|(?<![体表实])现在|当前|最新|如今|眼下", re.I
)
_THIS_PERIOD = re.compile(r"本期|报告期(?!后)")
# A number before a classifier: 3万种, 200多款, 几十家.
_COUNT_NUMBER = r"(?:\d[\d,.]*\s*[十百千万亿]*|[一二三四五六七八九十两几数上近][十百千万亿]*)"
# Classifiers of a count question, and those that count the same things (人 and 名 both count people). 个
# counts anything, so it narrows nothing.
_COUNT_ASK = re.compile(r"(?<!第)(?:多少|几)\s*([种款家项名台座位]|人(?!民币))")
_SAME_COUNT = {"人": "人名位", "名": "人名位", "位": "人名位"}


def _counts_asked(question: str) -> tuple[str, ...]:
    found = "".join(_SAME_COUNT.get(m.group(1), m.group(1)) for m in _COUNT_ASK.finditer(question))
    return tuple(dict.fromkeys(found))


_PER = [
    (re.compile(r"每\s*\d*\s*([股台人件吨])"), None),
    (re.compile(r"人均|per (?:capita|person|employee|head)", re.I), "人"),
    (re.compile(r"per[- ]share|每股", re.I), "股"),
]


def _per_unit(question: str) -> str:
    for pattern, unit in _PER:
        m = pattern.search(question)
        if m:
            return unit or m.group(1)
    return ""


def _names_measure(sentence: str, concept: Concept, ask: _Ask) -> bool:
    text = _norm_text(sentence)
    # A bare number (the 10 of 10股) is no name of what is measured.
    forms = [f for f in concept.forms if f in text and not re.fullmatch(r"[\d.,%]+", f)]
    if not forms or not ask.total:
        return bool(forms)
    for form in forms:
        for m in re.finditer(re.escape(form), text):
            before = text[max(0, m.start() - 2) : m.start()]
            longer = any(g != form and form in g and g in text[max(0, m.start() - 4) : m.end() + 4] for g in forms)
            if longer or len(before) < 2 or not _CJK_CHAR.fullmatch(before[-1]) or before[-1] in "的总全各":
                return True
            if before in _NEUTRAL or before in ask.context:
                return True
    return False


def _bound_to_unit(sentence: str, lead: str, ask: _Ask) -> bool:
    assert ask.unit is not None
    own = {n.lower() for n in ask.unit.chinese_names}
    names = sorted({n for n in ask.entity_names if n}, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(n) for n in names), re.I)
    earlier = [m.group(0) for m in pattern.finditer(lead)]
    for fig in _FIGURE.finditer(sentence):
        found = [m.group(0) for m in pattern.finditer(sentence[: fig.start()])] or earlier
        if found and found[-1].lower() in own:
            return True
    return False


def measured(question: str, concepts: Sequence[Concept], glossary: Glossary | None = None) -> list[Concept]:
    """The concepts a figure question measures: those written right before 多少/几 or after "how much"
    (English words through the glossary's renderings)."""
    spans = [_norm_text(question[max(0, m.start() - 8) : m.start()]) for m in _ZH_ASK.finditer(question)]
    for m in _EN_ASK.finditer(question):
        spans.append(_norm_text(m.group(1)))
        spans += [_norm_text(r) for r in glossary.render(m.group(1))] if glossary is not None else []
    return [c for c in concepts if c.word and any(f in span for span in spans for f in c.forms)]


def _speaks_of(cand: _Candidate, places: list[tuple[str, ...]], rest: list[Concept]) -> bool:
    """Whether a sentence of ``cand`` names each of ``places`` and, it or the question the passage answers, one
    of the other concepts asked about."""
    asked = cand.hit.chunk.question_text if cand.hit.chunk.kind != "record" else ""
    return any(
        all(any(f in s.text for f in place) for place in places)
        and (not rest or concept_coverage(rest, f"{asked}\n{s.text}") > 0)
        for s in cand.sentences
    )


def _adds_concepts(cand: _Candidate, first: _Candidate, concepts: list[Concept]) -> bool:
    """Whether ``cand`` holds a weighty concept of the question that ``first`` lacks."""
    text = first.hit.chunk.text
    missing = [c for c in concepts if concept_coverage([c], text) == 0.0]
    return any(concept_coverage([c], cand.hit.chunk.text) == 1.0 for c in missing)


def _figure_key(figure: str) -> str:
    # "25亿" in the question is the passage's "25亿元".
    return re.sub(r"\s+|元$", "", figure)


def _norm_text(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


def _names_record(question: str, record: str) -> bool:
    return bool(record) and re.search(rf"(?<![0-9A-Za-z-]){re.escape(record)}(?![0-9A-Za-z-])", question) is not None


def _flat_idf(token: str) -> float:
    # Without the lexical index every term weighs the same; "\x00" (never present) weighs more, as with idf.
    return 2.0 if token == "\x00" else 1.0


def _body(hit: Hit) -> str:
    return _chunk_body(hit.chunk)


def _chunk_body(chunk: Chunk) -> str:
    if chunk.kind == "record":
        return chunk.text
    return chunk.answer_text or chunk.text


def _join(quotes: Iterable[str]) -> str:
    # Record lines ("地点：…") end without punctuation: keep them apart.
    out = ""
    for quote in quotes:
        out += ("；" if out and not _END.search(out) else "") + quote
    return out


def _clip(sentence: str, limit: int = 220) -> str:
    return sentence if len(sentence) <= limit else sentence[: limit - 1] + "…"


__all__ = [
    "AGREEMENT_MARGIN",
    "DEFAULT_COVERAGE",
    "DEFAULT_THRESHOLDS",
    "EN_LEAD",
    "NO_ANSWER",
    "ExtractiveAnswerer",
    "figures",
    "sentences",
]
