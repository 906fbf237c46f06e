"""Ingest end to end over the bundled real records: counts, idempotency, edits, conflicts, bad files, SIGKILL."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.pipeline import Ingestor
from rag.index import Index
from rag.settings import Settings
from tests.fakes import HashEmbedder

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "data" / "records"
HAITIAN = "haitian-688787/haitian-2024-013.txt"


@pytest.fixture
def records(tmp_path: Path) -> Path:
    dest = tmp_path / "records"
    shutil.copytree(BUNDLED, dest)
    return dest


@pytest.fixture(params=["embedded", pytest.param("server", marks=pytest.mark.server)])
def settings(request, tmp_path: Path) -> Settings:
    data = tmp_path / "data"
    if request.param == "server":
        host, port = request.getfixturevalue("chroma_server")
        # Each test its own collection on the shared server, so tests stay independent.
        return Settings(data_dir=data, chroma_host=host, chroma_port=port, collection=f"t{random.getrandbits(40)}")
    return Settings(data_dir=data)


def make_index(settings: Settings) -> Index:
    return Index(settings, embedder=HashEmbedder())


def snapshot(index: Index) -> dict[str, str]:
    return index.store.hashes()


def test_ingest_bundled_records_then_reingest_writes_nothing(settings, records):
    index = make_index(settings)
    first = Ingestor(index).ingest([records])
    assert first.errors == []
    assert first.files == first.records == 9
    assert first.pairs >= 9 + 10 + 43 + 6 * 5
    assert first.chunks_added == index.store.count() > first.pairs
    listed = index.records()
    assert len(listed) == 9 and sum(c.n_pairs for c in listed) == first.pairs
    assert {c.stock_code for c in listed} == {"688787", "002415", "000333"}
    # 2025-004 prints no company name: it takes the one its sibling record 2024-013 prints.
    assert {c.short_name for c in listed if c.stock_code == "688787"} == {"海天瑞声"}
    assert {c.short_name for c in listed} == {"海天瑞声", "海康威视", "美的集团"}

    embedded_before = index.embedder.texts_embedded
    again = Ingestor(index).ingest([records])
    assert (again.chunks_added, again.chunks_updated, again.chunks_removed) == (0, 0, 0)
    assert again.chunks_unchanged == first.chunks_added
    assert index.embedder.texts_embedded == embedded_before  # nothing re-embedded
    assert index.store.count() == first.chunks_added
    # the lexical index holds exactly the store's ids
    assert set(index.ensure_lexical().ids) == set(snapshot(index))


def test_changed_answer_rewrites_only_that_record(tmp_path, records):
    index = make_index(Settings(data_dir=tmp_path / "data"))
    Ingestor(index).ingest([records])
    before = snapshot(index)

    path = records / HAITIAN
    text = path.read_text(encoding="utf-8")
    assert "同比增长50.00%" in text
    path.write_text(text.replace("同比增长50.00%", "同比增长55.00%", 1), encoding="utf-8")
    report = Ingestor(index).ingest([records])
    after = snapshot(index)

    changed = {i for i in after if before.get(i) != after[i]}
    assert report.chunks_updated == len(changed) == 2  # the answer's chunk and the record chunk
    assert changed == {"688787:2024-013:q1:p0", "688787:2024-013:meta"}
    assert report.chunks_added == report.chunks_removed == 0
    assert "55.00%" in index.store.get(ids=["688787:2024-013:q1:p0"])[0].text


def test_removed_pair_leaves_no_stale_chunk(tmp_path, records):
    index = make_index(Settings(data_dir=tmp_path / "data"))
    Ingestor(index).ingest([records])
    path = records / HAITIAN
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("9、"))
    path.write_text("".join(lines[:start] + lines[start + 2 :]), encoding="utf-8")
    report = Ingestor(index).ingest([records])
    ids = set(snapshot(index))
    assert report.chunks_removed >= 1
    assert not any(i.startswith("688787:2024-013:q9:") for i in ids)
    assert set(index.ensure_lexical().ids) == ids


def test_same_record_in_two_files_is_a_conflict(tmp_path, records):
    index = make_index(Settings(data_dir=tmp_path / "data"))
    Ingestor(index).ingest([records / "haitian-688787"])
    other = tmp_path / "elsewhere" / "haitian-688787"
    other.mkdir(parents=True)
    text = (records / HAITIAN).read_text(encoding="utf-8").replace("50.00%", "51.00%")
    (other / "copy-2024-013.txt").write_text(text, encoding="utf-8")
    before = snapshot(index)
    report = Ingestor(index).ingest([other])
    assert len(report.errors) == 1
    assert report.errors[0].file.endswith("copy-2024-013.txt")
    assert "2024-013" in report.errors[0].error and "two different files" in report.errors[0].error
    assert snapshot(index) == before

    # The very same bytes at another path are no conflict: nothing changes.
    shutil.copy(records / HAITIAN, other / "copy-2024-013.txt")
    report = Ingestor(index).ingest([other])
    assert report.errors == [] and report.chunks_added == report.chunks_updated == 0


def test_bad_files_are_reported_and_the_rest_indexed(tmp_path, records):
    bad = records / "bad"
    bad.mkdir()
    (bad / "empty.txt").write_bytes(b"")
    (bad / "binary.txt").write_bytes(bytes(range(256)) * 20)
    (bad / "noqa.txt").write_text(
        "证券代码：688787\n投资者关系活动记录表\n编号：2024-099\n今天没有问答。\n", encoding="utf-8"
    )
    good_docx = tmp_path / "ok.docx"
    import docx

    document = docx.Document()
    document.add_paragraph("hello")
    document.save(good_docx)
    (bad / "truncated.docx").write_bytes(good_docx.read_bytes()[:300])
    (bad / "notes.md").write_text("ignored: not a record type")

    index = make_index(Settings(data_dir=tmp_path / "data"))
    report = Ingestor(index).ingest([records])
    failed = {Path(e.file).name: e.error for e in report.errors}
    assert set(failed) == {"empty.txt", "binary.txt", "noqa.txt", "truncated.docx"}
    assert all(msg for msg in failed.values())
    assert report.records == 9 and len(index.records()) == 9


def test_missing_path_and_unsupported_type_are_errors(tmp_path):
    (tmp_path / "x.xlsx").write_bytes(b"PK")
    index = make_index(Settings(data_dir=tmp_path / "data"))
    report = Ingestor(index).ingest([tmp_path / "nope", tmp_path / "x.xlsx"])
    assert [Path(e.file).name for e in report.errors] == ["nope", "x.xlsx"]
    assert "no such file" in report.errors[0].error and ".xlsx" in report.errors[1].error


KILL_SCRIPT = """
import sys, time
from pathlib import Path
from ingest.pipeline import Ingestor
from rag.index import Index
from rag.settings import Settings
from tests.fakes import HashEmbedder

