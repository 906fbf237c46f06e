"""The lexical index beside the store: missing, corrupt or out of step, it is rebuilt from the store, with a warning."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from ingest.pipeline import Ingestor
from rag.index import Index
from rag.settings import Settings
from tests.fakes import HashEmbedder

HAITIAN = Path(__file__).resolve().parents[2] / "data" / "records" / "haitian-688787"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    s = Settings(data_dir=tmp_path / "data")
    assert Ingestor(Index(s, embedder=HashEmbedder())).ingest([HAITIAN]).errors == []
    return s


def _search_ok(index: Index) -> None:
    hits = index.ensure_lexical().search("境外业务收入 50.00%", 3)
    assert hits and set(index.ensure_lexical().ids) == set(index.store.hashes())


def _damage_missing(settings: Settings) -> None:
    shutil.rmtree(settings.lexical_dir)


def _damage_corrupt(settings: Settings) -> None:
    files = [p for p in settings.lexical_dir.rglob("*") if p.is_file() and p.stat().st_size > 64]
    assert files
    for p in files:
        data = bytearray(p.read_bytes())
        data[len(data) // 2] ^= 0xFF
        p.write_bytes(bytes(data))


def _damage_out_of_step(settings: Settings) -> None:
    index = Index(settings, embedder=HashEmbedder())
    store = index.store
    victim = next(iter(store.hashes()))
    store.delete([victim])


@pytest.mark.parametrize("damage", [_damage_missing, _damage_corrupt, _damage_out_of_step])
def test_unusable_lexical_index_is_rebuilt_with_a_warning(settings, damage, caplog):
    damage(settings)
    index = Index(settings, embedder=HashEmbedder())
    with caplog.at_level(logging.WARNING, logger="rag.index"):
        _search_ok(index)
    assert any("rebuilding it" in r.getMessage() for r in caplog.records), [r.getMessage() for r in caplog.records]
    # Rebuilt and saved: the next process loads it without a warning.
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="rag.index"):
        _search_ok(Index(settings, embedder=HashEmbedder()))
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


MIDEA = HAITIAN.parent / "midea-000333"


def test_a_serving_index_sees_what_another_process_ingested(settings):
    # The app's Index has loaded its lexical index and company list; an `irchat ingest` elsewhere (another
    # Index over the same folder) adds a company. The next search must find it, dense and lexical.
    from rag.retriever import HybridRetriever

    serving = Index(settings, embedder=HashEmbedder())
    retriever = HybridRetriever(serving)
    before = serving.generation()
    assert [c.stock_code for c in retriever.companies().companies] == ["688787"]
    assert not any(h.chunk.stock_code == "000333" for h in retriever.search("美的 暖通空调 库卡", 10))

    assert Ingestor(Index(settings, embedder=HashEmbedder())).ingest([MIDEA]).errors == []

    assert serving.generation() != before
    assert "000333" in [c.stock_code for c in retriever.companies().companies]
    lexical = serving.ensure_lexical()
    assert set(lexical.ids) == set(serving.store.ids())
    hits = HybridRetriever(serving, mode="bm25").search("美的 暖通空调 库卡", 10)
    assert hits and hits[0].chunk.stock_code == "000333"


def test_store_ids_match_hashes_with_and_without_a_filter(settings):
    store = Index(settings, embedder=HashEmbedder()).store
    assert sorted(store.ids()) == sorted(store.hashes()) and len(store.ids()) == store.count()
    records = store.ids({"kind": "record"})
    assert records and sorted(records) == sorted(store.hashes({"kind": "record"}))
