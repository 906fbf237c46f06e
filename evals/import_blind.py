"""Turn a blind set written against the records' files (``{"file", "q", "quote"}``, see evals/gold/blind) into
gold questions with citation keys, checking every quote against the parsed passage it cites.

    python -m evals.import_blind evals/gold/blind/companies8.source.jsonl evals/gold/companies8.jsonl
    python -m evals.import_blind evals/gold/blind/drafts8.source.jsonl evals/gold/drafts8.jsonl --drafts

Identities come from a real ingest of the records folder (hash vectors, a temporary index), so a number printed
on two meetings gets the dated identity the index gives it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from pathlib import Path

from evals.gold import passage_key
from ingest.pipeline import Ingestor
from rag.index import Index
from rag.settings import Settings
from rag.types import Chunk


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _passages(records: Path) -> dict[tuple[str, str], Chunk]:
    """(file relative to ``records``, q as the blind set writes it) → the passage, whole (parts joined)."""
    from tests.fakes import HashEmbedder  # the vectors do not matter here; only identities and texts do

    with tempfile.TemporaryDirectory() as tmp:
        index = Index(Settings(data_dir=Path(tmp)), embedder=HashEmbedder())
        Ingestor(index).ingest([records])
        chunks = index.store.get()
    out: dict[tuple[str, str], Chunk] = {}
    for chunk in sorted(chunks, key=lambda c: (c.id, c.part)):
        rel = Path(chunk.source).resolve().relative_to(records.resolve()).as_posix()
        q = str(chunk.question) if chunk.kind == "qa" else chunk.kind
        q = "record" if chunk.kind == "record" else q
        if (rel, q) in out:
            prev = out[(rel, q)]
            out[(rel, q)] = Chunk(**{**prev.__dict__, "text": prev.text + "\n" + chunk.text})
        else:
            out[(rel, q)] = chunk
    return out


def convert(source: Path, records: Path, drafts: bool = False) -> list[dict]:
    """The converted rows; raises ValueError naming the row whose quote is not in the passage it cites."""
    passages = _passages(records)
    rows = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]
    out = []
    for row in rows:
        refs = [row["source"]] if drafts and row.get("source") else row.get("expected", [])
        keys = []
        for ref in refs:
            chunk = passages.get((ref["file"], str(ref["q"])))
            if chunk is None or _norm(ref["quote"]) not in _norm(chunk.text):
                raise ValueError(f"{row['id']}: quote {ref['quote']!r} not in {ref['file']} {ref['q']}")
            keys.append(passage_key(chunk))
        if drafts:
            new = {k: v for k, v in row.items() if k != "source"}
            new["source"] = keys[0] if keys else None
        else:
            new = {k: v for k, v in row.items() if k != "expected"}
            new["expected"] = list(dict.fromkeys(keys))
        out.append(new)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--records", type=Path, default=Path("../shared/records"))
    parser.add_argument("--drafts", action="store_true", help="a draft-check set (one source per draft)")
    args = parser.parse_args(argv)
    rows = convert(args.source, args.records, args.drafts)
    args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"{len(rows)} rows → {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
