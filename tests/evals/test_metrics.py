"""Metric functions on hand-computed cases."""

import math

import pytest

from evals.gold import load_gold
from evals.metrics import (
    citation_precision,
    citation_recall,
    fact_coverage,
    hit_at_k,
    mean,
    mrr_at_k,
    ndcg_at_k,
    recall_at_k,
)
from evals.run import aligned

RANKED = ["a", "b", "c", "d"]


def test_recall_hit_mrr():
    assert recall_at_k(RANKED, {"b", "z"}, 1) == 0.0
    assert recall_at_k(RANKED, {"b", "z"}, 2) == 0.5
    assert recall_at_k(RANKED, {"b", "d"}, 4) == 1.0
    assert recall_at_k(RANKED, set(), 4) == 0.0
    assert hit_at_k(RANKED, {"c", "z"}, 2) == 0.0 and hit_at_k(RANKED, {"c", "z"}, 3) == 1.0
    assert mrr_at_k(RANKED, {"c"}, 10) == pytest.approx(1 / 3)
    assert mrr_at_k(RANKED, {"d"}, 3) == 0.0


def test_ndcg_binary():
    # relevant at ranks 2 and 4 of 2 relevant: (1/log2(3) + 1/log2(5)) / (1 + 1/log2(3))
    expected = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert ndcg_at_k(RANKED, {"b", "d"}, 10) == pytest.approx(expected)
    assert ndcg_at_k(RANKED, {"a"}, 10) == 1.0
    assert ndcg_at_k(RANKED, {"z"}, 10) == 0.0


def test_answer_metrics():
    assert citation_precision(["x", "y", "x"], {"x"}) == pytest.approx(2 / 3)
    assert citation_precision([], {"x"}) is None
    assert citation_recall(["x"], {"x", "y"}) == 0.5 and citation_recall(["x"], set()) is None
    assert fact_coverage("毛利率增加至 70.34%，收入4,369.53万元", ["70.34%", "4,369.53 万元", "50%"]) == pytest.approx(
        2 / 3
    )
    assert fact_coverage("anything", []) is None
    assert mean([1.0, None, 0.0]) == 0.5 and mean([None]) is None


def test_citation_keys_and_gold_file():
    assert aligned(["002415 2024-8-17 Q3", "688787 2024-013"], ["002415 2024-8-17 Q1"]) == [
        "002415 2024-8-17 Q3",
        "688787 2024-013",
    ]
    # a hand-made set over one company may leave the stock code out
    assert aligned(["002415 2024-8-17 Q3", "688787 2024-013"], ["2024-013 Q1"]) == ["2024-8-17 Q3", "2024-013"]
    gold = load_gold()
    assert len(gold) >= 150 and {q.lang for q in gold} == {"zh", "en"}
    assert sum(not q.answerable for q in gold) >= 10
