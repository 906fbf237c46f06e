"""Hybrid retrieval over the bundled records with a fast stand-in embedder: fusion, filters, companies."""

from __future__ import annotations

import pytest

from ingest.pipeline import Ingestor
from rag.companies import CompanyDirectory
from rag.glossary import Glossary, default_glossary
from rag.index import Index
from rag.intent import asks_metadata, in_months, mentioned_months
from rag.lang import detect_language
from rag.retriever import HybridRetriever, dedupe_pairs
from rag.settings import Settings
from tests.conftest import BUNDLED
from tests.fakes import HashEmbedder


@pytest.fixture(scope="module")
def index(tmp_path_factory) -> Index:
    index = Index(Settings(data_dir=tmp_path_factory.mktemp("retr")), embedder=HashEmbedder())
    assert Ingestor(index).ingest([BUNDLED]).errors == []
    return index


def test_detect_language():
    assert detect_language("海天瑞声上半年境外收入增长了多少") == "zh"
    assert detect_language("海康威视如何看待DeepSeek？") == "zh"
    assert detect_language("How fast did Hikvision grow?") == "en"
    assert detect_language("What did 海康威视 say about DeepSeek and AI models?") == "en"


def test_glossary_renders_english_terms_longest_first():
    g = default_glossary()
    assert g.matches("What was the gross margin in H1?") == ["gross margin", "h1"]
    assert "毛利率" in g.render("gross margin") and "上半年" in g.render("first half revenue")
    assert g.render("nothing relevant here xyz") == []


def test_glossary_plurals_acronyms_and_hyphens():
    g = Glossary({"margin": ["毛利率"], "industry": ["行业"], "sales": ["销售"], "US": ["美国"], "full year": ["全年"]})
    assert g.matches("Margins by industries") == ["margin", "industry"]
    assert g.matches("sales") == ["sales"]  # its own key, not "sale" + s
    # A capitalised key matches only as written: "us" the pronoun is not the United States.
    assert g.matches("Tell us about US tariffs") == ["US"]
    assert g.matches("full-year margin") == ["full year", "margin"]
    assert len(default_glossary()) > 500
    assert Glossary({}).matches("an empty glossary matches nothing") == []


def test_months_and_metadata_intent():
    assert mentioned_months("What did they say in April 2024 and on May 7, 2024?") == [(2024, 4), (2024, 5)]
    assert mentioned_months("海康2024年8月的业绩会") == [(2024, 8)]
    assert mentioned_months("revenue may 2 percent in 2024") == []
    assert asks_metadata("Who hosted the call?") and asks_metadata("在哪里开的？")
    assert not asks_metadata("How fast did revenue grow?")
    assert in_months("2024-05-07", "2024-05-31", [(2024, 5)]) and in_months("2024-04-28", "2024-06-02", [(2024, 5)])
    assert not in_months("2024-04-20", "2024-04-20", [(2024, 5)]) and not in_months("", "", [(2024, 5)])


def test_company_directory_resolves_names_codes_and_aliases(index):
    d = CompanyDirectory.from_records(index.records(), {"002415": ["Hikvision"], "000333": ["Midea"]})
    assert len(d) == 6
    assert d.resolve("002415").short_name == "海康威视"
    assert d.resolve("hikvision").stock_code == "002415"
    assert d.resolve("北京海天瑞声科技股份有限公司").stock_code == "688787"
    assert d.resolve("美的").stock_code == "000333"
    assert d.resolve("特斯拉") is None
    assert [c.stock_code for c in d.mentioned("Compare Midea and 海康威视 on overseas")] == ["000333", "002415"]
    assert d.mentioned("hiking in the hills") == []


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_modes_find_the_passage_that_answers(index, mode):
    r = HybridRetriever(index, mode=mode)
    hits = r.search("海天瑞声毛利率增加至多少", 5)
    assert "[2024-013 Q2]" in [h.chunk.citation.key() for h in hits]
    if mode == "hybrid":
        top = hits[0]
        assert set(top.ranks) <= {"dense", "bm25"} and top.score > 0
        assert hits == sorted(hits, key=lambda h: -h.score)


def test_rrf_scores_are_reciprocal_rank_sums(index):
    r = HybridRetriever(index, rrf_k=60)
    for hit in r.search("美的集团分红和回购", 10):
        expected = sum(1 / (60 + rank) for rank in hit.ranks.values())
        assert hit.score == pytest.approx(expected)


def test_company_mention_narrows_the_search(index):
    r = HybridRetriever(index)
    hits = r.search("海康威视 DeepSeek 大模型", 10)
    assert hits and {h.chunk.stock_code for h in hits} == {"002415"}
    hits = r.search("Haitian DeepSeek data demand", 10)
    assert hits and {h.chunk.stock_code for h in hits} == {"688787"}


