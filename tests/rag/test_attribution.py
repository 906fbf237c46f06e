"""Post-hoc attribution of an LLM's reply (rag/attribution.py): claims cited, attributed or dropped."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from rag.attribution import Attribution, attribute
from rag.types import Citation, Hit
from tests.fakes import record_pair

Q1 = Citation(record="2024-013", question=1, company="海康威视", kind="qa", stock_code="002415")
Q3 = Citation(record="2024-013", question=3, company="海康威视", kind="qa", stock_code="002415")
Q5 = Citation(record="2024-013", question=5, company="海康威视", kind="qa", stock_code="002415")


HITS = [
    Hit(record_pair(1, "公司一季度毛利率情况如何？", "2024年第一季度公司毛利率为50.00%，同比提升1.5个百分点。"), 1.0),
    Hit(record_pair(3, "海外业务进展如何？", "海外主业收入同比增长10.00%，占比约30%。"), 0.5),
    Hit(
        record_pair(
            5,
            "公司在大模型方面有什么进展？",
            "公司于2023年发布了观澜大模型。目前已在12个行业落地应用。公司将继续加大研发投入，推动大模型在安防场景的应用。",
        ),
        0.3,
    ),
]


def key(cit: Citation) -> str:
    return cit.key()


def run(reply: str, question: str = "", lang: str = "zh", embedder=None) -> tuple[Attribution, str]:
    result = attribute(reply, HITS, lang, embedder, question=question)
    return result, result.render(key)


# -- cited claims ---------------------------------------------------------------------------------------


def test_claims_the_model_cited_are_kept_as_written():
    reply = "毛利率为50.00%[2024-013 Q1]，海外收入增长10.00% [2024-013 Q3]；两者均有提升 [2024-013 Q1][2024-013 Q3]。"
    result, text = run(reply)
    assert text == reply
    assert [c.status for c in result.claims] == ["cited", "cited", "cited"]
    assert result.citations == [Q1, Q3]
    assert result.answered and not result.attributed and not result.dropped


def test_keys_with_the_company_are_citations_too():
    result, text = run("毛利率为50.00% [海康威视 2024-013 Q1]。")
    assert text == "毛利率为50.00% [海康威视 2024-013 Q1]。"
    assert result.claims[0].status == "cited" and result.citations == [Q1]


def test_a_citation_after_the_end_mark_belongs_to_the_claim_before():
    reply = "海外主业收入同比增长10.00%。[2024-013 Q3] Overseas revenue grew 10.00%. [2024-013 Q3]"
    result, text = run(reply)
    assert text == reply
    assert [c.status for c in result.claims] == ["cited", "cited"]


def test_other_brackets_are_text():
    reply = "毛利率为50.00%，详见[年报](http://example.invalid)，[注]为合并口径 [2024-013 Q1]。"
    result, text = run(reply)
    assert text == reply and result.citations == [Q1]


# -- attribution ----------------------------------------------------------------------------------------


def test_an_uncited_reply_is_cited_with_the_right_keys():
    result, text = run("2024年第一季度公司毛利率为50.00%，同比提升1.5个百分点。海外主业收入同比增长10.00%。")
    assert text == (
        "2024年第一季度公司毛利率为50.00%，同比提升1.5个百分点[2024-013 Q1]。海外主业收入同比增长10.00%[2024-013 Q3]。"
    )
    assert [c.status for c in result.claims] == ["attributed", "attributed"]
    assert result.citations == [Q1, Q3]


def test_a_paraphrase_without_figures_is_attributed_by_its_terms():
    result, text = run("海康威视发布了观澜大模型，并在12个行业落地应用。")
    assert text == "海康威视发布了观澜大模型，并在12个行业落地应用[2024-013 Q5]。"
    assert result.claims[0].score >= 0.6


def test_a_citation_that_does_not_state_the_figures_is_replaced():
    result, text = run("海外主业收入同比增长10.00% [2024-013 Q1]。")
    assert text == "海外主业收入同比增长10.00%[2024-013 Q3]。"
    claim = result.claims[0]
    assert claim.status == "attributed" and claim.citations == (Q3,)
    assert claim.reason == "the cited passage does not state 10.00%"


def test_a_rounded_figure_is_backed_by_the_exact_one():
    _, text = run("毛利率约为50%。")
    assert text == "毛利率约为50%[2024-013 Q1]。"


def test_a_figure_without_its_qualifier_is_the_same_figure():
    _, text = run("海外主业收入占比30%。")  # the passage says 约30%
    assert text == "海外主业收入占比30%[2024-013 Q3]。"


@pytest.mark.parametrize(
    ("reply", "missing"),
    [
        ("海外收入增长25.00%。", "25.00%"),  # a figure no passage states
        ("毛利率提升1.5%。", "1.5%"),  # the value of 1.5个百分点 in another unit
        ("公司已在17国开展业务。", "17"),  # a bare number no passage gives
    ],
)
def test_a_claim_with_a_figure_no_passage_states_is_dropped(reply, missing):
    result, text = run("毛利率为50.00% [2024-013 Q1]。" + reply)
    assert text == "毛利率为50.00% [2024-013 Q1]。"
    assert [c.status for c in result.claims] == ["cited", "dropped"]
    assert result.claims[1].reason == f"no passage states {missing}"
    assert result.citations == [Q1]


def test_a_claim_beyond_its_passage_is_dropped():
    result, text = run("公司毛利率为50.00%，主要得益于海外高端产品的大规模放量。")
    assert text == ""
    claim = result.claims[0]
    assert claim.status == "dropped" and claim.reason.startswith("no passage says it (closest: [2024-013 Q1],")


def test_a_question_is_not_a_claim():
    result, text = run("毛利率为50.00% [2024-013 Q1]。公司一季度毛利率情况如何？")
    assert text == "毛利率为50.00% [2024-013 Q1]。"
    assert result.claims[1].reason == "it asks rather than states"


def test_restating_the_investors_question_is_not_enough():
    result, _ = run("海外业务进展顺利。")
    assert result.claims[0].status == "dropped"


# -- removing dropped claims ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        # a clause after a kept one takes its clause mark; the sentence keeps its end
        ("毛利率为50.00% [2024-013 Q1]，收入增长500%。", "毛利率为50.00% [2024-013 Q1]。"),
        # a whole sentence goes with its end mark
        ("收入增长500%。毛利率为50.00% [2024-013 Q1]。", "毛利率为50.00% [2024-013 Q1]。"),
        ("Revenue rose 500%. Gross margin was 50.00% [2024-013 Q1].", "Gross margin was 50.00% [2024-013 Q1]."),
        # a claim opening its sentence takes the clause mark after it
        (
            "收入增长500% [2024-013 Q1]，海外主业收入同比增长10.00% [2024-013 Q3]。",
            "海外主业收入同比增长10.00% [2024-013 Q3]。",
        ),
        # a list item goes with its marker and line
        (
            "1. 毛利率为50.00% [2024-013 Q1]\n2. 收入增长500%\n3. 海外主业收入同比增长10.00% [2024-013 Q3]",
            "1. 毛利率为50.00% [2024-013 Q1]\n3. 海外主业收入同比增长10.00% [2024-013 Q3]",
        ),
        ("- 毛利率为50.00% [2024-013 Q1]\n- 收入增长500%", "- 毛利率为50.00% [2024-013 Q1]"),
    ],
)
def test_dropped_claims_leave_clean_text(reply, expected):
    assert run(reply)[1] == expected


# -- the claim answering the question ----------------------------------------------------------------------


def test_the_answer_is_the_claim_closest_to_the_question():
    reply = "根据资料。公司毛利率为50.00% [2024-013 Q1]。海外收入增长25.00%。"
    result, _ = run(reply, question="海外业务收入增长了多少？")
    assert result.claims[result.answer].text == "海外收入增长25.00%"
    assert not result.answered  # the answer was dropped: the caller falls back
    result, _ = run(reply, question="公司毛利率是多少？")
    assert result.answered and result.claims[result.answer].status == "cited"


def test_a_lead_in_is_not_the_answer():
    reply = "公司毛利率情况如下：\n- 毛利率为50.00% [2024-013 Q1]"
    result, _ = run(reply, question="公司毛利率情况如何？")
    assert result.claims[result.answer].text == "- 毛利率为50.00%"


def test_a_reply_without_claims_answers_nothing():
    result, text = run("无")
    assert result.claims == [] and result.answer is None and not result.answered
    assert text == "无"


# -- English claims over Chinese passages ---------------------------------------------------------------


class TopicEmbedder:
    """Vectors by topic words, the same in both languages: enough to test the cosine path without a model."""

    name, dim, max_tokens = "topic", 4, 512
    TOPICS = (("毛利", "margin"), ("海外", "overseas"), ("大模型", "model"))

    def _vec(self, text: str) -> np.ndarray:
        v = np.array([float(any(w in text.lower() for w in words)) for words in self.TOPICS] + [0.3])
        return (v / np.linalg.norm(v)).astype(np.float32)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._vec(t) for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        return self._vec(text)

    def count_tokens(self, text: str) -> int:
        return len(text)


def test_english_claims_are_compared_through_the_glossary_and_the_embedder():
    reply = (
        "Overseas main business revenue grew 10.00% year on year. The gross margin was 50.00% in Q1 2024. "
        "The company plans to open a factory in Brazil."
    )
    result, text = run(reply, question="How did overseas revenue grow?", lang="en", embedder=TopicEmbedder())
    assert text == (
        "Overseas main business revenue grew 10.00% year on year [2024-013 Q3]. "
        "The gross margin was 50.00% in Q1 2024 [2024-013 Q1]."
    )
    assert result.answer == 0 and result.answered
    assert result.claims[2].status == "dropped" and result.claims[2].reason.endswith(", 0% of its terms)")


def test_the_embedder_rules_out_a_passage_on_another_topic():
    class Unrelated(TopicEmbedder):
        def embed_query(self, text: str) -> np.ndarray:
            return np.array([0, 0, 0, 1], dtype=np.float32)  # orthogonal to every passage sentence

    result, _ = run("Overseas main business revenue grew 10.00%.", lang="en", embedder=Unrelated())
    assert result.claims[0].status == "dropped"


def test_english_claims_without_an_embedder_use_the_glossary_alone():
    _, text = run("The gross margin was 50.00%. Guanlan is doing well.", lang="en")
    assert text == "The gross margin was 50.00% [2024-013 Q1]."


@pytest.mark.slow
def test_english_replies_are_attributed_to_chinese_passages(real_index):
    """With the real multilingual embedder: English summaries find their Chinese passages, and an English
    claim on a topic no passage covers finds none."""
    embedder = real_index.embedder
    reply = (
        "Hikvision's gross margin was 50.00% in the first quarter of 2024, up 1.5 percentage points. "
        "Its overseas main business revenue grew 10.00%, about 30% of the total. "
        "The company released the Guanlan large model and has applied it in 12 industries. "
        "The company also plans to open a new factory in Brazil next year."
    )
    question = "How is Hikvision's overseas business doing?"
    result = attribute(reply, HITS, "en", embedder, question=question)
    assert [c.status for c in result.claims] == ["attributed", "attributed", "attributed", "dropped"], result.claims
    assert [c.citations for c in result.claims[:3]] == [(Q1,), (Q3,), (Q5,)]
    assert result.claims[result.answer].citations == (Q3,) and result.answered
    assert result.render(key) == (
        "Hikvision's gross margin was 50.00% in the first quarter of 2024, up 1.5 percentage points [2024-013 Q1]. "
        "Its overseas main business revenue grew 10.00%, about 30% of the total [2024-013 Q3]. "
        "The company released the Guanlan large model and has applied it in 12 industries [2024-013 Q5]."
    )


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (
            "The gross margin was 50.00%. This is cited in [2024-013 Q1].",
            "The gross margin was 50.00% [2024-013 Q1].",
        ),
        ("海外主业收入同比增长10.00%。来源：[2024-013 Q3]", "海外主业收入同比增长10.00%[2024-013 Q3]。"),
    ],
)
def test_a_sentence_naming_the_source_cites_the_one_before(reply, expected):
    result, text = run(reply)
    assert text == expected
    assert [c.status for c in result.claims] == ["cited"]
