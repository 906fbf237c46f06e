"""Every real record under ../shared/records: the parser against the checked-in manifest and against an
independent count of the questions each record prints; then the whole folder through the ingest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.parser import parse_file
from ingest.pipeline import Ingestor
from rag.index import Index
from rag.settings import Settings
from tests.fakes import HashEmbedder
from tests.ingest.conftest import shared_records_dir
from tests.ingest.manifest import load, row
from tests.ingest.marker_count import count_questions

ROOT = shared_records_dir()
NOT_RECORDS = ROOT.parent / "not-records"
MANIFEST = load()
pytestmark = pytest.mark.skipif(not ROOT.is_dir(), reason=f"no real records at {ROOT}")


def _files() -> list[str]:
    if not ROOT.is_dir():
        return []
    return sorted(p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*") if p.suffix.lower() in (".pdf", ".txt"))


@pytest.fixture(scope="module")
def parsed() -> dict[str, dict]:
    return {f: row(parse_file(ROOT / f), f) for f in _files()}


def test_every_file_is_in_the_manifest(parsed) -> None:
    assert sorted(parsed) == sorted(MANIFEST)


def test_parser_matches_the_reviewed_manifest(parsed) -> None:
    moved = {f: (MANIFEST[f], got) for f, got in parsed.items() if MANIFEST.get(f) != got}
    assert not moved, "rows moved (review them against the PDF):\n" + "\n".join(
        f"{f}\n  manifest {json.dumps(a, ensure_ascii=False)}\n  parsed   {json.dumps(b, ensure_ascii=False)}"
        for f, (a, b) in moved.items()
    )


def test_pair_counts_equal_an_independent_count_of_question_markers(parsed) -> None:
    counted = {f: count_questions(ROOT / f) for f in parsed}
    differ = {f: (counted[f], r["pairs"]) for f, r in parsed.items() if counted[f] != r["pairs"]}
    assert not differ, f"(markers counted, pairs parsed): {differ}"


def test_activity_types_on_nearly_every_record(parsed) -> None:
    typed = sum(bool(r["types"]) for r in parsed.values())
    assert typed >= 0.97 * len(parsed), [f for f, r in parsed.items() if not r["types"]]


@pytest.mark.slow  # parses and writes all 156 records (hash vectors, embedded Chroma): about a minute
def test_ingest_of_every_real_record_and_the_not_records(tmp_path: Path) -> None:
    index = Index(Settings(data_dir=tmp_path / "data"), embedder=HashEmbedder())
    report = Ingestor(index).ingest([ROOT, NOT_RECORDS])
    assert sorted(Path(e.file).name for e in report.errors) == sorted(p.name for p in NOT_RECORDS.rglob("*.pdf"))
    assert all("not an investor-relations activity record" in e.error for e in report.errors)
    # every meeting once, under an identity of its own
    records = index.records()
    assert report.records == len(records) == len(MANIFEST)
    keys = [c.record_key for c in records]
    assert len(set(keys)) == len(keys)
    assert {c.source for c in records} == {str(ROOT / f) for f in MANIFEST}
    by_source = {Path(c.source).relative_to(ROOT).as_posix(): c.record for c in records}
    reused = [
        f
        for f, r in MANIFEST.items()
        if sum(m["record"] == r["record"] and m["stock_code"] == r["stock_code"] for m in MANIFEST.values()) > 1
    ]
    assert reused, "the manifest has numbers printed on two meetings (高澜股份 2021-012, 景嘉微 2025-005)"
    for f in reused:
        assert by_source[f] in (MANIFEST[f]["record"], f"{MANIFEST[f]['number']} ({MANIFEST[f]['dates'][0]})")
    assert len({by_source[f] for f in reused}) == len(reused)
    again = Ingestor(index).ingest([ROOT, NOT_RECORDS])
    assert again.chunks_added == again.chunks_updated == again.chunks_removed == 0
    assert len(again.errors) == len(report.errors)
