"""Which passages to answer from, or why none: the model's probabilities, the question's periods and companies."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from rag.answering.features import Candidate
from rag.answering.periods import figures_for
from rag.answering.question import Question
from rag.answering.text import figures, sentences
from rag.answering.verdicts import Verdict
from rag.asked_figure import gives
from rag.intent import period_end, reporting_window

# Companies a question naming none is answered for, each labelled, before it asks which one is meant.
MAX_COMPANIES = 3
# A second passage joins the first for another period or company asked about when it is at least this close.
SECOND = 0.8
# A passage the model gives at least this share of its answering threshold is on the question's topic: a topic's
# history in rehearsal lists every such passage, and a refusal points to the likeliest one as the closest the
# records come (never cited). Below it the probabilities are the model's low-end noise (0.1-0.3 for a question no
# record is about).
ON_TOPIC = 0.5
# Refusals after which the records may still come near the question (not those naming an unknown company or a
# period not yet reported, nor a question naming no company that several answer).
POINTING: frozenset[Verdict] = frozenset({"low_confidence", "figure_not_given", "period_not_found"})


@dataclass
class Selection:
    """The verdict and the passages to quote, best first, with the probability each answers the question."""

    verdict: Verdict
    picks: list[tuple[Candidate, float]] = field(default_factory=list)
    per_company: bool = False
    """The question names no company and the picks are labelled by company."""
    details: dict[str, str] = field(default_factory=dict)
    closest: tuple[Candidate, float] | None = None
    """On a refusal of :data:`POINTING`, the likeliest passage on the topic (:data:`ON_TOPIC`), if any, with its
    probability: for the user to read, not a claim the answer makes."""


def select(
    question: Question,
    cands: Sequence[Candidate],
    probs: np.ndarray,
    threshold: float,
    *,
    several_companies: bool,
) -> Selection:
    """Decide from the calibrated probabilities (one per candidate) and ``threshold``; ``several_companies`` says
    whether the index holds more than one company."""
    if not cands:
        return Selection("no_passage")
    # A period that had not ended by the newest meeting retrieved is not discussed in the records found: retrieval
    # favours the meetings reporting on the period asked. Whether the records could have reported it at all is the
    # company's newest indexed meeting's to say.
    found = max(c.chunk.date_end or c.chunk.date for c in cands)
    unreported = [] if question.forward or not found else [p for p in question.dated if period_end(p) > found]
    if unreported:
        year, kind = unreported[0]
        latest = max([found, *(c.latest for c in question.companies)])
        if period_end(unreported[0]) > latest:
            return Selection("period_not_reported", details={"period": f"{year} {kind}", "latest": latest})
        return Selection("period_not_found", details={"period": f"{year} {kind}", "latest": found})
    order = _likeliest_first(cands, probs)
    if question.figure_asked.unit:
        # a question asking in a unit by name (多少台, 多少瓦, how many GWh) is not answered by a passage stating no
        # figure in it, however close its topic: the model weighs that among other things, this is a fact
        order = [i for i in order if gives(question.figure_asked, cands[i].body)]
        if not order:
            return Selection("figure_not_given")
    if question.asks_figure and question.periods and not question.forward:
        # a figure asked for a period is not given by a passage whose figures are all another period's: the
        # model weighs that among other things (states_period), this is a fact
        stating = figures_for(question.periods, sentences(cands[order[0]].body))
        if stating and not any(stating):
            return Selection("figure_not_given")
    best = order[0]
    if probs[best] < threshold:
        return _refusal(question, cands)
    picks = [(cands[best], float(probs[best]))]
    # A question naming no company is answered for each company that answers it; one naming a company the index
    # does not know (an English name) is answered from the likeliest passage, and the notice says whose it is.
    if not question.companies and not question.organisations and several_companies:
        per = _per_company(cands, probs, order, threshold)
        if len(per) > MAX_COMPANIES:
            names = "、".join(c.chunk.short_name or c.chunk.company for c, _ in per)
            return Selection("ambiguous_company", details={"companies": names})
        return Selection("answered", per, per_company=True)
    picks += _second(question, cands, probs, order, threshold, picks[0][0])
    return Selection("answered", picks)


def select_each_period(
    question: Question,
    cands: Sequence[Candidate],
    probs: np.ndarray,
    period_probs: Sequence[np.ndarray],
    threshold: float,
    *,
    several_companies: bool,
) -> Selection:
    """:func:`select`, and for a question asking for several periods each period asked on its own
    (:attr:`Question.per_period`, ``period_probs`` the probabilities for each): a passage that answers one of them
    joins the answer, and answers it when no passage answers them all. A refusal points to the closest passage
    (:attr:`Selection.closest`)."""
    chosen = select(question, cands, probs, threshold, several_companies=several_companies)
    if chosen.verdict in ("low_confidence", "answered") and not chosen.per_company and period_probs:
        picks = {c.chunk.citation.passage: (c, p) for c, p in chosen.picks}
        for sub, sub_probs in zip(question.per_period, period_probs, strict=True):
            part = select(sub, cands, sub_probs, threshold, several_companies=several_companies)
            if part.verdict == "answered" and not part.per_company:
                first, p = part.picks[0]
                picks.setdefault(first.chunk.citation.passage, (first, p))
        if picks:
            chosen = Selection("answered", list(picks.values()))
    if chosen.verdict in POINTING:
        chosen.closest = closest(cands, probs, threshold)
    return chosen


def closest(cands: Sequence[Candidate], probs: np.ndarray, threshold: float) -> tuple[Candidate, float] | None:
    """The likeliest candidate if the model finds it on the question's topic (:data:`ON_TOPIC`), else None."""
    if not len(cands):
        return None
    best = _likeliest_first(cands, probs)[0]
    return (cands[best], float(probs[best])) if probs[best] >= ON_TOPIC * threshold else None


