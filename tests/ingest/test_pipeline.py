"""Ingest end to end over the bundled real records: counts, idempotency, edits, conflicts, bad files, SIGKILL."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from ingest.pipeline import Ingestor
from rag.errors import LockError
from rag.index import Index
from rag.settings import Settings
from tests.fakes import HashEmbedder

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "data" / "records"
HAITIAN = "haitian-688787/haitian-2024-013.txt"
N_BUNDLED = sum(1 for p in BUNDLED.rglob("*") if p.suffix in (".txt", ".pdf", ".docx"))


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
    assert first.files == first.records == N_BUNDLED >= 14
    assert first.pairs >= 9 + 10 + 43 + 6 * 5 + 5 * 4
    assert first.chunks_added == index.store.count() > first.pairs
    listed = index.records()
    assert len(listed) == N_BUNDLED and sum(c.n_pairs for c in listed) == first.pairs
    assert {c.stock_code for c in listed} == {"688787", "002415", "000333", "300499", "300502", "301611"}
    # 2025-004 prints no company name: it takes the one its sibling record 2024-013 prints.
    assert {c.short_name for c in listed if c.stock_code == "688787"} == {"海天瑞声"}
    assert {c.short_name for c in listed} == {"海天瑞声", "海康威视", "美的集团", "高澜股份", "新易盛", "珂玛科技"}

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
    assert report.records == N_BUNDLED and len(index.records()) == N_BUNDLED


def test_missing_path_and_unsupported_type_are_errors(tmp_path):
    (tmp_path / "x.xlsx").write_bytes(b"PK")
    index = make_index(Settings(data_dir=tmp_path / "data"))
    report = Ingestor(index).ingest([tmp_path / "nope", tmp_path / "x.xlsx"])
    assert [Path(e.file).name for e in report.errors] == ["nope", "x.xlsx"]
    assert "no such file" in report.errors[0].error and ".xlsx" in report.errors[1].error


# --------------------------------------------------------------------------------------------- faults
#
# SIGKILL at random points. Each run's seed picks the scenario (even: a fresh ingest; odd: a re-ingest of
# edited records, with updates, stale parts to delete and a new file), the store operation to kill in
# (an upsert, a delete, or the lexical index save) and a delay into it (none, 0-30 ms or 30-300 ms). It runs
# in a child process that kills itself from a timer thread, so the point is exact and reproducible. Then
# a normal re-run must leave exactly what a clean ingest leaves: same chunk ids and hashes (no duplicates,
# no stale parts), every vector findable, and a lexical index that holds the store's current texts.
#
#   IRCHAT_FAULT_RUNS=50 pytest tests/ingest/test_pipeline.py -k sigkill    # more runs (CI: 4)
#   IRCHAT_FAULT_SEED=1000 ...                                                # other seeds (default 0)
#
# A failing run is named by its seed in the test id (test_sigkill_..._then_rerun[seed-7]).

FAULT_RUNS = int(os.environ.get("IRCHAT_FAULT_RUNS", "4"))
FAULT_SEED = int(os.environ.get("IRCHAT_FAULT_SEED", "0"))
TXT_RECORDS = ("haitian-688787", "midea-000333")  # the text records: parsing them costs next to nothing
SMALL_GROUP = 8  # EMBED_GROUP in the faulted runs: many small write groups, embedding between them

KILL_SCRIPT = """
import os, signal, sys, threading
from pathlib import Path
import ingest.pipeline as pipeline
from ingest.pipeline import Ingestor
from rag.index import Index
from rag.settings import Settings
from tests.fakes import HashEmbedder
from tests.ingest.test_pipeline import SMALL_GROUP, apply_edits, instrument

data, records, scenario = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
kill_at, delay = int(sys.argv[4]), float(sys.argv[5])
pipeline.EMBED_GROUP = SMALL_GROUP
index = Index(Settings(data_dir=data), embedder=HashEmbedder())
if scenario == "edit":
    Ingestor(index).ingest([records])
    apply_edits(records)

def arm(n, name):
    if n == kill_at:
        print("KILL IN", n, name, flush=True)
        threading.Timer(delay, os.kill, (os.getpid(), signal.SIGKILL)).start()

instrument(index, arm)
Ingestor(index).ingest([records])
print("FINISHED", flush=True)
"""


def instrument(index: Index, before: Callable[[int, str], None]) -> list[str]:
    """Count the index's writes (upsert, delete, lexical save), calling ``before(n, name)`` ahead of each."""
    ops: list[str] = []

    def counted(name: str, fn: Callable) -> Callable:
        def run(*args, **kwargs):
            ops.append(name)
            before(len(ops), name)
            return fn(*args, **kwargs)

        return run

    index.store.upsert = counted("upsert", index.store.upsert)
    index.store.delete = counted("delete", index.store.delete)
    index.sync_lexical = counted("lexical", index.sync_lexical)
    return ops


