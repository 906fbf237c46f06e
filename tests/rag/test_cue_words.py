"""The cue words (rag/data/cue_words.json): each list reads as one pattern, says where it comes from, and means
what its name says on sentences of our own."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from rag.cue_words import cue, named_change

TABLE = json.loads((resources.files("rag") / "data" / "cue_words.json").read_text(encoding="utf-8"))
LISTS = [k for k in TABLE if not k.startswith("_") and k != "named_change"]


def test_the_file_says_where_its_words_come_from_and_every_list_is_described():
    comment = TABLE["_comment"]
    assert "no company's" in comment
    assert all(name in comment for name in [*LISTS, "named_change"])


@pytest.mark.parametrize("name", LISTS)
def test_each_list_is_one_pattern_of_its_words(name: str):
    words = TABLE[name]
    assert words and len(set(words)) == len(words)
    assert cue(name).pattern == "|".join(words)


@pytest.mark.parametrize(
    ("name", "said", "not_said"),
    [
        ("forward", "明年的收入目标是多少", "去年收入是多少"),
        ("forward", "What is the outlook for next year?", "What was revenue last year?"),
        ("forward", "What capacity does Acme plan for 2026?", "How large is Goalport's new plant?"),
        ("forward", "Where will margins go?", "Is there a goodwill write-down risk?"),
        ("now", "What is the current backlog?", "What was the backlog in 2021?"),
        ("now", "目前产能利用率如何？", "这一点体现在毛利率上吗？"),
        ("figure_up", "Revenue rose ", "Acme Group revenue was "),
        ("figure_down", "Margins dropped ", "Enterprise sales were "),
        ("claim_up", "海外订单有所增长", "海外订单基本持平"),
        ("claim_down", "Margins fell in the quarter", "Margins held in the quarter"),
        ("claim_down", "毛利率有所恶化", "毛利率基本稳定"),
        ("figure_up", "营收增速", "营收规模"),
        ("negation", "新产线尚未投产", "新产线已投产"),
        ("negation", "We have not started", "We have started"),
        ("done", "新基地已投产", "新基地已知的问题"),
        ("planned", "新基地预计明年投产", "新基地模拟运行"),
    ],
)
def test_each_list_finds_what_it_names_and_not_the_near_miss(name: str, said: str, not_said: str):
    assert cue(name).search(said)
    assert not cue(name).search(not_said)


def test_a_change_word_naming_a_project_is_found_only_before_the_project():
    assert named_change().search("产能提升项目计划投资8.8亿元")
    assert not named_change().search("产能提升了20%")
