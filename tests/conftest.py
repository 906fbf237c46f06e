"""Shared setup: the Chroma server plugin, hypothesis profiles, one real index of the bundled records per session."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, Phase, settings

pytest_plugins = ["tests.chroma_server", "tests.openai_stub"]

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "data" / "records"

# --------------------------------------------------------------------------------------------- hypothesis
#
# Registered here so every folder's property tests (tests/ingest, tests/rag/test_figures.py) get them.
# The ingest ones write real .docx/.pdf files, ~50 ms an example: a failure that hypothesis shrinks
# runs thousands of them, for up to its own limit of five minutes. So CI (``$CI`` set) runs a fixed set
# of examples (the same on every run: a failure there fails again on rerun, and ``CI=1 pytest …``
# reproduces it locally) and reports it as found, unshrunk, with the blob for ``@reproduce_failure``.
# Locally ("dev") examples are random and failures shrink. ``HYPOTHESIS_PROFILE`` picks a profile by
# name; "explore" runs many more examples, unshrunk, to look for bugs (not for the suite).
_NO_SHRINK = (Phase.explicit, Phase.reuse, Phase.generate)
settings.register_profile(
    "ci",
    max_examples=100,
    derandomize=True,
    deadline=None,
    phases=_NO_SHRINK,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "dev", max_examples=100, deadline=None, print_blob=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "explore", max_examples=1000, deadline=None, phases=_NO_SHRINK, suppress_health_check=list(HealthCheck)
)


def load_script(name: str) -> ModuleType:
    """``scripts/<name>.py`` as a module (the scripts are no package), for testing its functions."""
    spec = importlib.util.spec_from_file_location(f"scripts_{name}", ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _hypothesis_profile() -> str:
    named = os.environ.get("HYPOTHESIS_PROFILE")
    if named:
        return named
    return "ci" if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no") else "dev"


settings.load_profile(_hypothesis_profile())


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
