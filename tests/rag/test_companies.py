"""Subsidiaries and brands of the indexed companies, named in Chinese or English."""

from rag.companies import Unit, default_aliases, default_units, units_mentioned


def test_shipped_units_have_english_names_and_do_not_leak_into_aliases():
    names = {u.name: u for u in default_units()}
    assert names["海康机器人"].parent == "002415" and "Hikrobot" in names["海康机器人"].aliases
    assert names["萤石网络"].parent == "002415" and names["库卡"].parent == "000333"
    assert not any(k.startswith("_") for k in default_aliases())


def test_units_mentioned_longest_name_and_word_boundaries():
    units = [
        Unit("1", "海康机器人", ("Hikrobot",)),
        Unit("1", "萤石网络", ("萤石", "EZVIZ")),
        Unit("2", "库卡", ("KUKA",)),
    ]
    assert [u.name for u in units_mentioned("How much revenue did Hikrobot make?", units)] == ["海康机器人"]
    assert [u.name for u in units_mentioned("萤石和KUKA的收入", units)] == ["萤石网络", "库卡"]
    assert units_mentioned("Hikrobotics", units) == [] and units_mentioned("海康威视收入", units) == []
    assert set(Unit("1", "萤石网络", ("萤石", "EZVIZ")).chinese_names) == {"萤石网络", "EZVIZ", "萤石"}
