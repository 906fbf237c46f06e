"""The answer's text: the chosen passages' best sentences, each followed by its citation; for an English
question asking for a figure, an English lead line built only from what the quoted sentence states."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.answering.features import Candidate
from rag.answering.question import Question
from rag.answering.text import clip, figures, join_quotes, sentences
from rag.coverage import concept_coverage
from rag.glossary import Glossary

EN_LEAD = "From the records (quoted in the original Chinese):"
# Chinese units of amounts and what they are in English words: the figure stays as printed beside them.
_UNITS = {"亿元": "× 100 million yuan", "万元": "× 10,000 yuan", "亿": "× 100 million", "万": "× 10,000"}
_PERIOD_WORDS = {"FY": "FY", "H1": "H1", "H2": "H2", "9M": "9M", "Q1": "Q1", "Q2": "Q2", "Q3": "Q3", "Q4": "Q4"}


def quotes(question: Question, cand: Candidate, n: int) -> list[str]:
    """The ``n`` sentences of a passage that best cover the question, in the passage's order; for a figure
    question a sentence stating a figure comes before one that only shares words."""
    says = sentences(cand.body)
    if not says:
        return [clip(cand.body.strip() or cand.chunk.text.strip(), 120)]
    concepts = list(question.concepts)

    def score(k: int) -> float:
        s = says[k]
        cov = concept_coverage(concepts, s) if concepts else 0.0
        bonus = 0.15 if question.asks_figure and figures(s) else 0.0
        if question.metadata and any(s.startswith(f) for f in question.metadata):
            bonus += 1.0
        return cov + bonus + 0.05 / (1 + k)

    ranked = sorted(range(len(says)), key=score, reverse=True)
    chosen = [ranked[0], *[k for k in ranked[1:n] if score(k) > 0.05 / (1 + k) + 0.05]]
    return [clip(says[k]) for k in sorted(chosen)]


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
        text = join_quotes(said)
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


def english_lead(question: Question, said: Sequence[str], key: str, glossary: Glossary | None) -> str:
    """ "Gross margin (H1 2024): 70.34% [海天瑞声 2024-013 Q2]": the measure in the question's own English words,
    the figure as the quoted sentence prints it, the period the question names; "" when no quoted sentence
    states a figure next to a rendering of a measure the question names."""
    if glossary is None:
        return ""
    terms = glossary.matches(question.text)
    for sentence in said:
        for term in terms:
            for zh in sorted(glossary.terms[term], key=len, reverse=True):
                at = sentence.find(zh)
                if at < 0:
                    continue
                value = _figure_after(sentence, at + len(zh))
                if value:
                    period = " ".join(f"{_PERIOD_WORDS[k]} {y}" for y, k in question.periods)
                    measure = term[:1].upper() + term[1:]
                    gloss = next((g for u, g in _UNITS.items() if value.endswith(u)), "")
                    shown = f"{value} ({gloss})" if gloss else value
                    return f"{measure}{f' ({period})' if period else ''}: {shown} {key}"
    return ""


def _figure_after(sentence: str, start: int) -> str:
    """The first figure in the clause after ``start`` (within 30 characters, before the next full stop)."""
    window = re.split(r"[。；;]", sentence[start : start + 30])[0]
    found = [m for m in re.finditer(r"\d[\d,.]*\s*(?:%|％|个百分点|亿元|万元|元|亿|万|倍|家|个|台|人)?", window)]
    for m in found:
        if figures(m.group(0)) or m.group(0).strip().endswith(("%", "％")):
            return re.sub(r"\s+", "", m.group(0))
    return ""