def _likeliest_first(cands: Sequence[Candidate], probs: np.ndarray) -> list[int]:
    """Candidates' indices by probability, the better retrieval rank first among equals."""
    return sorted(range(len(cands)), key=lambda i: (-probs[i], cands[i].rank))


def _refusal(question: Question, cands: Sequence[Candidate]) -> Selection:
    # Only when no company was named and resolved: beside one ("Goaland's stake in Dongguan Guixiang") the other
    # name is a subsidiary, a customer or a place, and the company asked about is indexed.
    if question.unknown_org and not question.companies and not any(question.unknown_org in c.text for c in cands):
        return Selection("company_not_indexed", details={"name": question.unknown_org})
    asked = question.figure_asked
    if asked and not any(gives(asked, c.body) for c in cands[:3]):
        return Selection("figure_not_given")
    if question.asks_figure and not asked and not any(figures(c.body) for c in cands[:3]):
        return Selection("figure_not_given")
    return Selection("low_confidence")


def _per_company(
    cands: Sequence[Candidate], probs: np.ndarray, order: list[int], threshold: float
) -> list[tuple[Candidate, float]]:
    """The best passage of each company over the threshold, best first."""
    seen: dict[str, tuple[Candidate, float]] = {}
    for i in order:
        if probs[i] < threshold:
            break
        company = cands[i].chunk.stock_code or cands[i].chunk.company
        seen.setdefault(company, (cands[i], float(probs[i])))
    return list(seen.values())


def _second(
    question: Question,
    cands: Sequence[Candidate],
    probs: np.ndarray,
    order: list[int],
    threshold: float,
    first: Candidate,
) -> list[tuple[Candidate, float]]:
    """A passage for another period or another company the question asks about, when one is nearly as likely."""
    floor = max(threshold, SECOND * probs[order[0]])
    windows = [reporting_window(p) for p in question.periods]
    named = {c.stock_code or c.name for c in question.companies}
    first_company = first.chunk.stock_code or first.chunk.company
    first_windows = {k for k, w in enumerate(windows) if w[0] <= first.chunk.date <= w[1]}
    for i in order[1:]:
        c, p = cands[i], float(probs[i])
        if p < floor:
            break
        company = c.chunk.stock_code or c.chunk.company
        other_company = len(named) > 1 and company in named and company != first_company
        other_period = len(windows) > 1 and any(
            w[0] <= c.chunk.date <= w[1] for k, w in enumerate(windows) if k not in first_windows
        )
        if other_company or other_period:
            return [(c, p)]
    return []
