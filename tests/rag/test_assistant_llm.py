"""The assistant in LLM mode: English questions are also searched with the LLM's Chinese rendering."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

pytestmark = pytest.mark.slow


@pytest.fixture
def llm_assistant(real_index, openai_stub):
    from rag.assistant import Assistant

    settings = real_index.settings.model_copy(
        update={"llm_base_url": openai_stub.base_url, "llm_api_key": SecretStr("sk-test"), "llm_timeout": 20.0}
    )
    return Assistant(settings, index=real_index)


def test_english_question_is_translated_for_retrieval(llm_assistant, openai_stub, monkeypatch):
    seen = []
    search = llm_assistant.retriever.search_prepared
    monkeypatch.setattr(llm_assistant.retriever, "search_prepared", lambda q, k: seen.append(q) or search(q, k))
    openai_stub.reply("2024年1-6月，海天瑞声的境外业务收入比去年同期增加了多少？")
    openai_stub.reply("Overseas revenue grew 50.00% year on year. [海天瑞声 2024-013 Q1]")
    answer = llm_assistant.ask("How much did Haitian's foreign sales rise in the first half of 2024?")
    translate, reply = openai_stub.chat_requests[-2:]
    assert "<<<QUESTION" in translate.message("user")
    assert "境外业务收入" in seen[0].lexical_text and "境外业务收入" in seen[0].dense_text
    assert answer.mode == "llm" and [c.key(True) for c in answer.citations] == ["[海天瑞声 2024-013 Q1]"]
    assert "2024-013" in reply.message("user")  # the passage the translation found was given to the model


def test_failed_translation_still_answers(llm_assistant, openai_stub):
    openai_stub.error(500)
    openai_stub.reply("Gross margin rose to 70.34%. [海天瑞声 2024-013 Q2]")
    answer = llm_assistant.ask("What was Haitian's gross margin in H1 2024?")
    assert answer.mode == "llm" and answer.citations


def test_chinese_question_is_not_translated(llm_assistant, openai_stub):
    openai_stub.reply("毛利率为70.34%。[海天瑞声 2024-013 Q2]")
    n = len(openai_stub.chat_requests)
    llm_assistant.ask("海天瑞声上半年毛利率是多少？")
    assert len(openai_stub.chat_requests) == n + 1


def test_uncited_english_reply_is_attributed_to_the_chinese_passage(llm_assistant, openai_stub):
    openai_stub.reply("")  # no translation: the glossary alone finds the passage
    openai_stub.reply("Haitian's overseas revenue grew 50.00% year on year in the first half of 2024.")
    answer = llm_assistant.ask("How much did Haitian's foreign sales rise in the first half of 2024?")
    assert answer.mode == "llm", answer.notice
    (cited,) = answer.citations
    passage = next(h.chunk for h in answer.passages if h.chunk.citation == cited)
    assert "50.00%" in passage.text and "境外" in passage.text  # a Chinese passage stating the figure
    assert answer.text == (
        f"Haitian's overseas revenue grew 50.00% year on year in the first half of 2024 {cited.key(True)}."
    )
    assert answer.notice == "cited 1 sentence from the passages that state them"


def test_small_model_that_cites_nothing_gets_its_passage_cited(llm_assistant, openai_stub):
    openai_stub.quote("none")  # quotes the first passage it is given, uncited
    answer = llm_assistant.ask("海天瑞声去年上半年的毛利率水平如何？")
    assert answer.mode == "llm", answer.notice
    first = answer.passages[0].chunk.citation
    assert answer.citations == [first]
    assert answer.text.endswith(first.key(True) + "。")
    user = openai_stub.last.message("user")
    assert user.index(first.key(True)) < user.index("PASSAGES>>>")  # passages in the retriever's order
