import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from rag import tokenize as tk
from rag.tokenize import STOPWORDS, iter_tokenize, tokenize, tokenize_many

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("text", "whole", "bare"),
    [
        ("收入增长50.00%至4,369.53万元。", "4369.53万元", "4369.53"),
        ("整体毛利率增加至70.34%。", "70.34%", "70.34"),
        ("token使用量达到了14.8T，远超GPT4", "14.8t", "14.8"),
        ("境外业务收入同比增长50.00%", "50.00%", "50.00"),
        ("2024年上半年", "2024年", "2024"),
        ("募集资金3亿元", "3亿元", "3"),
        ("境外毛利率提升约3个百分点", "3个百分点", "3"),
        ("营收 56.93 亿元，同比下降", "56.93亿元", "56.93"),  # PDF text puts a space before the unit
        ("营业总收入 4,091亿元", "4091亿元", "4091"),
        ("美的机器人使用密度已达到640 台/万人", "640台", "640"),
        ("可通过 4cm 门槛", "4cm", "4"),
    ],
)
def test_number_keeps_its_unit_and_also_stands_alone(text, whole, bare):
    tokens = tokenize(text)
    assert whole in tokens
    assert bare in tokens


def test_thousands_comma_is_dropped_and_never_splits_the_number():
    tokens = tokenize("境外业务收入4,369.53万元")
    assert "4369.53万元" in tokens
    assert not any("," in t for t in tokens)
    assert "369.53" not in tokens and "4" not in tokens


def test_trailing_decimal_zeros_also_give_the_short_form():
    tokens = tokenize("同比增长50.00%")
    assert {"50.00%", "50%", "50.00", "50"} <= set(tokens)
    assert set(tokenize("增长50%")) <= set(tokens)


def test_chinese_comma_between_numbers_is_a_clause_break_not_a_thousands_separator():
    tokens = tokenize("重点城市5，100家门店")
    assert "5" in tokens and "100家" in tokens
    assert "5100家" not in tokens


def test_full_width_digits_fold_to_ascii_and_keep_their_grouping():
    assert "12345.6万元" in tokenize("１２，３４５．６万元")
    assert "70.34%" in tokenize("７０．３４％")


def test_percentage_point_unit_is_a_token_on_its_own_too():
    assert "个百分点" in tokenize("提升约3个百分点")
    assert "百分点" in tokenize("提高了几个百分点")


def test_english_is_lower_cased_without_stemming():
    tokens = tokenize("ToB and ToC, DTC; GPT4 World’s models")
    assert {"tob", "toc", "dtc", "gpt4", "world", "models"} <= set(tokens)
    assert "model" not in tokens  # no stemming
    assert "and" not in tokens  # English stopword
    assert all(t == t.lower() for t in tokens)


def test_market_letters_stay_with_their_character():
    assert {"a股", "c端"} <= set(tokenize("A股上市，C端用户"))


def test_chinese_is_segmented_and_finance_words_are_findable():
    tokens = tokenize("共同驱动公司整体毛利率增加至70.34%")
    assert {"毛利率", "毛利", "公司", "驱动"} <= set(tokens)
    assert "归母净利润" in tokenize("实现归属于母公司的净利润，即归母净利润")
    assert "同比" in tokenize("收入同比增长")


def test_character_pairs_skip_function_characters():
    tokens = tokenize("毛利的增长")
    assert "毛利" in tokens and "增长" in tokens
    assert "利的" not in tokens and "的增" not in tokens


def test_stopwords_and_question_words_go_but_finance_words_stay():
    tokens = tokenize("请问公司的收入增长是什么原因？")
    assert "的" not in tokens and "什么" not in tokens and "请问" not in tokens
    assert {"公司", "收入", "增长", "原因"} <= set(tokens)
    assert not {"公司", "收入", "增长", "毛利率", "同比"} & STOPWORDS


def test_punctuation_alone_gives_nothing():
    assert tokenize("，。！？、（）《》“”…—；：") == []
    assert tokenize("") == []
    assert tokenize("的了是") == []


def test_query_tokens_are_a_subset_of_the_passage_tokens():
    passage = tokenize("共同驱动公司整体毛利率增加至70.34%。境外业务收入较上年同期显著增长50.00%至4,369.53万元。")
    for query in ("70.34", "70.34%", "4369.53万元", "4,369.53", "毛利率", "50%"):
        assert set(tokenize(query)) <= set(passage), query


def test_batch_versions_match_one_by_one():
    texts = ["毛利率增加至70.34%", "", "ToB 业务", "2024年上半年"]
    expected = [tokenize(t) for t in texts]
    assert tokenize_many(texts) == expected
    assert list(iter_tokenize(iter(texts))) == expected


