"""The passages' token budget in LLM prompts (rag/budget.py), and the prompt it gives (rag/llm.py)."""

from __future__ import annotations

from pathlib import Path

from rag.budget import ELLIPSIS, fit_passages
from rag.llm import LLMAnswerer
from rag.settings import Settings
from rag.tokens import count_tokens
from rag.types import Hit
from tests.fakes import record_pair

FILLER = "公司持续推进数字化转型，提升运营效率，优化组织结构，加强人才队伍建设，推动业务高质量发展。"


def hit(q: int, answer: str, question: str = "公司经营情况如何？") -> Hit:
    company = {"code": "000333", "short": "美的集团", "company": "美的集团股份有限公司"}
    return Hit(record_pair(q, question, answer, record="2025-2", date="2025-04-11", **company), 1.0 / q)


def render(i: int, h: Hit, body: str) -> str:
    return f"passage {i} | citation key: {h.chunk.citation.key()}\nquestion: {h.chunk.question_text}\nanswer: {body}"


def rendered_tokens(excerpts) -> int:
    return sum(count_tokens(render(i, e.hit, e.text)) for i, e in enumerate(excerpts, 1))


DIVIDEND = FILLER * 8 + "公司保障持续稳定的分红政策，上市以来累计派现金额超过1,340亿元。" + FILLER * 8
HITS = [hit(1, DIVIDEND, "公司分红政策？")] + [hit(q, FILLER * 6) for q in range(2, 9)]


def test_passages_that_fit_go_whole():
    short = [hit(1, "分红比例不低于50%。"), hit(2, "回购金额超过100亿元。")]
    excerpts = fit_passages("分红政策？", short, 1000, render)
    assert [e.text for e in excerpts] == ["分红比例不低于50%。", "回购金额超过100亿元。"]
    assert not any(e.cut for e in excerpts)
    assert [e.text for e in fit_passages("分红政策？", HITS, 0, render)] == [h.chunk.answer_text for h in HITS]


def test_long_answers_are_cut_to_their_best_sentences_within_the_budget():
    excerpts = fit_passages("美的集团的分红政策是什么？", HITS, 1000, render)
    assert rendered_tokens(excerpts) <= 1000
    assert [e.hit for e in excerpts] == HITS[: len(excerpts)]  # ranked order kept
    first = excerpts[0]
    assert first.cut and "累计派现金额超过1,340亿元" in first.text  # the sentence on the question survives
    assert first.text.startswith(ELLIPSIS) and first.text.endswith(ELLIPSIS)  # where sentences were left out
    # higher-ranked passages get more of the budget
    sizes = [count_tokens(e.text) for e in excerpts]
    assert sizes[0] >= sizes[1] >= sizes[-1]


def test_passages_are_cut_before_any_is_left_out():
    excerpts = fit_passages("分红政策", HITS, 1000, render)
    assert len(excerpts) >= 5
    assert all(FILLER in e.text for e in excerpts[1:])  # every passage sent keeps at least a whole sentence
    # a budget too small for everyone leaves out the lowest-ranked passages, not the best one
    few = fit_passages("分红政策", HITS, 250, render)
    assert [e.hit for e in few] == HITS[: len(few)] and 1 <= len(few) < len(excerpts)
    assert rendered_tokens(few) <= 250


def test_a_sentence_longer_than_its_share_is_clipped():
    long_sentence = "公司" + "持续推进数字化转型并提升运营效率" * 40 + "。"
    excerpts = fit_passages("分红", [hit(1, long_sentence)] * 2, 200, render)
    assert all(e.cut and e.text.endswith(ELLIPSIS) for e in excerpts)
    assert rendered_tokens(excerpts) <= 200


def test_the_default_budget_keeps_a_prompt_under_1500_tokens(tmp_path: Path):
    settings = Settings(llm_base_url="http://127.0.0.1:9/v1", data_dir=tmp_path)
    answerer = LLMAnswerer(settings, fallback=None)  # type: ignore[arg-type]  # no call is made
    messages = answerer.messages("美的集团的分红政策是什么？", HITS, "zh")
    total = sum(count_tokens(str(m.content)) for m in messages)
    assert total <= 1500
    user = str(messages[1].content)
    assert "累计派现金额超过1,340亿元" in user and ELLIPSIS in user
    whole = LLMAnswerer(settings.replace(llm_passage_tokens=0), fallback=None)  # type: ignore[arg-type]
    assert sum(count_tokens(str(m.content)) for m in whole.messages("分红？", HITS, "zh")) > 2000
