"""The answer's text: the chosen passages' best sentences, each followed by its citation; for an English
question asking for a figure, an English lead line built only from what the quoted sentence states."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from rag.answering.features import Candidate
from rag.answering.periods import continued
from rag.answering.question import Question
from rag.answering.text import clip, figure_clauses, figures, join_quotes, sentences
from rag.asked_figure import gives
from rag.coverage import concept_coverage
from rag.figures import periods_at, without_measure_names
from rag.glossary import Glossary
from rag.intent import asks_change, names_period
from rag.types import RECORD_LABELS

EN_LEAD = "From the records (quoted in the original Chinese):"
# Chinese units of amounts and what they are in English words: the figure stays as printed beside them.
_UNITS = {"亿元": "× 100 million yuan", "万元": "× 10,000 yuan", "亿": "× 100 million", "万": "× 10,000"}
_PERIOD_WORDS = {"FY": "FY", "H1": "H1", "H2": "H2", "9M": "9M", "Q1": "Q1", "Q2": "Q2", "Q3": "Q3", "Q4": "Q4"}


@dataclass(frozen=True)
class Quote:
    """A sentence quoted from a passage, with the periods of the dated clause it continues: "公司归母净利润4.12亿元"
    after "2025年上半年，公司实现营业收入130.38亿元；" is H1 2025's, though it names no period itself."""

    text: str
    context: frozenset[str] = frozenset()


# A sentence about another period than the one asked goes after every other (its coverage of the question's topic
# is 0 to 1): the wrong year's figure is no answer, while a sentence naming no period may be the period's.
_OTHER_PERIOD = 1.0
# What the coverage of a figure's own clause adds to a figure question's sentence, beside the whole sentence's
# (0.3 to 1.0 chose alike on the sets trained on, session 31).
_CLAUSE_WEIGHT = 0.5


def quotes(question: Question, cand: Candidate, n: int) -> list[Quote]:
    """The ``n`` sentences of a passage that best cover the question, in the passage's order; for a figure
    question a sentence stating a figure of the kind asked, beside the words of the measure asked, comes before one
    that only shares words, and one of the period asked before one of another period."""
    fields = bool(question.metadata) and cand.chunk.kind == "record"
    says = record_fields(cand.body) if fields else sentences(cand.body)
    if not says:
        return [Quote(clip(cand.body.strip() or cand.chunk.text.strip(), 120))]
    concepts = list(question.topics)
    # a meeting's record fields (时间：2024年5月10日) date the meeting, not a period
    asked_periods = [] if question.metadata else question.periods
    contexts, other = continued(asked_periods, says)
    asked = question.figure_asked

    def score(k: int) -> float:
        s = says[k]
        cov = concept_coverage(concepts, s) if concepts else 0.0
        bonus = 0.0
        if question.asks_figure or asked:
            # a figure of the kind asked ("2-3年" for 多久, which figures() leaves to dates), or any figure
            bonus = 0.15 if (gives(asked, s) if asked else figures(s)) else 0.0
            # the measure asked named beside a figure, not only somewhere in the sentence: "公司所得税费用减少
            # 1,222.32万元，…对本期净利润有积极影响" names the net profit asked but states the tax's figure (a
            # figure of another period is not the measure asked's)
            if concepts and not other[k]:
                bonus += _CLAUSE_WEIGHT * max((concept_coverage(concepts, c) for c in figure_clauses(s)), default=0.0)
        label = _label(s)
        if label and any(f in label for f in question.metadata):
            bonus += 1.0  # the field asked, whatever the template calls it (上市公司接待人员姓名 for 接待人员)
        if other[k]:
            bonus -= _OTHER_PERIOD
        return cov + bonus + 0.05 / (1 + k)

    scores = [score(k) for k in range(len(says))]  # once each: a figure question's clauses make a score cost
    ranked = sorted(range(len(says)), key=scores.__getitem__, reverse=True)
    chosen = [ranked[0], *[k for k in ranked[1:n] if scores[k] > 0.05 / (1 + k) + 0.05]]
    around = [(c.weight, c.forms) for c in concepts]
    return [Quote(clip(says[k], around=around), contexts[k]) for k in sorted(chosen)]


def _label(line: str) -> str:
    """The record field label a line begins with, or ""."""
    return next((label for label in RECORD_LABELS.values() if line.startswith(label)), "")


def record_fields(text: str) -> list[str]:
    """A meeting record's fields, one a unit, a value that runs over several lines (上市公司接待人员姓名：… then
    one host a line, "董事会秘书：王五" among them) joined to its label's line."""
    out: list[str] = []
    for line in (x.strip() for x in text.split("\n")):
        if line and out and not _label(line) and _label(out[-1]):
            out[-1] += " " + line
        elif line:
            out.append(line)
    return out


