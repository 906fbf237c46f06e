"""The checked-in manifest of ../shared/records: what each real record file parses into.

``tests/fixtures/records_manifest.jsonl`` has one row per file (path relative to the records folder): company,
stock code, record identity and number as printed, meeting dates, activity types, pair count, the first words of
the first and last question. Every row was checked against the PDF by reading it (see its README). The test
compares the parser with it; a parser change that moves a row must be looked at, and the row changed by hand
with the reason in the commit, never regenerated blindly.

    python -m tests.ingest.manifest ../shared/records   # print rows for new files, to review before adding
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from ingest.parser import parse_file
from rag.types import Record

MANIFEST = Path(__file__).resolve().parents[1] / "fixtures" / "records_manifest.jsonl"
WORDS = 12


def row(record: Record, relative: str) -> dict:
    """The manifest row of a parsed record."""
    return {
        "file": relative,
        "company": record.short_name,
        "stock_code": record.stock_code,
        "record": record.record,
        "number": record.number,
        "dates": [d.isoformat() for d in record.dates],
        "types": record.activity_types,
        "pairs": len(record.pairs),
        "first": _words(record.pairs[0].question) if record.pairs else "",
        "last": _words(record.pairs[-1].question) if record.pairs else "",
        "intro": bool(record.intro),
    }


def _words(question: str) -> str:
    # spacing between Chinese and Latin text is the PDF's typesetting, not the question's: left out
    return re.sub(r"\s+", "", question)[:WORDS]


def load() -> dict[str, dict]:
    """Manifest rows by relative path."""
    rows = [json.loads(line) for line in MANIFEST.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {r["file"]: r for r in rows}


def main(folder: str) -> None:
    root = Path(folder)
    for path in sorted(p for p in root.rglob("*") if p.suffix.lower() in (".pdf", ".txt", ".docx")):
        relative = path.relative_to(root).as_posix()
        print(json.dumps(row(parse_file(path), relative), ensure_ascii=False))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/records")
