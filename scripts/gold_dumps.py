"""Write the record dumps blind gold-question helpers read: every passage of an index, one file per stock code,
records oldest first, each passage under its citation key as the index cites it (``[[300499 2024-004 Q3]]``;
metadata, opening presentation, then the pairs, a long pair's parts joined). Their checker is
evals/gold/blind11/check.py.

    IRCHAT_DATA_DIR=... python scripts/gold_dumps.py OUT_DIR
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

from rag.index import Index
from rag.settings import Settings
from rag.types import Chunk

_ORDER = {"record": 0, "intro": 1, "qa": 2}


def dump(chunks: list[Chunk]) -> str:
    """One company's passages as the helpers read them."""
    records: dict[tuple[str, str, str], list[Chunk]] = defaultdict(list)
    for c in chunks:
        records[(c.date, c.record, c.source)].append(c)
    lines: list[str] = []
    for (day, _, source), in_record in sorted(records.items()):
        lines.append(f"==================== RECORD {Path(source).name} (meeting date {day}) ====================")
        passages: dict[str, list[Chunk]] = {}
        for c in sorted(in_record, key=lambda c: (_ORDER.get(c.kind, 3), c.question or 0, c.part)):
            passages.setdefault(c.citation.passage, []).append(c)
        for key, parts in passages.items():
            lines += [f"[[{key}]]", "\n".join(p.text for p in parts), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    args = ap.parse_args(argv)
    by_company: dict[str, list[Chunk]] = defaultdict(list)
    for c in Index(Settings()).store.get():
        by_company[c.stock_code or c.company].append(c)
    args.out.mkdir(parents=True, exist_ok=True)
    for code, chunks in sorted(by_company.items()):
        (args.out / f"{code}.txt").write_text(dump(chunks), encoding="utf-8")
        print(code, len(chunks), "passages")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