def test_filters_company_record_dates_and_type(index):
    r = HybridRetriever(index)
    assert {h.chunk.stock_code for h in r.search("收入", 20, {"company": "美的集团"})} == {"000333"}
    assert {h.chunk.record for h in r.search("收入", 20, {"record": "2024-8-17"})} == {"2024-8-17"}
    hits = r.search("收入", 30, {"date_from": "2025-01-01", "date_to": "2025-12-31"})
    assert hits and all("2025" <= h.chunk.date <= "2025-12-31" for h in hits)
    hits = r.search("收入", 30, {"activity_type": "业绩说明会"})
    assert hits and all("业绩说明会" in h.chunk.activity_type for h in hits)
    with pytest.raises(ValueError, match="no indexed company"):
        r.search("收入", 5, {"company": "特斯拉"})
    with pytest.raises(ValueError, match="unknown filter"):
        r.search("收入", 5, {"colour": "red"})


@pytest.mark.parametrize(
    "filters",
    [{"company": "美的集团"}, {"record": "2024-8-17"}, {"date_from": "2025-01-01", "date_to": "2025-12-31"}],
)
def test_narrow_filters_searched_in_memory_rank_as_through_where(index, filters, monkeypatch):
    import rag.retriever as retriever

    reads, asked = [], []
    vectors, query = index.store.vectors, index.store.query
    monkeypatch.setattr(index.store, "vectors", lambda ids: reads.append(len(ids)) or vectors(ids))
    monkeypatch.setattr(index.store, "query", lambda *a, **kw: asked.append(kw) or query(*a, **kw))
    r = HybridRetriever(index)
    by_ids = [(h.chunk.id, round(h.score, 9)) for h in r.search("收入 增长", 15, filters)]
    again = [(h.chunk.id, round(h.score, 9)) for h in r.search("收入 增长", 15, filters)]
    # the filter's chunks and vectors are read once, then searched without asking the store
    assert len(reads) == 1 and reads[0] > 0 and asked == [] and again == by_ids
    monkeypatch.setattr(index.store, "query", query)
    calls = []
    monkeypatch.setattr(index.store, "query", lambda *a, **kw: calls.append(kw) or query(*a, **kw))
    monkeypatch.setattr(retriever, "IDS_LIMIT", 0)  # every filter goes through ``where``
    monkeypatch.setattr(retriever, "POST_FILTER_MAX", 0)
    by_where = [(h.chunk.id, round(h.score, 9)) for h in HybridRetriever(index).search("收入 增长", 15, filters)]
    assert calls and "ids" not in calls[0]
    assert by_ids and by_ids == by_where


@pytest.mark.parametrize("filters", [{"date_from": "2024-06-01"}, {"company": "海康威视"}])
def test_broad_filters_applied_after_an_unfiltered_search_rank_as_through_where(index, filters, monkeypatch):
    import rag.retriever as retriever

    by_ids = [(h.chunk.id, round(h.score, 9)) for h in HybridRetriever(index).search("收入 增长", 15, filters)]
    monkeypatch.setattr(retriever, "IDS_LIMIT", 0)  # as if the filter matched too many chunks to list
    queries = []
    query = index.store.query
    monkeypatch.setattr(index.store, "query", lambda *a, **kw: queries.append(kw) or query(*a, **kw))
    post = [(h.chunk.id, round(h.score, 9)) for h in HybridRetriever(index).search("收入 增长", 15, filters)]
    assert queries == []  # read from the nearest ids, not through ``where``
    assert by_ids and post == by_ids
    # Too few of the nearest ids pass a filter: Chroma is asked with ``where`` after all, with the same result.
    monkeypatch.setattr(retriever, "POST_FILTER_MAX", 5)
    fallback = [(h.chunk.id, round(h.score, 9)) for h in HybridRetriever(index).search("收入 增长", 15, filters)]
    assert queries and fallback == by_ids


def test_english_query_gets_chinese_lexical_terms(index):
    r = HybridRetriever(index, mode="bm25")
    q = r.prepare("What was Haitian's gross margin?")
    assert q.lang == "en" and "毛利率" in q.lexical_text
    assert "[2024-013 Q2]" in [h.chunk.citation.key() for h in r.search_prepared(q, 5)]
    plain = HybridRetriever(index, mode="bm25", glossary=None)
    assert "毛利率" not in plain.prepare("What was Haitian's gross margin?").lexical_text


def test_dedupe_keeps_best_part_per_citation(index):
    hits = HybridRetriever(index).search("美的", 30)
    unique = dedupe_pairs(hits)
    keys = [h.chunk.citation.key(True) for h in unique]
    assert len(keys) == len(set(keys)) and unique[0] is hits[0]


