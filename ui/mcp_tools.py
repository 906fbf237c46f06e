"""irchat's tools for agents: ask, search, topic_history, check_draft and records.

Each is a typed function whose docstring tells an agent what it does and what every parameter means; the app
registers them as API endpoints (``/ask`` …), and ``irchat serve --mcp`` serves the same endpoints as MCP
tools through Gradio's MCP server (a tool is named after its function, described by its docstring). They call
the ``rag`` API the app and the CLI call, and return what the CLI's ``--json`` prints.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cached_property
from typing import Any

import gradio as gr

from rag.assistant import Assistant
from rag.catalog import Catalog
from rag.errors import IrchatError
from rag.rehearsal import Rehearsal
from rag.serialize import answer_to_dict, hit_to_dict, record_to_dict

MAX_K = 50


def _filters(company: str = "", record: str = "", date_from: str = "", date_to: str = "") -> dict[str, str]:
    given = {"company": company, "record": record, "date_from": date_from, "date_to": date_to}
    return {k: v.strip() for k, v in given.items() if v and v.strip()}


def _clear_errors(fn: Callable[[], Any]) -> Any:
    # gr.Error reaches an API or MCP client with its message; anything else would arrive as a bare "Error".
    try:
        return fn()
    except (IrchatError, ValueError) as e:
        raise gr.Error(str(e)) from e


class Tools:
    """The five tools over one :class:`Assistant`."""

    def __init__(self, assistant: Assistant):
        self.assistant = assistant
        self.catalog = Catalog(assistant.index, lambda: assistant.with_company)

    @cached_property
    def rehearsal(self) -> Rehearsal:
        """Topic history and draft checks over the same index."""
        return Rehearsal(self.assistant)

    def functions(self) -> list[Callable[..., Any]]:
        """The tools, in the order an agent should meet them."""
        return [self.ask, self.search, self.topic_history, self.check_draft, self.records]

    def ask(
        self,
        question: str,
        company: str = "",
        record: str = "",
        date_from: str = "",
        date_to: str = "",
        history: list[dict[str, str]] | None = None,
    ) -> dict[str, Any]:
        """Answer a question from listed Chinese companies' investor-relations records (投资者关系活动记录表).
        Every claim in the answer cites its source as [company record Qn], e.g. [海康威视 2025-4-19 Q3]; when the
        records do not cover the question the answer says so instead of guessing. Quote the citations to the user.

        Args:
            question: The question, in Chinese or English, e.g. "海康威视2025年一季度营业收入是多少？".
            company: Only this company: a name, short name, English name or six-digit stock code; "" for all.
            record: Only this record number as printed, e.g. "2024-013" (use with company); "" for all.
            date_from: Only meetings on or after this date, YYYY-MM-DD; "" for no limit.
            date_to: Only meetings on or before this date, YYYY-MM-DD; "" for no limit.
            history: Earlier turns for a follow-up question, [{"role": "user" or "assistant", "content": "..."}].

        Returns:
            A JSON object: answer (text with citations), citations (citation, company, record, question)
            passages (the retrieved passages, each with its citation and text), mode, lang, notice, reason
            ("answered" or why not), confidence, and closest (on a refusal, the passage the records come closest
            with: something to read, not a citation of a claim; null when none is on the topic)
        """
        filters = _filters(company, record, date_from, date_to)

        def run() -> dict[str, Any]:
            answer = self.assistant.ask(question, history=history or None, filters=filters)
            return answer_to_dict(answer, self.assistant.with_company)

        return _clear_errors(run)

    def search(
        self, query: str, k: int = 10, company: str = "", record: str = "", date_from: str = "", date_to: str = ""
    ) -> dict[str, Any]:
        """Search the investor-relations records for passages (Q&A pairs, opening presentations, record details),
        best first, each with its citation, date and full text. Use it to read the sources behind an answer or
        to find every time a topic came up.

        Args:
            query: What to look for, in Chinese or English, e.g. "境外收入" or "Hikvision overseas revenue".
            k: How many passages to return, 1 to 50.
            company: Only this company: a name, short name, English name or six-digit stock code; "" for all.
            record: Only this record number as printed, e.g. "2024-013" (use with company); "" for all.
            date_from: Only meetings on or after this date, YYYY-MM-DD; "" for no limit.
            date_to: Only meetings on or before this date, YYYY-MM-DD; "" for no limit.

        Returns:
            A JSON object: query, hits (citation, company, stock_code, record, question, question_text
            text, date, score)
        """
        filters = _filters(company, record, date_from, date_to)

        def run() -> dict[str, Any]:
            hits = self.assistant.search(query, max(1, min(int(k), MAX_K)), filters)
            return {"query": query, "hits": [hit_to_dict(h, self.assistant.with_company) for h in hits]}

        return _clear_errors(run)

    def topic_history(self, question: str, company: str = "", k: int = 30) -> dict[str, Any]:
        """Every past answer a company gave on the topic of a likely question, grouped by record, newest record
        first: what the IR team has said before, to prepare a consistent answer.

        Args:
            question: The likely question or topic, e.g. "境外收入增长" or "overseas revenue".
            company: Only this company: a name, short name, English name or six-digit stock code; "" for all.
            k: How many passages to consider before grouping, 1 to 50.

        Returns:
            A JSON object: question, groups (company, record, date, items with citation, question_text, text)
        """

        def run() -> dict[str, Any]:
            groups = self.rehearsal.topic_history(question, _filters(company), max(1, min(int(k), MAX_K)))
            return {"question": question, "groups": [g.to_dict() for g in groups]}

        return _clear_errors(run)

    def check_draft(self, draft: str, company: str = "") -> dict[str, Any]:
        """Check a draft answer against what the company said before, sentence by sentence: each is supported
        (with the citation backing it), figure_differs (a number differs from the one said before: both are
        given) or never_said. Rules only, no LLM.

        Args:
            draft: The draft answer, in Chinese or English.
            company: The company whose past statements to check against (name or stock code); "" for all.

        Returns:
            A JSON object: draft, counts (supported, figure_differs, never_said)
            sentences (sentence, status, citation, past_text, draft_figure, past_figure, note)
        """
        return _clear_errors(lambda: self.rehearsal.check_draft(draft, _filters(company)).to_dict())

    def records(self, company: str = "") -> list[dict[str, Any]]:
        """List the indexed investor-relations records, newest meeting first: which companies, record numbers
        and dates can be asked about.

        Args:
            company: Only this company: a name, short name, English name or six-digit stock code; "" for all.

        Returns:
            A JSON list of records: company, company_full, stock_code, record, date, date_end, activity_type
            pairs, source
        """

        def run() -> list[dict[str, Any]]:
            rows = self.catalog.records()
            if company.strip():
                found = self.assistant.retriever.companies().resolve(company)
                if found is None:
                    raise ValueError(f"no indexed company is called {company!r}; call records without a company")
                rows = [r for r in rows if (r.stock_code or r.company) == (found.stock_code or found.name)]
            return [record_to_dict(r) for r in rows]

        return _clear_errors(run)


def json_text_results(demo: gr.Blocks) -> None:
    """Have the app's MCP server send tool results as JSON text: Gradio 6.31 writes a dict as Python's repr
    (single quotes, None), which clients cannot parse. Call after ``launch(mcp_server=True)``."""
    server = getattr(demo, "mcp_server_obj", None)
    if server is None:
        return
    render = server.postprocess_output_data

    def as_json(data: Any, root_url: str) -> Any:
        # Our tools return dicts and lists only (never files), so all of them are turned into text here.
        return render([json.dumps(d, ensure_ascii=False) if isinstance(d, dict | list) else d for d in data], root_url)

    server.postprocess_output_data = as_json