def test_worker_processes_give_the_same_tokens_in_order():
    texts = [f"第{i}段：毛利率增加至{i}.5%，收入{i},000万元" for i in range(40)]
    assert list(iter_tokenize(texts, workers=2, batch_size=4)) == [tokenize(t) for t in texts]


def test_jieba_cache_is_private_and_nothing_is_fetched_or_printed(tmp_path):
    # A fresh process with an empty temp folder and no network: jieba must build its dictionary from
    # the wheel, write its cache under that temp folder, and say nothing on stderr.
    code = (
        "import socket\n"
        "def no_net(*a, **k): raise OSError('network used')\n"
        "socket.socket.connect = no_net\n"
        "socket.create_connection = no_net\n"
        "from rag.tokenize import tokenize\n"
        "print('|'.join(tokenize('整体毛利率增加至70.34%')))\n"
    )
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "毛利率" in proc.stdout.split("|")
    assert proc.stderr == ""
    shards = list(tmp_path.glob("irchat-jieba-*/irchat-jieba-*-shards*.bin"))
    assert len(shards) == 1
    mode = shards[0].parent.stat().st_mode
    assert not mode & (stat.S_IWGRP | stat.S_IWOTH)


# Made-up sentences: known and unknown words, figures, English, a name jieba does not know, the extra finance words.
_SENTENCES = [
    "星河电子2025年第一季度归母净利润同比增长18.6%，扣非净利润增长12%，毛利额创新高。",
    "公司境外收入占比提升至四成，主要来自东南亚和中东市场的储能订单。",
    "关于价格竞争，管理层表示将通过产品结构优化和降本增效维持净利率稳定。",
    "The company expects its overseas revenue to grow 20% in FY2025 as new plants ramp up.",
    "研发投入3.2亿元，研发人员超过1,200人，重点布局固态电池、碳化硅功率器件与工业软件。",
    "请问贵司在长江以南的渠道建设进展如何？环比是否有改善？",
    "嗯嗯哈哈，这个问题我们暂不方便回答，谢谢关注！",
]


def test_sharded_dictionary_cuts_as_the_whole_one(tmp_path, monkeypatch):
    import jieba

    monkeypatch.setattr(tk.tempfile, "gettempdir", lambda: str(tmp_path))
    full = jieba.Tokenizer()
    full.tmp_dir, full.cache_file = str(tmp_path), "full.cache"
    for word in tk._EXTRA_WORDS:
        full.add_word(word)
    sharded = tk.Segmenter(tk.write_shards(tmp_path / "shards.bin"))
    # backwards, so that shards load in another order than the sentences' own
    for text in reversed(_SENTENCES):
        assert sharded.cut_for_search(text) == full.lcut_for_search(text), text
        assert sharded.cut(text, hmm=False) == full.lcut(text, HMM=False), text
        assert sharded.cut(text) == full.lcut(text), text
    for word in ("毛利", "浪潮", "归母净利润", "星河", "不存在的词"):
        assert sharded.frequency(word) == int(full.FREQ.get(word) or 0), word
    assert sharded.frequency("毛利") > 0 and sharded.frequency("不存在的词") == 0


def test_damaged_shards_are_built_again(tmp_path, monkeypatch):
    import jieba

    monkeypatch.setattr(tk.tempfile, "gettempdir", lambda: str(tmp_path))
    monkeypatch.setattr(tk, "_segmenter_instance", None)
    folder = tk._cache_dir()
    path = folder / f"irchat-jieba-{jieba.__version__}-shards{tk.SHARDS_FORMAT}.bin"
    path.write_bytes(b"\x05\x00\x00\x00\x00\x00\x00\x00garbage")
    assert "毛利率" in tk._segmenter().cut_for_search("整体毛利率增加")
    assert path.stat().st_size > 1_000_000
    # cut short inside a shard: found when opened (and built again), not when a question reaches that shard
    whole = path.stat().st_size
    path.write_bytes(path.read_bytes()[:-100])
    monkeypatch.setattr(tk, "_segmenter_instance", None)
    assert "毛利率" in tk._segmenter().cut_for_search("整体毛利率增加")
    assert path.stat().st_size == whole
    monkeypatch.setattr(tk, "_segmenter_instance", None)  # the next test builds its own


def test_cache_folder_owned_by_someone_else_is_not_used(tmp_path, monkeypatch):
    monkeypatch.setattr(tk.tempfile, "gettempdir", lambda: str(tmp_path))
    planted = tmp_path / f"irchat-jieba-{os.getuid()}"
    planted.mkdir()
    planted.chmod(0o777)  # group/world-writable: someone could have left a cache file there
    assert tk._cache_dir() != planted