def apply_edits(records: Path) -> None:
    """Change an answer in two records, drop a record's last pair, and add a record file."""
    haitian = records / HAITIAN
    text = haitian.read_text(encoding="utf-8")
    start = text.index("\n9、")
    end = text.index("\n\n", start)
    edited = (text[:start] + text[end:]).replace("同比增长50.00%", "同比增长55.00%", 1)
    assert edited.count("55.00%") == 1
    haitian.write_text(edited, encoding="utf-8")
    midea = records / "midea-000333" / "midea-000333-2025-2.txt"
    old = "公司将于2025年4 月30 日披露"
    assert old in midea.read_text(encoding="utf-8")
    midea.write_text(midea.read_text(encoding="utf-8").replace(old, "公司将于2025年4 月29 日披露"), encoding="utf-8")
    new = records / "haitian-688787" / "haitian-2024-777.txt"
    new.write_text(text.replace("编号：2024-013", "编号：2024-777"), encoding="utf-8")


def lexical_digests(index: Index) -> dict[str, bytes]:
    """Chunk id -> digest of the text the saved lexical index holds for it."""
    from rag.lexical import LexicalIndex

    saved = LexicalIndex.load(index.settings.lexical_dir)
    return {cid: bytes(saved._hashes[i]) for i, cid in enumerate(saved.ids)}


def store_digests(index: Index) -> dict[str, bytes]:
    from rag.lexical import _digest

    return {c.id: _digest(c.text) for c in index.store.get()}


@pytest.fixture
def txt_records(tmp_path: Path) -> Callable[[str], Path]:
    def copy(name: str) -> Path:
        dest = tmp_path / name
        for folder in TXT_RECORDS:
            shutil.copytree(BUNDLED / folder, dest / folder)
        for p in dest.rglob("*.txt"):
            p.chmod(0o644)
        return dest

    return copy