class Slow(HashEmbedder):
    def embed_passages(self, texts):
        time.sleep(0.2)  # widen the window in which the kill lands mid-write
        return super().embed_passages(texts)

index = Index(Settings(data_dir=Path(sys.argv[1])), embedder=Slow())
def step(path):
    print("FILE", path, flush=True)
Ingestor(index).ingest([sys.argv[2]], on_file=step)
print("DONE", flush=True)
"""


@pytest.mark.slow
@pytest.mark.parametrize("kill_after", [1, 4, 8])
def test_sigkill_midway_then_rerun_matches_clean_ingest(tmp_path, records, kill_after):
    data = tmp_path / "data"
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, str(data), str(records)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    seen = 0
    assert proc.stdout is not None
    for line in proc.stdout:
        seen += line.startswith("FILE")
        if seen > kill_after:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "the ingest finished before it could be killed"

    index = make_index(Settings(data_dir=data))
    report = Ingestor(index).ingest([records])
    assert report.errors == []
    clean = make_index(Settings(data_dir=tmp_path / "clean"))
    Ingestor(clean).ingest([records])
    assert snapshot(index) == snapshot(clean)
    assert index.store.count() == clean.store.count()
    assert set(index.ensure_lexical().ids) == set(snapshot(clean))


def test_cli_ingest_json_and_records(tmp_path, records, monkeypatch):
    from typer.testing import CliRunner

    from ui import cli

    monkeypatch.setattr(cli, "_index", lambda: make_index(Settings(data_dir=tmp_path / "data")))
    (records / "empty.txt").write_bytes(b"")
    runner = CliRunner()
    result = runner.invoke(cli.app, ["ingest", str(records), "--json"])
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert set(data) >= {
        "files",
        "records",
        "pairs",
        "chunks_added",
        "chunks_updated",
        "chunks_unchanged",
        "chunks_removed",
        "errors",
    }
    assert data["records"] == 9 and data["errors"][0]["file"].endswith("empty.txt")

    result = runner.invoke(cli.app, ["records", "--json"])
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert len(rows) == 9
    haitian = next(r for r in rows if r["record"] == "2024-013")
    assert haitian["stock_code"] == "688787" and haitian["pairs"] == 9 and haitian["source"].endswith(".txt")
