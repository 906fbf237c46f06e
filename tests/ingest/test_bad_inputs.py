"""The bad-input corpus (tests/fixtures/bad/make_bad.py) through the real ``irchat ingest``: every bad file
named with its problem, the valid records indexed, a re-run changing nothing; plus folder walking.

Exit codes, as documented in the README: 1 when any file failed (the rest of the batch is indexed), 0 when
every file was indexed (warnings alone do not fail), 2 when the ingest could not run at all (e.g. the lock).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ingest.pipeline import Ingestor, discover
from rag.index import Index
from rag.settings import Settings
from tests.fakes import HashEmbedder
from tests.fixtures.bad.make_bad import (
    DUPLICATE_DIR,
    DUPLICATE_FILE,
    DUPLICATE_OF,
    ERROR_FILES,
    FIFO_FILE,
    GAPS_FILE,
    GOOD_DIR,
    INDEXED_FILES,
    INJECTION_FILE,
    INJECTION_QUESTION,
    INJECTION_TEXT,
    SIZE_LIMIT_MB,
    WARNING_FILES,
    build_bad_corpus,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def corpus(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    dest = tmp_path / "bad corpus 坏文件"
    expected = build_bad_corpus(dest, fifo=True)
    fifo = dest / FIFO_FILE
    if not fifo.exists():
        yield dest, expected
        return
    # An ingest that opened the pipe would block for ever; this turns that into a failure instead: it
    # unblocks any reader (open for writing succeeds only while one waits, then EOF) and says so.
    readers: list[str] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(0.5):
            try:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
                readers.append("opened")
            except OSError:  # ENXIO: nobody is reading it
                continue

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    yield dest, expected
    stop.set()
    watcher.join()
    assert not readers, f"something opened {FIFO_FILE} for reading instead of refusing it"


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The CLI configured only through IRCHAT_* variables, with the hash embedder instead of the model."""
    from ui import cli

    data = tmp_path / "data"
    monkeypatch.setenv("IRCHAT_DATA_DIR", str(data))
    monkeypatch.setenv("IRCHAT_MAX_FILE_MB", str(SIZE_LIMIT_MB))
    monkeypatch.setattr(cli, "_index", lambda: Index(Settings(), embedder=HashEmbedder()))
    return data