def test_named_month_and_metadata_question_bring_up_that_record(index):
    r = HybridRetriever(index)
    hits = r.search("2024年8月海康那场交流会的地点是哪里？", 5)
    assert hits[0].chunk.record == "2024-8-17" and "date" in hits[0].ranks
    assert any(h.chunk.kind == "record" and h.chunk.record == "2024-8-17" for h in hits)
    q = r.prepare("2024年8月海康那场交流会的地点是哪里？")
    assert q.months == [(2024, 8)] and q.metadata
    plain = HybridRetriever(index).prepare("海康的业绩会")
    assert plain.months == [] and not plain.metadata
    # A kind filter still holds: a metadata question limited to Q&A pairs gets no record chunk.
    hits = r.search("2024年8月海康那场交流会的地点是哪里？", 10, {"kind": "qa"})
    assert hits and all(h.chunk.kind == "qa" for h in hits)


def test_each_period_asked_about_brings_up_its_own_results_meeting(index):
    # H1 2024 was reported at the 2024-08-17 call, the first three quarters at the 2024-10-26 one: both rank.
    hits = HybridRetriever(index).search("海康2024年上半年与前三季度的经营现金流怎么样？", 8)
    best: dict[str, int] = {}
    for h in hits:
        if h.chunk.record in ("2024-8-17", "2024-10-26") and "period" in h.ranks:
            best[h.chunk.record] = min(best.get(h.chunk.record, h.ranks["period"]), h.ranks["period"])
    assert best == {"2024-8-17": 1, "2024-10-26": 1}


def test_a_vector_index_with_no_more_ids_to_give_ends_the_post_filter(index, monkeypatch):
    import rag.retriever as retriever

    monkeypatch.setattr(retriever, "IDS_LIMIT", 0)
    nearest = index.store.nearest
    monkeypatch.setattr(index.store, "nearest", lambda v, k: nearest(v, k)[:3])  # an HNSW graph that stops early
    queries = []
    query = index.store.query
    monkeypatch.setattr(index.store, "query", lambda *a, **kw: queries.append(kw) or query(*a, **kw))
    hits = HybridRetriever(index, mode="dense").search("收入 增长", 10, {"date_from": "2024-01-01"})
    assert queries == [] and 0 < len(hits) <= 3
    assert all(h.chunk.date >= "2024-01-01" for h in hits)


def test_a_post_filter_reads_more_ids_when_the_nearest_are_filtered_out(index, monkeypatch):
    import rag.retriever as retriever

    monkeypatch.setattr(retriever, "IDS_LIMIT", 0)
    monkeypatch.setattr(retriever, "POST_FILTER_MARGIN", 0.3)  # a first read too small for this small index
    reads = []
    nearest = index.store.nearest
    monkeypatch.setattr(index.store, "nearest", lambda v, k: reads.append(k) or nearest(v, k))
    queries = []
    query = index.store.query
    monkeypatch.setattr(index.store, "query", lambda *a, **kw: queries.append(kw) or query(*a, **kw))
    # Early meetings only, for a query about late ones: the first read holds too few that pass.
    filters = {"date_to": "2024-09-30"}
    hits = HybridRetriever(index, mode="dense").search("2025年一季度 营收 同比增长", 15, filters)
    assert len(reads) >= 2 and reads == sorted(reads) and queries == []
    assert len(hits) == 15 and all(h.chunk.date <= "2024-09-30" for h in hits)
    monkeypatch.setattr(retriever, "IDS_LIMIT", 10**9)
    by_ids = HybridRetriever(index, mode="dense").search("2025年一季度 营收 同比增长", 15, filters)
    assert [h.chunk.id for h in hits] == [h.chunk.id for h in by_ids]


def test_a_lexical_index_lagging_the_store_sends_the_post_filter_to_where(index, monkeypatch):
    import rag.retriever as retriever

    monkeypatch.setattr(retriever, "IDS_LIMIT", 0)
    lexical = index.ensure_lexical()
    monkeypatch.setattr(type(lexical), "__len__", lambda self: 10)  # another process is mid-ingest
    queries = []
    query = index.store.query
    monkeypatch.setattr(index.store, "query", lambda *a, **kw: queries.append(kw) or query(*a, **kw))
    hits = HybridRetriever(index, mode="dense").search("收入 增长", 15, {"date_from": "2024-06-01"})
    assert queries and len(hits) == 15


