"""Scoring the draft check: which citations of a changed figure count as right."""

from __future__ import annotations

from types import SimpleNamespace

from evals.drafts import Draft, check, summarise
from rag.figures import extract_figures
from rag.rehearsal import SentenceCheck


def _checked(status: str, citation: str | None, past: str | None) -> SimpleNamespace:
    figure = extract_figures(past)[0] if past else None
    sentence = SentenceCheck("s", status, citation, past_figure=figure) if citation else SentenceCheck("s", status)
    return SimpleNamespace(sentences=[sentence])


class _Rehearsal:
    """Answers each draft with a prepared check; knows one company."""

    def __init__(self, answers: dict[str, SimpleNamespace]):
        self.answers = answers
        company = SimpleNamespace(short_name="示例科技", name="示例科技股份有限公司", stock_code="900001")
        self.retriever = SimpleNamespace(companies=lambda: SimpleNamespace(companies=[company]))

    def check_draft(self, draft: str, filters: dict) -> SimpleNamespace:
        return self.answers[draft]


def test_a_changed_figure_cited_from_another_meeting_stating_the_same_past_figure_is_rightly_cited():
    drafts = [
        Draft("a", "900001", "zh", "gold passage", "figure_differs", "900001 2025-001 Q2", "11.1亿元"),
        Draft("b", "900001", "zh", "restated", "figure_differs", "900001 2025-001 Q2", "11.1亿元"),
        Draft("c", "900001", "zh", "other figure", "figure_differs", "900001 2025-001 Q2", "11.1亿元"),
        Draft("d", "900001", "zh", "missed", "figure_differs", "900001 2025-001 Q2", "11.1亿元"),
        Draft("e", "900001", "zh", "fine", "supported", "900001 2025-001 Q3"),
    ]
    rehearsal = _Rehearsal(
        {
            "gold passage": _checked("figure_differs", "[示例科技 2025-001 Q2]", "11.1亿元"),
            "restated": _checked("figure_differs", "[示例科技 2025-002 Q5]", "111,000万元"),
            "other figure": _checked("figure_differs", "[示例科技 2025-002 Q6]", "11.39亿元"),
            "missed": _checked("never_said", None, None),
            "fine": _checked("supported", "[示例科技 2025-001 Q3]", None),
        }
    )
    result = check(rehearsal, drafts)
    rows = {r["id"]: r for r in result["rows"]}
    assert [rows[k]["right_citation"] for k in "abcd"] == [True, True, False, False]
    assert [rows[k]["gold_passage"] for k in "abcd"] == [True, False, False, False]
    assert result["changed_flagged_with_citation"] == 0.5
    assert result["changed_flagged_with_gold_passage"] == 0.25
    assert result["right_by_label"] == {"figure_differs": (3, 4), "supported": (1, 1)}
    assert summarise(result["rows"])["accuracy"] == 0.8
