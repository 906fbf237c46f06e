"""The shipped gold files load, and every citation they expect is a passage of the bundled records."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.gold import load_gold
from ingest.parser import parse_file
from tests.conftest import BUNDLED

GOLD_DIR = Path(__file__).resolve().parents[2] / "evals" / "gold"


def bundled_keys() -> set[str]:
    keys: set[str] = set()
    for path in sorted(BUNDLED.rglob("*")):
        if path.suffix.lower() not in (".txt", ".docx", ".pdf"):
            continue
        record = parse_file(path)
        head = f"{record.stock_code} {record.record}"
        keys.add(head)
        if record.intro:
            keys.add(f"{head} intro")
        keys.update(f"{head} Q{pair.index}" for pair in record.pairs)
    return keys


@pytest.mark.parametrize("name", ["gold.jsonl", "fresh.jsonl", "fresh2.jsonl"])
def test_gold_file_cites_only_bundled_passages(name):
    questions = load_gold(GOLD_DIR / name)
    known = bundled_keys()
    assert questions and len({q.id for q in questions}) == len(questions)
    for q in questions:
        assert set(q.expected) <= known, q.id
        assert q.expected or q.kind == "unanswerable", q.id
