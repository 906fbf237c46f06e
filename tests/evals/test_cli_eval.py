"""`irchat eval` against an index with nothing in it refuses with a way out instead of scoring zeros."""

from __future__ import annotations

from rag.index import Index
from tests.fakes import HashEmbedder


def test_eval_on_an_empty_index_says_how_to_fill_it(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from ui import cli

    monkeypatch.setenv("IRCHAT_DATA_DIR", str(tmp_path / "home"))
    monkeypatch.setattr(cli, "Index", lambda settings: Index(settings, embedder=HashEmbedder()))
    result = CliRunner().invoke(cli.app, ["eval", "--config", "bm25", "--report", str(tmp_path / "rep")])
    assert result.exit_code == 2, result.output
    assert "is empty" in result.output and "--records" in result.output
    assert not (tmp_path / "rep").exists()
