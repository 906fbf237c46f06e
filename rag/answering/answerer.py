"""The default answerer, no LLM needed: the answer model picks the passage(s) that answer the question, or says
why none does; the answer quotes their best sentences, each followed by its citation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.answering.features import Candidate, Vectors, candidates, featurize, featurize_periods
from rag.answering.model import AnswerModel, default_model
from rag.answering.question import Question
from rag.answering.rendering import render
from rag.answering.selection import Selection, select, select_each_period
from rag.answering.verdicts import closest_line, explain
from rag.glossary import Glossary
from rag.protocols import Embedder
from rag.types import Answer, Hit

# Distinct passages the model compares.
CANDIDATES = 8


@dataclass
class Judgement:
    """The passages that competed, their probabilities, and the selection made from them."""

    candidates: list[Candidate]
    probabilities: np.ndarray
    selection: Selection


class ExtractiveAnswerer:
    """Cited quotes from the passage(s) the answer model finds answering; a typed refusal otherwise."""

    mode = "extractive"

    def __init__(
        self,
        embedder: Embedder,
        *,
        model: AnswerModel | None = None,
        glossary: Glossary | None = None,
        threshold: float | None = None,
        max_sentences: int = 3,
    ):
        self.embedder = embedder
        self._model = model
        self.glossary = glossary
        self._threshold = threshold
        self.max_sentences = max_sentences

    @property
    def model(self) -> AnswerModel:
        """The answer model (the shipped one unless another was given)."""
        if self._model is None:
            self._model = default_model()
        return self._model

    @property
    def threshold(self) -> float:
        """Calibrated probability needed to answer."""
        return self.model.threshold if self._threshold is None else self._threshold

    def judge(
        self, question: Question, hits: Sequence[Hit], *, several_companies: bool = False, limit: int = CANDIDATES
    ) -> Judgement:
        """Score the best ``limit`` distinct passages of ``hits`` and select from them."""
        cands = candidates(hits, limit)
        if not cands:
            return Judgement(
                [], np.zeros(0), select(question, [], np.zeros(0), self.threshold, several_companies=False)
            )
        vectors = Vectors.of(self.embedder, question, cands)
        probs = self.model.probabilities(featurize(question, cands, vectors))
        period_probs = [self.model.probabilities(rows) for rows in featurize_periods(question, cands, vectors)]
        chosen = select_each_period(
            question, cands, probs, period_probs, self.threshold, several_companies=several_companies
        )
        return Judgement(cands, probs, chosen)

    def answer(
        self,
        question: Question,
        hits: Sequence[Hit],
        *,
        with_company: bool = False,
        several_companies: bool = False,
    ) -> Answer:
        """An answer in the question's language whose every claim cites a passage of ``hits``."""
        judged = self.judge(question, hits, several_companies=several_companies)
        chosen = judged.selection
        lang = question.lang if question.lang in ("zh", "en") else "en"
        if chosen.verdict != "answered":
            text = explain(chosen.verdict, lang, **chosen.details)
            near, p = chosen.closest or (None, None)
            if near is not None:
                text += "\n" + closest_line(near.chunk.citation.key(with_company), lang)
            return Answer(
                question.text,
                text,
                lang,
                self.mode,
                [],
                list(hits),
                reason=chosen.verdict,
                confidence=p,
                closest=near.chunk.citation if near is not None else None,
            )
        picks = [c for c, _ in chosen.picks]
        text = render(
            question,
            picks,
            with_company=with_company or chosen.per_company,
            per_company=chosen.per_company,
            glossary=self.glossary,
            max_sentences=self.max_sentences,
        )
        return Answer(
            question.text,
            text,
            lang,
            self.mode,
            [c.chunk.citation for c in picks],
            list(hits),
            notice=_notice(question, picks, lang, chosen.per_company),
            reason="answered",
            confidence=chosen.picks[0][1],
        )


def _notice(question: Question, picks: Sequence[Candidate], lang: str, per_company: bool) -> str:
    """What the user should know about where the answer came from."""
    names = list(dict.fromkeys(c.chunk.short_name or c.chunk.company for c in picks))
    if question.read_as:
        read = "; ".join(f"{w} → {name}" for w, name in question.read_as)
        if lang == "zh":
            return f"公司名按拼音、英文名或其记录中的网址域名读作：{read}。如有误，可用 irchat alias 指定。"
        return (
            f"Company names read by their pinyin, English name or the web domain their records print: {read}. If that "
            "is wrong, name the company with "
            "`irchat alias`."
        )
    if question.organisations:
        asked = "、".join(question.organisations) if lang == "zh" else ", ".join(question.organisations)
        if lang == "zh":
            return f"没有已索引的公司叫“{asked}”；以下回答来自{'、'.join(names)}的记录。"
        return f"No indexed company is called {asked!r}; this answer comes from the records of {', '.join(names)}."
    if per_company:
        if lang == "zh":
            return f"问题没有指明公司；以下回答来自{'、'.join(names)}的记录。"
        return f"The question names no company; this answer comes from the records of {', '.join(names)}."
    return ""