@pytest.mark.slow
@pytest.mark.parametrize("seed", [pytest.param(s, id=f"seed-{s}") for s in range(FAULT_SEED, FAULT_SEED + FAULT_RUNS)])
def test_sigkill_at_a_random_point_then_rerun(tmp_path, txt_records, monkeypatch, seed):
    import ingest.pipeline as pipeline

    rng = random.Random(seed)
    scenario = "edit" if seed % 2 else "fresh"

    # The reference: the same ingest(s) in this process, counting the writes the child will make.
    monkeypatch.setattr(pipeline, "EMBED_GROUP", SMALL_GROUP)
    ref_records = txt_records("ref-records")
    ref = make_index(Settings(data_dir=tmp_path / "ref"))
    if scenario == "edit":
        Ingestor(ref).ingest([ref_records])
        apply_edits(ref_records)
    ops = instrument(ref, lambda n, name: None)
    Ingestor(ref).ingest([ref_records])
    clean = ref
    if scenario == "edit":  # the reference after its edit must itself match a clean ingest
        clean = make_index(Settings(data_dir=tmp_path / "clean"))
        assert Ingestor(clean).ingest([ref_records]).errors == []
        assert snapshot(ref) == snapshot(clean)

    kill_at = rng.randint(1, len(ops))
    # none, within the write (most take 5-30 ms), or long enough to land in a later step
    delay = rng.choice([0.0, rng.uniform(0.0, 0.03), rng.uniform(0.03, 0.3)])
    records = txt_records("records")
    data = tmp_path / "data"
    proc = subprocess.run(
        [sys.executable, "-c", KILL_SCRIPT, str(data), str(records), scenario, str(kill_at), f"{delay:.4f}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    plan = (
        f"seed {seed}: {scenario}, kill in write {kill_at}/{len(ops)} ({ops[kill_at - 1]}) after {delay * 1000:.0f} ms"
    )
    assert proc.returncode == -signal.SIGKILL, f"{plan}\n{proc.stdout}\n{proc.stderr}"
    assert f"KILL IN {kill_at} {ops[kill_at - 1]}" in proc.stdout, plan

    index = make_index(Settings(data_dir=data))
    report = Ingestor(index).ingest([records])
    assert report.errors == [], plan
    assert snapshot(index) == snapshot(clean), plan
    assert index.store.count() == clean.store.count(), plan
    # the lexical index holds exactly the store's texts (ids alone would miss an updated answer)
    assert lexical_digests(index) == store_digests(index) == store_digests(clean), plan
    assert not index.stale_marker.exists()
    # every vector is there and findable: each chunk is among its own nearest neighbours. The edit copies a record
    # under another number, so a pair and its copy have near-identical vectors and tie for first: among the nearest
    # 3 the approximate search could return the copy's pairs instead (seen once in CI), among the nearest 10 not.
    # A chunk Chroma's search graph lost after the deletes (chroma-core/chroma#7758, seen once in CI before the
    # ingest checked for them) is added again by the re-run's repair_search.
    embedder = index.embedder
    chunks, stored = index.store.vectors(index.store.ids())
    assert len(chunks) == index.store.count(), plan
    for chunk, vector in zip(chunks, stored, strict=True):
        own = np.asarray(embedder.embed_passages([chunk.text])[0], dtype=np.float32)
        assert np.allclose(vector, own, atol=1e-5), (plan, chunk.id)
        hits = index.store.query(own, k=10)
        assert chunk.id in {h.chunk.id for h in hits}, (plan, chunk.id)
    print(plan)


def test_kill_before_the_lexical_save_is_repaired_by_the_next_run(tmp_path, txt_records):
    """Deterministic version of the case random kills found: an answer updated in the store, the process
    gone before the lexical index was saved. The re-run finds nothing to write, yet must rebuild it."""
    records = txt_records("records")
    index = make_index(Settings(data_dir=tmp_path / "data"))
    Ingestor(index).ingest([records])
    path = records / HAITIAN  # only an answer changes: the same chunk ids, one new text
    path.write_text(path.read_text(encoding="utf-8").replace("同比增长50.00%", "同比增长55.00%", 1), encoding="utf-8")

    class Killed(Exception):
        pass

    def die(n, name):
        if name == "lexical":
            raise Killed

    instrument(index, die)
    with pytest.raises(Killed):
        Ingestor(index).ingest([records])
    assert lexical_digests(index) != store_digests(index)  # the lexical index still has the old texts

    again = make_index(Settings(data_dir=tmp_path / "data"))
    report = Ingestor(again).ingest([records])
    assert (report.chunks_added, report.chunks_updated, report.chunks_removed) == (0, 0, 0)
    assert lexical_digests(again) == store_digests(again)
    hits = again.ensure_lexical().search("同比增长55.00%", k=3)
    assert hits and hits[0][0] == "688787:2024-013:q1:p0"


def test_a_chunk_the_search_graph_lost_is_added_again_and_reported(tmp_path, txt_records, monkeypatch):
    """After writing, an ingest checks that a search finds every chunk (Chroma's graph can lose some after deletes
    and updates: reproduced in tests/rag/test_store.py); here the store reports one chunk lost, once."""
    records = txt_records("records")
    index = make_index(Settings(data_dir=tmp_path / "data"))
    Ingestor(index).ingest([records])
    path = records / HAITIAN
    path.write_text(path.read_text(encoding="utf-8").replace("同比增长50.00%", "同比增长55.00%", 1), encoding="utf-8")
    lost = next(i for i in index.store.ids() if i.startswith("000333:"))  # a record the edit leaves alone
    store = index.store
    checks: list[list[str]] = []
    real_unfindable, real_reinsert = store.unfindable, store.reinsert

    def unfindable() -> list[str]:
        checks.append([lost] if not checks else real_unfindable())
        return checks[-1]

    readded: list[str] = []
    monkeypatch.setattr(store, "unfindable", unfindable)
    monkeypatch.setattr(store, "reinsert", lambda ids: (readded.extend(ids), real_reinsert(ids)))
    hashes = store.hashes()

    report = Ingestor(index).ingest([records])
    assert report.chunks_updated > 0 and report.chunks_relinked == 1
    assert readded == [lost] and checks == [[lost], []]
    assert [w.file for w in report.warnings if "could not be found by dense search" in w.error] == [store.location]
    assert store.hashes()[lost] == hashes[lost]  # the same chunk, written again
    assert lexical_digests(index) == store_digests(index)
    _, vectors = store.vectors([lost])
    assert lost in {h.chunk.id for h in store.query(vectors[0], k=3)}

    again = Ingestor(index).ingest([records])  # nothing written: nothing to check
    assert (again.chunks_updated, again.chunks_relinked, len(checks)) == (0, 0, 2)


LOCK_SCRIPT = """
import sys, time
from pathlib import Path
from ingest.pipeline import Ingestor
from rag.index import Index
from rag.settings import Settings
from tests.fakes import HashEmbedder

data, records, release = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])

class Held(HashEmbedder):
    def embed_passages(self, texts):
        deadline = time.monotonic() + 60
        while not release.exists() and time.monotonic() < deadline:  # hold the lock until told
            time.sleep(0.05)
        return super().embed_passages(texts)

told = []
def locked(path):  # called per record, inside the lock
    if not told:
        told.append(print("LOCKED", flush=True))

report = Ingestor(Index(Settings(data_dir=data), embedder=Held())).ingest([records], on_file=locked)
print("DONE", report.chunks_added, len(report.errors), flush=True)
"""


@pytest.mark.slow
def test_two_ingests_at_once_wait_or_refuse_and_the_index_stays_whole(tmp_path, txt_records, monkeypatch):
    from typer.testing import CliRunner

    from ui import cli

    records = txt_records("records")
    data, release = tmp_path / "data", tmp_path / "release"
    first = subprocess.Popen(
        [sys.executable, "-c", LOCK_SCRIPT, str(data), str(records), str(release)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert first.stdout is not None
        assert first.stdout.readline().strip() == "LOCKED"

        # a second ingest that will not wait long refuses, naming the lock and the setting
        t0 = time.monotonic()
        with pytest.raises(LockError, match=r"another ingest holds .*ingest\.lock.*IRCHAT_LOCK_TIMEOUT"):
            Ingestor(make_index(Settings(data_dir=data, lock_timeout=0.5))).ingest([records])
        assert time.monotonic() - t0 >= 0.5
        with pytest.raises(LockError):  # removing a record is a write too
            Ingestor(make_index(Settings(data_dir=data, lock_timeout=0.2))).remove("688787", "2024-013")
        # the CLI: exit code 2, the reason on stderr
        monkeypatch.setenv("IRCHAT_DATA_DIR", str(data))
        monkeypatch.setenv("IRCHAT_LOCK_TIMEOUT", "0.2")
        monkeypatch.setattr(cli, "_index", lambda: make_index(Settings()))
        result = CliRunner().invoke(cli.app, ["ingest", str(records), "--json"])
        assert result.exit_code == 2 and "another ingest holds" in result.output

        # one that waits gets the lock when the first is done, and finds everything written
        threading.Timer(0.5, release.touch).start()
        t0 = time.monotonic()
        waited = make_index(Settings(data_dir=data, lock_timeout=60))
        report = Ingestor(waited).ingest([records])
        assert time.monotonic() - t0 >= 0.4
        assert first.wait(timeout=60) == 0
        out = first.stdout.read().split()
        assert out[0] == "DONE" and int(out[1]) > 0 and out[2] == "0"
    finally:
        release.touch()
        if first.poll() is None:
            first.kill()
    assert report.errors == [] and report.chunks_added == report.chunks_updated == 0
    assert report.chunks_unchanged == int(out[1])
    clean = make_index(Settings(data_dir=tmp_path / "clean"))
    Ingestor(clean).ingest([records])
    assert snapshot(waited) == snapshot(clean)
    assert lexical_digests(waited) == store_digests(clean)


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
    assert data["records"] == N_BUNDLED and data["errors"][0]["file"].endswith("empty.txt")

    result = runner.invoke(cli.app, ["records", "--json"])
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert len(rows) == N_BUNDLED
    haitian = next(r for r in rows if r["record"] == "2024-013")
    assert haitian["stock_code"] == "688787" and haitian["pairs"] == 9 and haitian["source"].endswith(".txt")


# --------------------------------------------------------------------------------------------- identities


def _meeting(day: int, number: str = "2023-007", pairs: int = 3) -> str:
    """A record of one company's meeting on 2023-03-``day`` printing ``number`` (a form as the Word export)."""
    from rag.types import QAPair, Record
    from tests.ingest.conftest import form_text

    pairs_ = [QAPair(i, f"第{day}日的问题{i}？", f"第{day}日回答{i}，增长{i}0%。") for i in range(1, pairs + 1)]
    record = Record(
        company="示例电子股份有限公司",
        record=number,
        pairs=pairs_,
        activity_types=["特定对象调研"],
        participants=f"参会机构{day}",
        date_text=f"2023年3月{day}日",
        receptionists="董事会秘书",
    )
    return "证券代码：654321 证券简称：示例电子\n" + form_text(record)


def test_a_number_printed_on_two_meetings_keeps_both_told_apart_by_date(tmp_path):
    folder = tmp_path / "recs" / "example-654321"
    folder.mkdir(parents=True)
    # the later meeting's file sorts first: the earlier meeting still keeps the printed number
    (folder / "a-later.txt").write_text(_meeting(9), encoding="utf-8")
    (folder / "b-earlier.txt").write_text(_meeting(2), encoding="utf-8")
    index = make_index(Settings(data_dir=tmp_path / "data"))
    report = Ingestor(index).ingest([folder])
    assert report.errors == [] and report.records == 2
    records = {c.record: c for c in index.records()}
    assert set(records) == {"2023-007", "2023-007 (2023-03-09)"}
    assert records["2023-007"].source.endswith("b-earlier.txt")
    [warning] = [w for w in report.warnings if "also printed" in w.error]
    assert warning.file.endswith("a-later.txt") and "'2023-007 (2023-03-09)'" in warning.error
    ids = set(snapshot(index))
    assert "654321:2023-007 (2023-03-09):q1:p0" in ids and "654321:2023-007:q1:p0" in ids
    # re-ingesting, all of it or the later file alone, keeps every identity and writes nothing
    again = Ingestor(index).ingest([folder])
    alone = Ingestor(index).ingest([folder / "a-later.txt"])
    for r in (again, alone):
        assert r.errors == [] and r.chunks_added == r.chunks_updated == r.chunks_removed == 0
    assert set(snapshot(index)) == ids


def test_the_same_record_in_two_files_is_indexed_once(tmp_path):
    from tests.ingest.conftest import write_pdf

    folder = tmp_path / "recs" / "example-654321"
    folder.mkdir(parents=True)
    text = _meeting(2)
    (folder / "record.txt").write_text(text, encoding="utf-8")
    write_pdf(text, folder / "record.pdf")
    index = make_index(Settings(data_dir=tmp_path / "data"))
    report = Ingestor(index).ingest([folder])
    assert report.errors == [] and report.records == 1
    [warning] = report.warnings
    assert warning.file.endswith("record.txt") and "same record as" in warning.error and "indexed once" in warning.error
    assert [c.record for c in index.records()] == ["2023-007"]
    # and once more against the store: the copy is recognised, nothing written
    again = Ingestor(index).ingest([folder / "record.txt"])
    assert again.errors == [] and again.chunks_added == 0 and "indexed once" in again.warnings[0].error


def test_a_dated_identity_for_a_record_without_number(tmp_path):
    folder = tmp_path / "recs" / "example-654321"
    folder.mkdir(parents=True)
    (folder / "r.txt").write_text(_meeting(2, number="2023-00X"), encoding="utf-8")
    index = make_index(Settings(data_dir=tmp_path / "data"))
    report = Ingestor(index).ingest([folder])
    assert report.errors == [] and [c.record for c in index.records()] == ["2023-03-02"]
    assert any("identified by its date 2023-03-02" in w.error for w in report.warnings)
    chunk = index.store.get(ids=["654321:2023-03-02:q1:p0"])[0]
    assert chunk.citation.key(with_company=True) == "[示例电子 2023-03-02 Q1]"
    assert "编号：2023-00X" in index.store.get(ids=["654321:2023-03-02:meta"])[0].text  # as printed


def test_ingest_embeds_each_answer_and_sentence_by_itself_into_the_cache_and_stores_the_chunks_own_vectors(
    tmp_path, records
):
    from rag.answering.features import Vectors, candidates
    from rag.answering.question import analyse
    from rag.embed_cache import CachedEmbedder
    from rag.types import Hit

    inner = HashEmbedder()
    settings = Settings(data_dir=tmp_path / "data")
    index = Index(settings, embedder=CachedEmbedder(inner, settings.cache_dir))
    report = Ingestor(index).ingest([records / HAITIAN])
    assert report.errors == [] and report.records == 1
    chunks = index.store.get()
    answers = {c.answer_alone for c in chunks if c.kind == "qa"}
    assert answers and all(answers) and not any(c.answer_alone for c in chunks if c.kind != "qa")
    said = {s for c in chunks for s in c.said}
    assert said - answers and all(s in c.text for c in chunks for s in c.said)
    assert inner.texts_embedded == len(chunks) + len(answers | said)
    # each chunk is stored with its own text's vector, not an answer's: it is its own nearest neighbour
    for chunk in chunks:
        hits = index.store.query(inner.embed_passages([chunk.text])[0], k=1)
        assert hits[0].chunk.id == chunk.id
    # answering a question over these passages embeds no passage, answer or sentence again (the pairs' questions,
    # "问：…", are embedded at the first question that needs them)
    cands = candidates([Hit(c, 1.0) for c in chunks if c.kind == "qa"], limit=50)
    question = analyse("海天瑞声的境外收入增长了多少？")
    before = inner.texts_embedded
    Vectors.of(index.embedder, question, cands)
    asked = {f"问：{c.asked}" for c in cands if c.asked}
    assert inner.texts_embedded - before == len(asked)
