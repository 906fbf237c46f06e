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


def test_eval_compares_another_embedding_model_in_the_same_report(tmp_path, monkeypatch):
    import json
    from pathlib import Path

    from typer.testing import CliRunner

    from ui import cli

    records = Path(__file__).resolve().parents[2] / "data" / "records" / "haitian-688787"
    gold = tmp_path / "gold.jsonl"
    gold.write_text(
        json.dumps(
            {"id": "q1", "question": "海天瑞声境外业务收入增长了多少？", "lang": "zh", "expected": ["2024-013 Q3"]},
            ensure_ascii=False,
        )
        + "\n",
        encoding="utf-8",
    )
    models: list[str] = []

    def index(settings):
        models.append(settings.embed_model)
        return Index(settings, embedder=HashEmbedder())

    monkeypatch.setenv("IRCHAT_DATA_DIR", str(tmp_path / "home"))
    monkeypatch.setattr(cli, "Index", index)
    args = ["eval", "--gold", str(gold), "--config", "bm25", "--report", str(tmp_path / "rep")]
    result = CliRunner().invoke(cli.app, [*args, "--records", str(records), "--model", "other-model"])
    assert result.exit_code == 0, result.output
    assert "other-model" in models  # the second index was built with the model asked for
    data = json.loads((tmp_path / "rep" / "report.json").read_text(encoding="utf-8"))
    assert set(data["configs"]) == {"bm25", "dense@other-model", "hybrid+glossary@other-model"}
    assert data["models"] == {"other-model": HashEmbedder().name}
    assert "dense@other-model" in (tmp_path / "rep" / "report.md").read_text(encoding="utf-8")
    # Without --records there is nothing to embed with the other model.
    result = CliRunner().invoke(cli.app, [*args, "--model", "other-model"])
    assert result.exit_code == 2 and "--model needs" in result.output
