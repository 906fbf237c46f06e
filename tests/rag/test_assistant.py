"""The Python API and the CLI over the bundled records with the real embedding model (slow)."""

from __future__ import annotations

import json
import re

import pytest

from rag.assistant import Assistant
from rag.extractive import NO_ANSWER

pytestmark = pytest.mark.slow
CITATION = re.compile(r"\[[^\[\]]+\]")


@pytest.fixture(scope="module")
def assistant(real_index) -> Assistant:
    return Assistant(index=real_index)


def cited(answer) -> set[str]:
    return set(CITATION.findall(answer.text))


def passages(answer, with_company=True) -> set[str]:
    return {h.chunk.citation.key(with_company) for h in answer.passages}


def test_chinese_question_gets_cited_figure(assistant):
    a = assistant.ask("海天瑞声2024年上半年境外收入增长了多少？")
    assert a.lang == "zh" and a.mode == "extractive"
    assert "50.00%" in a.text
    assert "[海天瑞声 2024-013 Q1]" in cited(a) or "[海天瑞声 2024-013 Q3]" in cited(a)
    assert cited(a) <= passages(a)


def test_english_question_over_chinese_records(assistant):
    a = assistant.ask("What did Hikvision say about DeepSeek?")
    assert a.lang == "en" and a.text.startswith("From the records")
    assert "[海康威视 2025-4-19 Q11]" in cited(a)
    assert cited(a) <= passages(a)


@pytest.mark.parametrize(
    ("question", "lang"),
    [
        ("What is the weather in Paris tomorrow?", "en"),
        ("海天瑞声现在有多少员工？", "zh"),
        # An in-domain question about a company the records never mention (it opens the question).
        ("特斯拉2024年的电池产能是多少？", "zh"),
        # A period that had not ended when the newest record was written.
        ("海康威视2025年上半年营收增长多少？", "zh"),
    ],
)
def test_unanswerable_question_abstains(assistant, question, lang):
    a = assistant.ask(question)
    assert a.text == NO_ANSWER[lang] and a.citations == [], a.text


def test_period_and_metadata_questions_cite_the_right_meeting(assistant):
    # FY2024 results were reported at the April 2025 call, not the April 2024 one (which reported FY2023).
    a = assistant.ask("海康2024年归母净利润下滑了多少？")
    assert [c.key(True) for c in a.citations] == ["[海康威视 2025-4-19 intro]"] and "15.10%" in a.text
    # Where a meeting was held is in the record's own metadata.
    a = assistant.ask("海康2024年8月的半年度业绩会在哪里开的？")
    assert [c.key(True) for c in a.citations] == ["[海康威视 2024-8-17]"] and "会议室" in a.text


def test_follow_up_keeps_the_company(assistant):
    history = [
        {"role": "user", "content": "美的集团的分红政策是怎样的？"},
        {"role": "assistant", "content": "……[美的集团 2025-2 Q39]"},
    ]
    a = assistant.ask("那海外业务呢？", history=history)
    assert a.citations and {c.company for c in a.citations} == {"美的集团"}


def test_search_returns_hits_with_citations(assistant):
    hits = assistant.search("美的 回购", k=5)
    assert len(hits) == 5
    assert "[美的集团 2025-2 Q39]" in [h.chunk.citation.key(True) for h in hits]


def test_langchain_retriever(assistant):
    from rag.langchain_retriever import IrchatRetriever

    docs = IrchatRetriever(assistant=assistant, k=3).invoke("海康威视 DeepSeek")
    assert len(docs) == 3 and docs[0].metadata["citation"].startswith("[海康威视")
    assert docs[0].page_content


def test_cli_ask_and_search_json(assistant, monkeypatch):
    from typer.testing import CliRunner

    from ui import cli

    monkeypatch.setattr(cli, "_assistant", lambda: assistant)
    runner = CliRunner()
    result = runner.invoke(cli.app, ["ask", "美的集团的分红政策？", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) >= {"question", "lang", "mode", "answer", "citations", "passages"}
    assert data["lang"] == "zh" and data["mode"] == "extractive"
    assert data["citations"] and set(data["citations"][0]) >= {"citation", "company", "record", "question"}
    assert {c["citation"] for c in data["citations"]} <= {p["citation"] for p in data["passages"]}

    result = runner.invoke(cli.app, ["search", "毛利率", "-k", "3", "--company", "688787", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["query"] == "毛利率" and len(data["hits"]) == 3
    hit = data["hits"][0]
    assert set(hit) >= {"citation", "company", "stock_code", "record", "question", "part", "score", "date", "text"}
    assert all(h["stock_code"] == "688787" for h in data["hits"])

    result = runner.invoke(cli.app, ["search", "x", "--company", "特斯拉"])
    assert result.exit_code == 2 and "no indexed company" in result.output
