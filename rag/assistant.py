"""The public entry point: ``Assistant().ask(question)`` and ``Assistant().search(query)``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from functools import cached_property
from typing import Any

from rag.answering.answerer import ExtractiveAnswerer
from rag.answering.model import AnswerModel
from rag.answering.question import analyse
from rag.index import Index
from rag.lang import detect_language
from rag.protocols import Answerer
from rag.retriever import HybridRetriever, Query
from rag.settings import Settings
from rag.types import Answer, Hit

Message = dict[str, str]


class Assistant:
    """Retrieval and cited answers over the indexed records, configured from ``Settings`` (environment)."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        index: Index | None = None,
        retriever: HybridRetriever | None = None,
        k: int = 8,
    ):
        self.settings = settings or (index.settings if index else Settings())
        self.index = index or Index(self.settings)
        self.retriever = retriever or HybridRetriever(self.index)
        self.k = k
        model = AnswerModel.load(self.settings.answer_model) if self.settings.answer_model else None
        self.extractive = ExtractiveAnswerer(
            self.index.embedder,
            model=model,
            glossary=self.retriever.glossary,
            threshold=self.settings.answer_threshold,
        )

    @cached_property
    def llm(self) -> Answerer | None:
        """The LLM answerer when ``IRCHAT_LLM_BASE_URL`` is set, else None (extractive answers)."""
        if not self.settings.llm_base_url:
            return None
        from rag.llm import LLMAnswerer

        return LLMAnswerer(self.settings, fallback=_Fallback(self), embedder=self.index.embedder)

    @property
    def mode(self) -> str:
        """``"llm"`` or ``"extractive"``."""
        return "llm" if self.llm is not None else "extractive"

    @property
    def with_company(self) -> bool:
        """Citations name the company once more than one company is indexed."""
        return len(self.retriever.companies()) > 1

    def search(self, query: str, k: int = 10, filters: dict[str, Any] | None = None) -> list[Hit]:
        """Best ``k`` passages for ``query`` (hybrid dense + BM25), best first."""
        return self.retriever.search(query, k, filters)

    def standalone(self, question: str, history: Sequence[Message] | None) -> tuple[str, dict[str, Any]]:
        """The question to retrieve with, and filters carried over from the conversation."""
        if not history:
            return question, {}
        if self.llm is not None:
            return self.llm.rewrite(question, list(history)), {}  # type: ignore[attr-defined]
        # Without an LLM a follow-up ("那海外呢？") keeps the company the conversation was about.
        directory = self.retriever.companies()
        if directory.mentioned(question):
            return question, {}
        for turn in reversed(history):
            if turn.get("role") == "user":
                named = directory.mentioned(turn.get("content", ""))
                if named:
                    return question, {"company": [c.stock_code or c.name for c in named]}
        return question, {}

    def _retrieve(
        self, question: str, history: Sequence[Message] | None, filters: dict[str, Any] | None
    ) -> tuple[list[Hit], str, Query]:
        standalone, carried = self.standalone(question, history)
        merged = {**carried, **(filters or {})}
        query = self.retriever.prepare(standalone, merged)
        if self.llm is not None and query.lang == "en":
            # The records are Chinese: the LLM's Chinese rendering joins the glossary's on both sides.
            chinese = self.llm.translate(standalone)  # type: ignore[attr-defined]
            if chinese:
                query = replace(
                    query,
                    lexical_text=f"{query.lexical_text} {chinese}",
                    dense_text=f"{query.dense_text or query.text} {chinese}",
                )
        hits = self.retriever.search_prepared(query, self.k)
        return hits, detect_language(question), query

    def ask(
        self, question: str, history: Sequence[Message] | None = None, filters: dict[str, Any] | None = None
    ) -> Answer:
        """A short answer in the question's language where every claim cites its record and question."""
        hits, lang, query = self._retrieve(question, history, filters)
        with_company = self.with_company
        if self.llm is not None:
            answer = self.llm.answer(question, hits, lang, with_company=with_company)  # type: ignore[attr-defined]
        else:
            asked = query.question or analyse(question)
            several = len(self.retriever.companies()) > 1
            answer = self.extractive.answer(asked, hits, with_company=with_company, several_companies=several)
        answer.question = question
        return answer

    def stream(
        self, question: str, history: Sequence[Message] | None = None, filters: dict[str, Any] | None = None
    ) -> Iterator[str | Answer]:
        """Text deltas as they arrive (LLM mode), then the final validated ``Answer``."""
        if self.llm is None:
            yield self.ask(question, history, filters)
            return
        hits, lang, _ = self._retrieve(question, history, filters)
        yield from self.llm.stream(question, hits, lang, with_company=self.with_company)  # type: ignore[attr-defined]


class _Fallback:
    """The extractive answer the LLM answerer falls back on, for a question it holds only as text."""

    mode = "extractive"

    def __init__(self, assistant: Assistant):
        self.assistant = assistant

    def answer(self, question: str, hits: Sequence[Hit], lang: str) -> Answer:
        asked = self.assistant.retriever.prepare(question).question or analyse(question)
        several = len(self.assistant.retriever.companies()) > 1
        return self.assistant.extractive.answer(
            asked, hits, with_company=self.assistant.with_company, several_companies=several
        )