def test_a_small_index_is_searched_exactly_and_a_large_one_through_the_vector_index(index, monkeypatch):
    import numpy as np

    import rag.retriever as retriever

    queries = []
    query = index.store.query
    monkeypatch.setattr(index.store, "query", lambda *a, **kw: queries.append(a) or query(*a, **kw))
    text = "海外业务 收入 同比增长"
    small = HybridRetriever(index, mode="dense").search(text, 10)
    assert queries == []
    # exactly the nearest chunks by cosine, as a dot product over every stored vector finds them
    chunks, vectors = index.store.vectors(sorted(index.store.ids()))
    v = np.asarray(index.embedder.embed_query(text), dtype=np.float32)
    sims = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)) @ (v / np.linalg.norm(v))
    assert [h.chunk.id for h in small] == [chunks[i].id for i in np.argsort(-sims, kind="stable")[:10]]
    monkeypatch.setattr(retriever, "EXACT_LIMIT", 10)  # the same index, as if it held too many chunks to list
    large = HybridRetriever(index, mode="dense").search(text, 10)
    assert len(queries) == 1 and len(large) == 10
    assert {h.chunk.id for h in large} & {h.chunk.id for h in small}


def _record_of(company: str, code: str, short: str, answer: str) -> str:
    from rag.types import QAPair, Record
    from tests.ingest.conftest import form_text

    pairs = [QAPair(1, "公司今年的订单情况如何？", answer), QAPair(2, "如何联系公司投资者关系部门？", "")]
    record = Record(
        company=company,
        record="2024-001",
        pairs=pairs,
        activity_types=["特定对象调研"],
        participants="某基金",
        date_text="2024年3月5日",
        receptionists="董事会秘书",
    )
    return f"证券代码：{code} 证券简称：{short}\n" + form_text(record)


def test_a_word_one_company_prints_as_its_mail_domain_names_that_company(tmp_path):
    from rag.companies import domain_words, writes_domain

    assert writes_domain("请发邮件至ir_desk@qxmt.com或致电", "QXMT")  # a Chinese character right after the domain
    assert writes_domain("详见www.qxmt.com.cn", "qxmt") and not writes_domain("qxmt产品", "QXMT")
    assert writes_domain("可在公司官网（https://www.qxmt.c om.cn）查看", "QXMT")  # a space a PDF put in the suffix
    assert not writes_domain("www.qxmt.company", "QXMT")
    assert domain_words("QXMT first-half revenue of Acme?") == ["QXMT", "Acme"]
    folder = tmp_path / "recs"
    for name, code, short, answer in [
        ("示例微电子股份有限公司", "654321", "示例微电", "订单饱满。投资者可发邮件至ir_desk@qxmt.com联系我们。"),
        ("样本材料股份有限公司", "654322", "样本材料", "订单稳定，详见www.zhpm.cn及公司公告。"),
        ("对照科技股份有限公司", "654323", "对照科技", "订单增长。我们也在www.zhpm.cn平台交流。"),
    ]:
        (folder / f"c-{code}").mkdir(parents=True)
        (folder / f"c-{code}" / "r.txt").write_text(_record_of(name, code, short, answer), encoding="utf-8")
    index = Index(Settings(data_dir=tmp_path / "data"), embedder=HashEmbedder())
    assert Ingestor(index).ingest([folder]).errors == []
    retriever = HybridRetriever(index)
    q = retriever.prepare("How is QXMT's order book?").question
    assert [c.stock_code for c in q.companies] == ["654321"] and q.read_as == (("QXMT", "示例微电"),)
    # a domain two companies print (a shared platform) names neither; a named company is not second-guessed
    assert retriever.prepare("What did ZHPM say about orders?").question.companies == ()
    named = retriever.prepare("How are 样本材料's orders, and QXMT's?").question
    assert [c.stock_code for c in named.companies] == ["654322"]


def test_a_firms_name_spelled_in_pinyin_is_read_where_the_passages_write_it_as_a_word(tmp_path):
    folder = tmp_path / "recs" / "c-654331"
    folder.mkdir(parents=True)
    answer = "子公司芯跃主要生产功率模块，芯跃今年扩产。公司产品销量增长。"
    record = _record_of("示范电子股份有限公司", "654331", "示范电子", answer)
    (folder / "r.txt").write_text(record, encoding="utf-8")
    index = Index(Settings(data_dir=tmp_path / "data"), embedder=HashEmbedder())
    assert Ingestor(index).ingest([folder.parent]).errors == []
    retriever = HybridRetriever(index)
    # 芯跃 is in no dictionary; jieba cuts it out of the passage as a word, so "Xinyue" is read as it, and is no
    # company the index lacks
    q = retriever.prepare("What does Xinyue's plant make?").question
    assert any("芯跃" in c.forms for c in q.concepts) and "芯跃" in q.lexical_text and q.unknown_org == ""
    # 品销 is in the index only where 产品 meets 销量: no word, so "Pinxiao" stays as written
    q = retriever.prepare("What are Pinxiao's sales?").question
    assert not any("品销" in c.forms for c in q.concepts) and "品销" not in q.lexical_text
