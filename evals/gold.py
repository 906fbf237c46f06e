"""Gold questions: the JSONL format (see evals/gold/README.md) and loading it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_GOLD = Path(__file__).parent / "gold" / "gold.jsonl"
KINDS = ("fact", "paraphrase", "cross-lingual", "multi-hop", "metadata", "unanswerable")


@dataclass
class GoldQuestion:
    """One question with the citations that answer it (empty: the records do not) and facts an answer states."""

    id: str
    question: str
    lang: str
    expected: list[str]
    facts: list[str] = field(default_factory=list)
    kind: str = "fact"
    company: str | None = None

    @property
    def answerable(self) -> bool:
        """Whether the records answer it."""
        return bool(self.expected)


def load_gold(path: str | Path = DEFAULT_GOLD) -> list[GoldQuestion]:
    """Read a gold JSONL file; a bad line raises ValueError naming the file and line."""
    out: list[GoldQuestion] = []
    seen: set[str] = set()
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            q = GoldQuestion(
                id=str(row["id"]),
                question=row["question"],
                lang=row.get("lang") or "zh",
                expected=list(row.get("expected") or []),
                facts=list(row.get("facts") or []),
                kind=row.get("kind") or ("fact" if row.get("expected") else "unanswerable"),
                company=row.get("company"),
            )
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise ValueError(f"{path} line {n}: not a gold question ({e})") from e
        if q.id in seen:
            raise ValueError(f"{path} line {n}: duplicate id {q.id!r}")
        seen.add(q.id)
        out.append(q)
    return out
