"""The Python API and the CLI over the bundled records with the real embedding model (slow)."""

from __future__ import annotations

import json
import re

import pytest

from rag.assistant import Assistant

pytestmark = pytest.mark.slow
CITATION = re.compile(r"\[[^\[\]]+\]")


@pytest.fixture(scope="module")
def assistant(real_index):
    """An assistant whose deployment added one English name by alias (as `irchat alias 002415 Hikvision` does)."""
    from rag.companies import write_alias

    path = real_index.settings.aliases_file
    write_alias(path, "002415", ["Hikvision"])
    yield Assistant(index=real_index)
    path.unlink()


def cited(answer) -> set[str]:
    return set(CITATION.findall(answer.text))


def passages(answer, with_company=True) -> set[str]:
    return {h.chunk.citation.key(with_company) for h in answer.passages}


def test_chinese_question_gets_cited_figure(assistant):
    a = assistant.ask("海天瑞声2024年上半年的境外收入同比增长了多少？")
    assert a.lang == "zh" and a.mode == "extractive" and a.reason == "answered"
    assert "50.00%" in a.text
    assert {"[海天瑞声 2024-013 Q1]", "[海天瑞声 2024-013 Q3]"} & cited(a)
    assert cited(a) <= passages(a)
    assert a.confidence is not None and a.confidence >= assistant.extractive.threshold


def test_english_question_over_chinese_records(assistant):
    a = assistant.ask("What did Hikvision say about DeepSeek and large models?")
    assert a.lang == "en" and "From the records (quoted in the original Chinese):" in a.text
    assert a.citations and all(c.company == "海康威视" for c in a.citations)
    assert cited(a) <= passages(a)


@pytest.mark.parametrize(
    ("question", "reasons"),
    [
        (
            "What is the weather in Paris tomorrow?",
            {"low_confidence", "no_passage", "ambiguous_company", "company_not_indexed"},
        ),
        ("特斯拉2023年的电池产能是多少？", {"low_confidence", "company_not_indexed", "figure_not_given"}),
        # A period that had not ended when the company's newest record was written.
        ("海康威视2026年1-6月的营业收入较上年同期变化了多少？", {"period_not_reported"}),
    ],
)
def test_unanswerable_question_abstains_and_says_why(assistant, question, reasons):
    a = assistant.ask(question)
    assert a.citations == [] and a.reason in reasons, (a.reason, a.text)
    assert a.text.startswith(("现有记录未涉及", "The indexed records do not cover", "这个问题没有指明", "The question"))


def test_an_english_name_nobody_registered_is_searched_across_companies(assistant):
    # a made-up name: in no record, no pinyin, not in the directory of listed companies' English names
    a = assistant.ask("What did Photonara say about 800G optical module shipments?")
    if a.citations:
        assert {c.company for c in a.citations} == {"新易盛"} and "Photonara" in a.notice
    else:
        assert a.reason == "company_not_indexed" and "Photonara" in a.text


def test_a_company_named_by_its_english_brand(assistant):
    a = assistant.ask("What did Eoptolink say about 800G optical module shipments?")
    # resolved through the directory of listed companies' English names: only its records are searched
    assert a.passages and {h.chunk.short_name for h in a.passages} == {"新易盛"}
    assert a.reason != "company_not_indexed" and "Eoptolink" not in a.notice


def test_a_company_named_by_its_pinyin(assistant):
    a = assistant.ask("What did Haitian Ruisheng say about its overseas revenue in H1 2024?")
    assert a.citations and {c.company for c in a.citations} == {"海天瑞声"}


def test_concurrent_questions_about_different_companies_get_their_own_answers(assistant):
    from concurrent.futures import ThreadPoolExecutor

    asks = [
        ("海天瑞声2024年上半年的毛利率是多少？", "海天瑞声"),
        ("美的集团2024年的分红方案是什么？", "美的集团"),
        ("海康威视2025年一季度的营业收入是多少？", "海康威视"),
        ("高澜股份2024年上半年的在手订单有多少？", "高澜股份"),
        ("珂玛科技上半年各项业务的收入占比是多少？", "珂玛科技"),
        ("新易盛2025年一季度800G产品出货情况如何？", "新易盛"),
        ("海天瑞声境外收入增长的原因是什么？", "海天瑞声"),
        ("美的集团怎么看美国加征关税？", "美的集团"),
    ]
    # Each asked alone first: what the answer model makes of each question is not what is tested here (it may
    # refuse one when it is unsure); that eight at once get the same answers as one at a time is.
    alone = [assistant.ask(question) for question, _ in asks]
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda qc: assistant.ask(qc[0]), asks))
    for (question, company), a, b in zip(asks, answers, alone, strict=True):
        assert a.question == question
        assert (a.reason, a.text) == (b.reason, b.text), question
        assert [c.key(True) for c in a.citations] == [c.key(True) for c in b.citations], question
        assert {c.company for c in a.citations} <= {company}, (question, [c.key(True) for c in a.citations])
    # and most are answered, so that the companies above are checked at all
    assert sum(bool(a.citations) for a in answers) >= 6, [a.reason for a in answers]


def test_follow_up_keeps_the_company(assistant):
    history = [
        {"role": "user", "content": "美的集团的分红政策是怎样的？"},
        {"role": "assistant", "content": "……[美的集团 2025-2 Q39]"},
    ]
    a = assistant.ask("那海外业务的收入增长呢？", history=history)
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
