"""Company names: from the records, the pinyin of short names, and the user's alias file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.companies import CompanyDirectory, pinyin_names, read_aliases, write_alias
from rag.errors import ConfigError
from rag.types import Chunk


def _record(code: str, name: str, short: str) -> Chunk:
    return Chunk(f"{code}:r:meta", "record", "", company=name, record="r", short_name=short, stock_code=code)


def test_pinyin_spellings_of_a_short_name():
    assert "Haitian" in pinyin_names("海天瑞声") and "Haitianruisheng" in pinyin_names("海天瑞声")
    assert "Haitian ruisheng" in pinyin_names("海天瑞声")
    assert pinyin_names("通富微电")[:1] == ["Tongfuweidian"] and "Tongfu" in pinyin_names("通富微电")
    assert pinyin_names("X") == [] and pinyin_names("ABC") == []


def test_directory_finds_a_company_by_its_pinyin_but_not_an_ambiguous_one():
    d = CompanyDirectory.from_records(
        [_record("300001", "示例微电子股份有限公司", "通富微电"), _record("300002", "另一公司", "通富科技")], {}
    )
    # "Tongfu" is the pinyin of both short names' first two characters: it names neither
    assert d.mentioned("What did Tongfu say about AMD?") == []
    assert [c.stock_code for c in d.mentioned("What did Tongfu Weidian say about AMD?")] == ["300001"]
    assert d.resolve("tongfuweidian").stock_code == "300001"


def test_alias_file_round_trip_and_bad_files(tmp_path: Path):
    path = tmp_path / "aliases.json"
    assert read_aliases(path) == {}
    assert write_alias(path, "300001", ["Acme", "ACME Corp"]) == {"300001": ["Acme", "ACME Corp"]}
    assert write_alias(path, "300001", ["acme"]) == {"300001": ["Acme", "ACME Corp"]}  # no case-folded repeats
    assert write_alias(path, "300001", ["ACME Corp"], remove=True) == {"300001": ["Acme"]}
    assert json.loads(path.read_text(encoding="utf-8")) == {"300001": ["Acme"]}
    d = CompanyDirectory.from_records([_record("300001", "示例股份有限公司", "示例")], read_aliases(path))
    assert [c.stock_code for c in d.mentioned("How big is Acme's backlog?")] == ["300001"]
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ConfigError, match="must map stock codes"):
        read_aliases(path)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot read the alias file"):
        read_aliases(path)


def test_alias_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from typer.testing import CliRunner

    from ui import cli

    monkeypatch.setenv("IRCHAT_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    result = runner.invoke(cli.app, ["alias", "300001", "Acme", "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["aliases"] == {"300001": ["Acme"]}
    assert json.loads((tmp_path / "aliases.json").read_text(encoding="utf-8")) == {"300001": ["Acme"]}
    result = runner.invoke(cli.app, ["alias", "not a code!", "Acme"])
    assert result.exit_code == 2 and "is not a stock code" in result.stderr
    result = runner.invoke(cli.app, ["alias", "300001"])
    assert result.exit_code == 2 and "give the names" in result.stderr


def _directory(*names: tuple[str, str]) -> CompanyDirectory:
    return CompanyDirectory.from_records([_record(code, f"{short}股份有限公司", short) for short, code in names], {})


def test_two_character_short_forms_unless_an_ordinary_word():
    from rag.companies import abbreviations

    assert abbreviations("海康威视") == ["海康"] and abbreviations("高澜股份") == ["高澜"]
    assert abbreviations("浪潮信息") == []  # 浪潮 is "wave": questions about an AI wave are not about it
    assert abbreviations("美的") == []  # two characters already
    d = _directory(("美的集团", "000333"), ("华大九天", "301269"), ("海康威视", "002415"))
    assert [c.stock_code for c in d.mentioned("听说美的今年要回购")] == ["000333"]
    assert d.mentioned("完美的产品体验很重要") == [] and d.mentioned("中华大地上的工厂") == []
    assert [c.stock_code for c in d.mentioned("海康2024年的分红")] == ["002415"]


def test_brand_words_are_rare_and_not_ordinary_words():
    from rag.companies import brand_words

    names = {
        "000001": ["Zorvex Digital A", "Hangzhou Zorvex Digital Technology Co Ltd"],
        "000002": ["Quillon Group", "Quillon Group Co Ltd"],
        "000003": ["Quillon Soft", "Quillon Software Co Ltd"],  # Quillon: two companies, so neither's
        "000004": ["Hangzhou Brightpath", "Hangzhou Brightpath Co Ltd"],
        "000005": ["Sunrise Tech", "Sunrise Technology Co Ltd"],  # an ordinary word
        "000006": ["Abc Group", "Abc Group Co Ltd"],  # too short
    }
    ordinary = {"sunrise", "digital", "group", "tech", "technology", "soft", "software"}
    brands = brand_words(names, ordinary=lambda w: w.lower() in ordinary)
    assert brands == {
        "000001": ["Zorvex"],
        "000002": [],
        "000003": [],
        "000004": ["Brightpath"],
        "000005": [],
        "000006": [],
    }


@pytest.mark.slow
def test_the_shipped_directory_is_what_the_script_writes():
    from rag.companies import brand_words, english_directory
    from rag.tokens import get_encoding

    directory = english_directory()
    brands = {code: entry.brands for code, entry in directory.items() if entry.brands}
    assert len(directory) > 3000 and all(len(code) == 6 and code.isdigit() for code in directory)
    encoding = get_encoding()
    again = brand_words(
        {code: entry.names for code, entry in directory.items()},
        lambda word: len(encoding.encode_ordinary(" " + word)) == 1,
    )
    assert {code: words for code, words in again.items() if words} == brands
    shared = brand_words(
        {code: entry.names for code, entry in directory.items()},
        lambda word: len(encoding.encode_ordinary(" " + word)) == 1,
        shared=True,
    )
    assert shared == {code: entry.shared for code, entry in directory.items()}
    assert shared["000977"] == ["Inspur"] == shared["600756"]  # 浪潮信息 and 浪潮软件
    assert brands["600519"] == ["Kweichow", "Moutai"]  # 贵州茅台: Kweichow Moutai Co Ltd
    assert not any(w in ("Hangzhou", "Group", "China", "Technology") for ws in brands.values() for w in ws)


def test_a_shared_brand_names_the_one_indexed_and_says_so():
    alone = _directory(("浪潮信息", "000977"), ("某某科技", "999999"))
    assert [(w, c.stock_code) for w, c in alone.spellings("What did Inspur say about AI servers?")] == [
        ("Inspur", "000977")
    ]
    assert [c.stock_code for c in alone.mentioned("What did Inspur say about AI servers?")] == ["000977"]
    both = _directory(("浪潮信息", "000977"), ("浪潮软件", "600756"))
    assert both.mentioned("What did Inspur say about AI servers?") == []  # two indexed companies share it


def test_the_place_a_full_name_starts_with_is_not_a_name():
    from rag.companies import Company, _place

    places = _place(Company("000000", "扬州扬杰电子科技股份有限公司", "扬杰科技"))
    assert "yangzhou" in places and "yangjie" not in places
    own = Company("000001", "焦作万方铝业股份有限公司", "焦作万方")  # the short name keeps the place: a name
    assert "jiaozuo" not in _place(own)


def test_a_brand_names_the_company_when_written_as_a_name():
    d = _directory(("贵州茅台", "600519"), ("某某科技", "999999"))
    assert [c.stock_code for c in d.mentioned("Did Moutai raise prices in 2024?")] == ["600519"]
    assert [c.stock_code for c in d.mentioned("Kweichow Moutai's dividend payout")] == ["600519"]
    assert d.mentioned("is moutai the spirit or the company?") == []  # in lower case: the plain word


def test_an_english_name_that_spells_the_pinyin_is_read_as_the_company():
    d = _directory(("高澜股份", "300499"), ("珂玛科技", "301611"), ("新易盛", "300502"))
    assert [(w, c.stock_code) for w, c in d.spellings("How large was Goaland's backlog?")] == [("Goaland", "300499")]
    assert [c.stock_code for c in d.mentioned("What did Kematek say about heaters?")] == ["301611"]
    assert d.mentioned("What did Photonara say about 800G?") == []  # a made-up name: left to the search
    assert d.mentioned("What is the Gross margin?") == []


def test_names_looked_up_by_position_are_those_a_scan_of_every_name_finds():
    """The directory finds names by lookups at each position of a text (a cost that does not grow with the number
    of companies); a plain scan of every name, and one regex of them all, must find the same."""
    import random
    import re

    from rag.companies import _inside_a_word, _spells

    rng = random.Random(7)
    pool = "华海康威视通富微电高澜股份珂玛科技新易盛天瑞声龙江东方南北中国恒信达"
    shorts = sorted({"".join(rng.sample(pool, rng.choice((2, 3, 4)))) for _ in range(400)})
    aliases = {f"{600000 + i}": [rng.choice(["Acme", "Zenith", "Orbita", "Hik", "Nova"]) + str(i)] for i in range(40)}
    d = CompanyDirectory.from_records(
        [_record(f"{600000 + i}", f"{s}股份有限公司", s) for i, s in enumerate(shorts)], aliases
    )
    every = {n for c in d.companies for n in c.names}
    entries = sorted(((n, c) for c in d.companies for n in c.names if len(n) >= 2), key=lambda e: -len(e[0]))
    pattern = re.compile(
        "|".join(
            rf"(?<![A-Za-z]){re.escape(n)}(?![A-Za-z])" if re.match(r"[A-Za-z]", n) else re.escape(n)
            for n, _ in entries
        ),
        re.IGNORECASE,
    )
    by_name = {n.lower(): c for n, c in entries}

    def scanned(text: str) -> list[str]:
        seen: dict[int, str] = {}
        for m in pattern.finditer(text):
            c = by_name[m.group(0).lower()]
            if not _inside_a_word(text, m.start(), m.group(0)):
                seen.setdefault(id(c), c.stock_code)
        return list(seen.values())

    names = sorted(every)
    words = ["的", "今年", "revenue", "Hiking", "x", " ", "毛利率", "2024年", "Tongfu", "Goaland", "Kemat"]
    for _ in range(300):
        text = "".join(rng.choice([*words, *names[:: max(1, len(names) // 60)]]) for _ in range(rng.randint(1, 8)))
        assert [c.stock_code for c in d._exact(text)] == scanned(text), text
        assert sorted(d.names_in(text)) == sorted(n for n in every if n.lower() in text.lower()), text
    assert d.part_of_a_name("Zenith") == any("zenith" in n.lower() for n in every)
    assert not d.part_of_a_name("Photonara")
    for word in ["tongfu", "tongfx", "gaolan", "goalan", "kemat", "haikang", "hiakang", "xyzw", *map(str.lower, names)]:
        assert {c.stock_code for c in d._spelled_by(word)} == {
            c.stock_code for c in d.companies if _spells(word, c.short_name)
        }, word


def test_a_company_knows_its_newest_meeting():
    def dated(record: str, day: str, end: str = "") -> Chunk:
        return Chunk(
            f"300001:{record}:meta",
            "record",
            "",
            company="示例股份有限公司",
            record=record,
            short_name="示例",
            stock_code="300001",
            date=day,
            date_end=end,
        )

    d = CompanyDirectory.from_records(
        [
            dated("2024-002", "2024-05-10"),
            dated("2025-001", "2025-03-01", "2025-03-28"),
            dated("2023-004", "2023-11-02"),
        ],
        {},
    )
    assert d.resolve("示例").latest == "2025-03-28"  # a meeting over several days ends on its last