def run_cli(*args: str) -> tuple[int, dict]:
    from ui import cli

    result = CliRunner().invoke(cli.app, ["ingest", *args, "--json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(result.stdout)


def by_name(entries: list[dict]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for e in entries:
        out.setdefault(Path(e["file"]).name, []).append(e["error"])
    return out


def test_corpus_layout(corpus) -> None:
    dest, expected = corpus
    assert INDEXED_FILES <= set(expected) <= ERROR_FILES | INDEXED_FILES
    assert not ERROR_FILES & INDEXED_FILES
    assert (dest / "huge.txt").stat().st_size > SIZE_LIMIT_MB * 1024 * 1024
    assert sum(1 for name in expected if not expected[name]) >= 3  # two good records and the injection one
    assert (dest / "loop").is_symlink() and (dest / "loop").resolve() == dest.resolve()


def test_every_bad_file_is_named_with_its_problem_and_the_rest_indexed(corpus, cli_env) -> None:
    dest, expected = corpus
    code, report = run_cli(str(dest))
    assert code == 1  # some files failed

    errors, warnings = by_name(report["errors"]), by_name(report["warnings"])
    # every error is about a file of the corpus, and every bad file has exactly one, naming its problem
    assert set(errors) == {n for n in expected if n in ERROR_FILES}, errors
    for name, messages in errors.items():
        assert len(messages) == 1, (name, messages)
        assert expected[name] in messages[0].lower(), (name, messages[0])
    for e in report["errors"]:
        assert Path(e["file"]).is_relative_to(dest), e  # the full path, unicode and spaces included
    # the duplicate is named with the file it collides with
    dup = errors[DUPLICATE_FILE][0]
    assert DUPLICATE_OF in dup and "2024-013" in dup
    assert next(e["file"] for e in report["errors"] if e["file"].endswith(DUPLICATE_FILE)).endswith(
        f"{DUPLICATE_DIR}/{DUPLICATE_FILE}"
    )

    assert set(warnings) == set(WARNING_FILES)
    assert warnings[GAPS_FILE] == ["question numbering has a gap: 2 → 4 (no question 3); the pairs are kept"]

    index = Index(Settings(data_dir=cli_env, max_file_mb=SIZE_LIMIT_MB), embedder=HashEmbedder())
    indexed = {Path(c.source).name: c for c in index.records()}
    assert set(indexed) == set(INDEXED_FILES)
    assert {(c.stock_code, c.record, c.short_name) for c in indexed.values()} == {
        ("688787", "2024-013", "海天瑞声"),
        ("688787", "2025-004", "海天瑞声"),
        ("688787", "2024-901", "海天瑞声"),
        ("688787", "2024-902", "海天瑞声"),
    }
    assert report["records"] == 4 and report["pairs"] == sum(c.n_pairs for c in indexed.values())
    # the unicode-and-spaces record is the one indexed for 2024-013, not the duplicate
    assert indexed[DUPLICATE_OF].record == "2024-013"
    stored = index.store.get(ids=["688787:2024-013:q1:p0"])[0]
    assert "同比增长50.00%" in stored.text and Path(stored.source).parent.name == GOOD_DIR

    # gaps: questions 1, 2, 4…9 kept under their printed numbers
    gaps = index.store.get(where={"record_key": "688787/2024-901"})
    assert sorted(c.question for c in gaps if c.kind == "qa") == [1, 2, 4, 5, 6, 7, 8, 9]
    assert indexed[GAPS_FILE].n_pairs == 8

    # instructions aimed at the model are data: stored verbatim, like any other answer
    assert indexed[INJECTION_FILE].record == "2024-902"
    [injected] = index.store.get(ids=["688787:2024-902:q10:p0"])
    assert injected.answer_text == INJECTION_TEXT and INJECTION_TEXT in injected.text
    assert injected.question_text == INJECTION_QUESTION.split("、", 1)[1]
    assert set(index.ensure_lexical().ids) == set(index.store.hashes())


def test_rerun_changes_nothing_and_reports_the_same(corpus, cli_env) -> None:
    dest, _ = corpus
    _, first = run_cli(str(dest))
    index = Index(Settings(data_dir=cli_env), embedder=HashEmbedder())
    before = index.store.hashes()
    index.store.close()

    code, again = run_cli(str(dest))
    assert code == 1
    assert (again["chunks_added"], again["chunks_updated"], again["chunks_removed"]) == (0, 0, 0)
    assert again["chunks_unchanged"] == first["chunks_added"] == len(before)
    assert by_name(again["errors"]).keys() == by_name(first["errors"]).keys()
    assert again["warnings"] == first["warnings"]
    after = Index(Settings(data_dir=cli_env), embedder=HashEmbedder()).store.hashes()
    assert after == before  # no duplicates, nothing lost


def test_valid_records_alone_exit_zero_even_with_a_warning(corpus, cli_env) -> None:
    dest, _ = corpus
    code, report = run_cli(str(dest / GOOD_DIR))
    assert code == 0 and report["errors"] == [] and report["records"] == 4
    assert [Path(w["file"]).name for w in report["warnings"]] == [GAPS_FILE]


def test_duplicate_of_an_indexed_record_is_refused_and_loses_nothing(corpus, tmp_path) -> None:
    dest, _ = corpus
    index = Index(Settings(data_dir=tmp_path / "data"), embedder=HashEmbedder())
    assert Ingestor(index).ingest([dest / GOOD_DIR]).errors == []
    before = index.store.hashes()
    report = Ingestor(index).ingest([dest / DUPLICATE_DIR / DUPLICATE_FILE])
    [error] = report.errors
    assert error.file.endswith(DUPLICATE_FILE)
    assert DUPLICATE_OF in error.error and "already indexed" in error.error and "irchat remove" in error.error
    assert index.store.hashes() == before
    assert "50.00%" in index.store.get(ids=["688787:2024-013:q1:p0"])[0].text


@pytest.mark.slow  # a fresh interpreter importing chromadb and jieba: ~10 s on a busy 2-core machine
def test_real_cli_process_exit_code_and_clean_json(corpus, tmp_path) -> None:
    """The same through a separate ``irchat`` process (``ui.cli.app``, its stdout and exit code) configured
    by IRCHAT_* variables alone; only the embedding model is swapped for the hash embedder."""
    dest, expected = corpus
    script = (
        "import sys\nfrom ui import cli\nfrom rag.index import Index\nfrom rag.settings import Settings\n"
        "from tests.fakes import HashEmbedder\n"
        "cli._index = lambda: Index(Settings(), embedder=HashEmbedder())\n"
        "sys.argv = ['irchat', *sys.argv[1:]]\ncli.app()\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "IRCHAT_DATA_DIR": str(tmp_path / "data"),
        "IRCHAT_MAX_FILE_MB": str(SIZE_LIMIT_MB),
    }
    proc = subprocess.run(
        [sys.executable, "-c", script, "ingest", str(dest), "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)  # nothing but the JSON on stdout
    assert "Traceback" not in proc.stderr
    assert {Path(e["file"]).name for e in report["errors"]} == set(ERROR_FILES) & set(expected)
    assert report["records"] == len(INDEXED_FILES)


# --------------------------------------------------------------------------------------------- discover


def _discover_with_timeout(path: Path, seconds: float = 20.0):
    result: list = []
    worker = threading.Thread(target=lambda: result.append(discover([path])), daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"discover() did not return within {seconds} s"
    return result[0]


def test_symlink_loops_end_and_each_file_is_found_once(corpus) -> None:
    dest, _ = corpus
    files, errors = _discover_with_timeout(dest)
    names = [p.name for p in files]
    assert len(names) == len(set(names))  # nothing found twice through the "loop -> ." link
    assert not any("loop" in p.relative_to(dest).parts for p in files)
    assert {Path(e.file).name for e in errors} == {"loop-a.txt", "loop-b.txt"}
    assert all("symlink loop" in e.error for e in errors)
    # given directly, the looping links are errors too, not hangs
    files, errors = _discover_with_timeout(dest / "loop-a.txt")
    assert files == [] and "symlink loop" in errors[0].error


def test_symlinked_folders_are_followed(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere" / "haitian-688787"
    elsewhere.mkdir(parents=True)
    (elsewhere / "r.txt").write_text("编号：1\nQ：问题？\nA：回答。\n", encoding="utf-8")
    root = tmp_path / "records"
    root.mkdir()
    (root / "linked").symlink_to(elsewhere, target_is_directory=True)
    (root / "again").symlink_to(elsewhere, target_is_directory=True)  # a second route to the same folder
    files, errors = _discover_with_timeout(root)
    assert errors == [] and len(files) == 1 and files[0].name == "r.txt"


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() == 0, reason="root reads any folder")
def test_unreadable_folder_is_reported(tmp_path: Path) -> None:
    locked = tmp_path / "records" / "locked"
    locked.mkdir(parents=True)
    (locked / "r.txt").write_text("x", encoding="utf-8")
    locked.chmod(0)
    try:
        files, errors = discover([tmp_path / "records"])
    finally:
        locked.chmod(0o755)
    assert files == [] and errors and "cannot read folder" in errors[0].error


def test_file_gone_between_discovery_and_reading_is_an_error_not_a_crash(corpus, tmp_path, monkeypatch) -> None:
    import ingest.pipeline as pipeline

    dest, _ = corpus
    gone = dest / GOOD_DIR / "deleted meanwhile.txt"
    found, errors = discover([dest / GOOD_DIR])
    monkeypatch.setattr(pipeline, "discover", lambda paths: ([*found, gone], errors))
    report = Ingestor(Index(Settings(data_dir=tmp_path / "data"), embedder=HashEmbedder())).ingest([dest / GOOD_DIR])
    assert [(Path(e.file).name, e.error) for e in report.errors] == [
        ("deleted meanwhile.txt", "cannot be read: No such file or directory")
    ]
    assert report.records == 4
