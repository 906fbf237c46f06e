"""Shared fixtures: the Chroma server plugin, and one real index of the bundled records per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["tests.chroma_server", "tests.openai_stub"]

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "data" / "records"


def cache_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the converted model and embedding cache live across runs (IRCHAT_TEST_MODEL_DIR's parent)."""
    configured = os.environ.get("IRCHAT_TEST_MODEL_DIR")
    if configured:
        return Path(configured).parent
    return tmp_path_factory.getbasetemp() / "irchat-cache"


@pytest.fixture(scope="session")
def real_settings(tmp_path_factory: pytest.TempPathFactory):
    """Settings with the real default embedding model, a fresh store, and the shared model/embedding caches."""
    from rag.settings import Settings

    cache = cache_root(tmp_path_factory)
    return Settings(
        data_dir=tmp_path_factory.mktemp("real-index"),
        model_dir=cache / "models",
        embed_cache_dir=cache / "embeddings",
    )


@pytest.fixture(scope="session")
def real_index(real_settings):
    """The bundled records ingested with the real embedding model (once per session)."""
    from ingest.pipeline import Ingestor
    from rag.index import Index

    index = Index(real_settings)
    report = Ingestor(index).ingest([BUNDLED])
    assert report.errors == [], report.errors
    return index