def render(
    question: Question,
    picks: Sequence[Candidate],
    *,
    with_company: bool,
    per_company: bool,
    glossary: Glossary | None,
    max_sentences: int = 3,
) -> str:
    """The answer text for ``picks`` (best first)."""
    n = max_sentences if len(picks) == 1 else 2
    lines: list[str] = []
    lead = ""
    for k, cand in enumerate(picks):
        key = cand.chunk.citation.key(with_company)
        said = quotes(question, cand, n)
        text = join_quotes([q.text for q in said])
        label = f"{cand.chunk.short_name or cand.chunk.company}：" if per_company and question.lang != "en" else ""
        if question.lang == "en":
            label = f"{cand.chunk.short_name or cand.chunk.company}: " if per_company else ""
            lines.append(f"- {label}“{text}” {key}")
            if k == 0 and question.asks_figure:
                lead = english_lead(question, said, key, glossary)
        else:
            lines.append(f"{label}{text}{key}")
    if question.lang == "en":
        return "\n".join(x for x in (lead, EN_LEAD, *lines) if x)
    return "\n".join(lines)


def english_lead(question: Question, said: Sequence[Quote], key: str, glossary: Glossary | None) -> str:
    """ "Gross margin (H1 2024): 70.34% [海天瑞声 2024-013 Q2]": the measure in the question's own English words,
    the figure as a quoted sentence prints it, the period the question names; "" when no quoted sentence states a
    figure in a clause that renders a measure the question names.

    Of several figures, the one whose clause (or the clauses just before it) renders most of the question's
    measure words, nearest first; for a question about a change, a percentage right after a change word
    (增长 15.46%, given as "growth 15.46% year on year" through the glossary's own English for those words)."""
    if glossary is None:
        return ""
    spans = glossary.spans(question.text)
    change_keys = [k for _, _, k in spans if _is_change(glossary, k)]
    measures = [(s, e, k) for s, e, k in spans if k not in change_keys and not _is_period(glossary, k)]
    if not measures:
        return ""
    asked = {k for _, _, k in spans}
    # each figure's score: a measure word found counts 1 in the figure's own clause, 1/2 in the clause before, ...;
    # a mismatch (another measure in its clause, a change where a level is asked or the reverse) costs 1/2
    best: tuple[float, str, list[tuple[int, int, str]], str, list[tuple[int, str]]] | None = None
    for quote in said:
        sentence = quote.text
        for m in _FIGURE.finditer(sentence):
            value = re.sub(r"\s+", "", m.group(0))
            if not (figures(value) or value.endswith(("%", "％"))):
                continue
            # the line is labelled with the period asked: a figure its sentence gives for another period is not it
            fits = _period_fits(question.periods, periods_at(sentence, m.start()) or quote.context)
            fit = max(fits, default=0)
            if fit < 0:
                continue
            own = [p for p, f in zip(question.periods, fits, strict=True) if f > 0]
            clauses = _CLAUSE.split(re.split(r"[。；;]", sentence[: m.start()])[-1])[::-1]  # its own clause first
            found, score = [], 0.5 * fit
            for span in measures:
                near = [d for d, c in enumerate(clauses) if any(zh in c for zh in glossary.terms[span[2]])]
                if near:
                    found.append(span)
                    score += 1 / (1 + near[0])
            if not found:
                continue
            # a measure the question does not ask about, named in the figure's own clause (占比 of a share when
            # the revenue is asked): the figure is likely that measure's. The words of a report measure's long name
            # (归属于上市公司股东的净利润) name that measure, not a listing or shareholders.
            other = {
                k
                for k, renderings in _keys_in(without_measure_names(clauses[0]), glossary).items()
                if k not in asked and not renderings & _renderings(asked, glossary)
            }
            score -= 0.5 * len({frozenset(glossary.terms[k]) for k in other if not _is_change(glossary, k)})
            percent = value.endswith(("%", "％", "个百分点"))
            # "占…归母净利润的53.73%", "超过净利润的70%" give a share of the measure, not the measure: not the
            # figure of a level asked that is no share or rate (a money amount, a count)
            share_of = "占" in clauses[0] or clauses[0].rstrip().endswith("的")
            if percent and share_of and not question.asks_change:
                if "percent" not in question.figure_asked.kinds:
                    continue
                score += 0.5  # a share asked, and the clause gives one of the measure
            change = _change_before(clauses[0], glossary) if percent else ""
            if question.asks_change:
                score += 1.0 if change else -0.5
            elif change:
                score -= 0.5  # a change where the question asks for a level
            if best is None or score > best[0]:
                best = (score, value, found, change, own)
    if best is None:
        return ""
    _, value, found, change, own = best
    start, end = min(s for s, _, _ in found), max(e for _, e, _ in found)
    measure = question.text[start:end] if end - start <= 48 else max(found, key=lambda f: f[1] - f[0])[2]
    measure = measure[:1].upper() + measure[1:]
    # of several periods asked, the line names the one the figure is of, or none when its sentence does not say
    labelled = question.periods if len(question.periods) == 1 else own
    period = " ".join(f"{_PERIOD_WORDS[k]} {y}" for y, k in labelled)
    gloss = next((g for u, g in _UNITS.items() if value.endswith(u)), "")
    shown = f"{value} ({gloss})" if gloss else value
    if change:
        shown = change.format(shown)
    return f"{measure}{f' ({period})' if period else ''}: {shown} {key}"


