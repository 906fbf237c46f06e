"""The shipped gold files load, and every citation they expect is a passage of the bundled records."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.gold import load_gold
from evals.run import key
from ingest.parser import parse_file
from tests.conftest import BUNDLED

GOLD_DIR = Path(__file__).resolve().parents[2] / "evals" / "gold"


def bundled_keys() -> set[str]:
    keys: set[str] = set()
    for path in sorted(BUNDLED.rglob("*")):
        if path.suffix.lower() not in (".txt", ".docx", ".pdf"):
            continue
        record = parse_file(path)
        keys.add(record.record)
        if record.intro:
            keys.add(f"{record.record} intro")
        keys.update(f"{record.record} Q{pair.index}" for pair in record.pairs)
    return keys


@pytest.mark.parametrize("name", ["gold.jsonl", "fresh.jsonl", "fresh2.jsonl"])
def test_gold_file_cites_only_bundled_passages(name):
    questions = load_gold(GOLD_DIR / name)
    known = bundled_keys()
    assert questions and len({q.id for q in questions}) == len(questions)
    for q in questions:
        assert {key(k) for k in q.expected} <= known, q.id
        assert q.expected or q.kind == "unanswerable", q.id
