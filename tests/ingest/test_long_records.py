"""No silent truncation: long record details are split, listed once, and what a model still cuts is counted."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from ingest.chunker import chunk_record
from ingest.parser import parse_file
from ingest.pipeline import Ingestor, discover
from rag.catalog import Catalog
from rag.errors import ParseError
from rag.index import Index
from rag.settings import Settings
from tests.fakes import HashEmbedder
from tests.ingest.conftest import BUNDLED_RECORDS, shared_records_dir

HIKVISION_2024_4_20 = BUNDLED_RECORDS / "hikvision-002415" / "海康威视：2024年4月20日投资者关系活动记录表.pdf"


class TruncatingEmbedder(HashEmbedder):
    """HashEmbedder that counts, as the real embedders do, the passages it would cut at ``max_tokens``."""

    def __init__(self, max_tokens: int) -> None:
        super().__init__()
        self.max_tokens = max_tokens
        self.truncated = 0

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        self.truncated += sum(self.count_tokens(t) > self.max_tokens for t in texts)
        return super().embed_passages(texts)


def test_a_long_record_is_split_listed_once_and_nothing_truncated(tmp_path: Path) -> None:
    embedder = TruncatingEmbedder(512)
    index = Index(Settings(data_dir=tmp_path), embedder=embedder)
    report = Ingestor(index).ingest([HIKVISION_2024_4_20])
    assert report.errors == [] and report.chunks_truncated == 0 and embedder.truncated == 0
    parts = index.store.get(where={"kind": "record"})
    assert len(parts) > 5  # ~700 participants
    assert all(embedder.count_tokens(c.text) <= 512 for c in index.store.get())
    (listed,) = index.records()  # one record, however many parts its details take
    assert listed.id.endswith(":meta") and listed.part == 0 and listed.n_pairs == report.pairs
    view = Catalog(index, lambda: True).record(listed.record_key)  # the record opened whole: its part 0
    assert view is not None and view.meta.id == listed.id


def test_what_the_model_still_truncates_is_counted_in_the_report(tmp_path: Path) -> None:
    """A model whose limit is below what the chunker was told (here: the counter disagrees with the model)."""

    class Lying(TruncatingEmbedder):
        def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
            self.truncated += sum(len(t) > 300 for t in texts)
            return HashEmbedder.embed_passages(self, texts)

    embedder = Lying(512)
    report = Ingestor(Index(Settings(data_dir=tmp_path), embedder=embedder)).ingest([HIKVISION_2024_4_20])
    assert report.chunks_truncated == embedder.truncated > 0
    assert any("truncated" in w.error for w in report.warnings)
    assert report.to_dict()["chunks_truncated"] == report.chunks_truncated


@pytest.mark.slow
@pytest.mark.parametrize("where", ["bundled", "shared"])
def test_no_real_chunk_is_over_the_model_limit(where: str, e5_tokenizer) -> None:
    """Every chunk of every real record fits e5's 512 tokens, counted by the model's own tokenizer."""
    root = BUNDLED_RECORDS if where == "bundled" else shared_records_dir()
    if not root.is_dir():
        pytest.skip(f"no records at {root}")
    files, _ = discover([root])

    def count(text: str) -> int:
        return len(e5_tokenizer.encode("passage: " + text).ids)

    chunks, over = 0, []
    for path in files:
        try:
            record = parse_file(path)
        except ParseError:  # two real files hold no Q&A pairs: the parser's tests' business; they give no chunks
            continue
        for chunk in chunk_record(record, count, 512):
            chunks += 1
            if count(chunk.text) > 512:
                over.append((chunk.id, count(chunk.text)))
    assert chunks > 200 and over == []


@pytest.fixture(scope="module")
def e5_tokenizer(tmp_path_factory: pytest.TempPathFactory):
    from tokenizers import Tokenizer

    from rag.e5_convert import ensure_e5_model
    from tests.rag.test_e5_convert import model_root

    folder = ensure_e5_model(model_root(tmp_path_factory) / "e5-small-q4")
    return Tokenizer.from_file(str(folder / "tokenizer.json"))