def _period_fits(asked: Sequence[tuple[int, str]], named: frozenset[str]) -> list[int]:
    """Per period asked, 1 when the periods a sentence names for a figure (:func:`periods_at`: Y2024, H1 …) are it,
    -1 when they are another, 0 when the sentence names none or a bare year stands for a part of it (cannot tell)."""
    if not named:
        return [0] * len(asked)
    years = {n for n in named if n.startswith("Y")}
    kinds = named - years
    out = []
    for year, kind in asked:
        if years and f"Y{year}" not in years:
            out.append(-1)
        elif kinds:
            out.append(1 if kind in kinds else -1)
        else:
            out.append(1 if kind == "FY" else 0)
    return out


# a figure with its unit, or a range of two: 114.41亿元, 15.46%, 3个百分点, 37-42亿元, 327.68%-385.47%
_UNIT = r"(?:%|％|个百分点|亿元|万元|元|亿|万|倍|家|个|台|人)"
_FIGURE = re.compile(rf"\d[\d,.]*(?:\s*{_UNIT}?\s*[-~～—–至到]\s*\d[\d,.]*)?\s*{_UNIT}?")
_CLAUSE = re.compile(r"[，,：:（(）)]")
# Chinese "to" after a change word: what follows is the new level, not the change.
_TO_LEVEL = ("至", "到", "为")


def _keys_in(text: str, glossary: Glossary) -> dict[str, set[str]]:
    """Glossary keys with a Chinese rendering in ``text``, each with the renderings found."""
    out: dict[str, set[str]] = {}
    for key, renderings in glossary.terms.items():
        here = {zh for zh in renderings if zh in text}
        if here and not _is_period(glossary, key):
            out[key] = here
    return out


def _renderings(keys: set[str], glossary: Glossary) -> set[str]:
    return {zh for k in keys for zh in glossary.terms.get(k, [])}


@lru_cache(maxsize=8)
def _kinds(glossary: Glossary) -> tuple[frozenset[str], frozenset[str]]:
    """The glossary's keys for a change (grow, decline, year on year: every Chinese rendering says a change) and
    for a period (H1, first quarter), read once per glossary rather than for every figure of every answer."""
    changes = frozenset(k for k, rs in glossary.terms.items() if all(asks_change(zh) for zh in rs))
    periods = frozenset(k for k, rs in glossary.terms.items() if names_period(k) or any(names_period(zh) for zh in rs))
    return changes, periods


def _is_change(glossary: Glossary, key: str) -> bool:
    return key in _kinds(glossary)[0]


def _is_period(glossary: Glossary, key: str) -> bool:
    return key in _kinds(glossary)[1]


def _change_before(clause: str, glossary: Glossary) -> str:
    """The glossary's English for the change words just before a figure (同比增长 -> "growth", then "year on
    year" after the figure), as "growth {} year on year"; "" when the figure is not a change."""
    tail = clause[-8:]
    if tail.endswith(_TO_LEVEL):
        return ""  # 增加至 70.34%: increased to a level, which the figure is
    words: dict[str, tuple[int, str]] = {}  # Chinese change word -> (where it ends in tail, its first English key)
    for key, renderings in glossary.terms.items():
        if not _is_change(glossary, key):
            continue
        for zh in renderings:
            if zh in tail and zh not in words:
                words[zh] = (tail.rfind(zh) + len(zh), key)
    if not words:
        return ""
    ordered = sorted(words.values())
    main = ordered[-1][1]  # the word nearest the figure says what the figure is
    after = " ".join(key for _, key in ordered[:-1])
    return f"{main} {{}}" + (f" {after}" if after else "")
