"""Score the draft check (rag/rehearsal.py) on a draft-check set: one sentence per draft, labelled
``supported``, ``figure_differs`` or ``never_said`` with the passage behind it (evals/gold/drafts8.jsonl)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.rehearsal import Rehearsal


@dataclass
class Draft:
    """One draft sentence with what a check should say of it."""

    id: str
    company: str
    lang: str
    draft: str
    label: str
    source: str | None
    """The passage behind it (``300499 2025-002 Q3``), for supported and figure_differs."""
    past_figure: str | None = None


def load_drafts(path: str | Path) -> list[Draft]:
    """Read a draft-check JSONL file."""
    out = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            out.append(
                Draft(
                    str(row["id"]),
                    str(row["company"]),
                    row.get("lang") or "zh",
                    row["draft"],
                    row["label"],
                    row.get("source"),
                    row.get("past_figure"),
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise ValueError(f"{path} line {n}: not a draft ({e})") from e
    return out


def check(rehearsal: Rehearsal, drafts: Sequence[Draft]) -> dict[str, Any]:
    """Check every draft against its company's records; accuracy per label, changed figures flagged with the
    right citation."""
    rows = []
    for d in drafts:
        result = rehearsal.check_draft(d.draft, {"company": d.company})
        statuses = [s.status for s in result.sentences]
        # A draft is one sentence; split in two, the worst verdict stands for it.
        status = next((s for s in ("figure_differs", "never_said") if s in statuses), "supported")
        cited = next((s.citation for s in result.sentences if s.status == status and s.citation), None)
        passage = _passage(rehearsal, cited)
        rows.append(
            {
                "id": d.id,
                "label": d.label,
                "status": status,
                "right": status == d.label,
                "cited": passage,
                "right_citation": bool(d.source) and passage == d.source,
            }
        )
    by_label: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_label[r["label"]].append(r)
    changed = by_label.get("figure_differs", [])
    return {
        "n": len(rows),
        "accuracy": sum(r["right"] for r in rows) / len(rows) if rows else float("nan"),
        "by_label": {k: sum(r["right"] for r in v) / len(v) for k, v in sorted(by_label.items())},
        "changed_flagged_with_citation": (
            sum(r["right"] and r["right_citation"] for r in changed) / len(changed) if changed else float("nan")
        ),
        "rows": rows,
    }


def _passage(rehearsal: Rehearsal, key: str | None) -> str | None:
    """The gold-set form of a bracketed citation key the check returned ("[高澜股份 2025-002 Q3]")."""
    if not key:
        return None
    for company in rehearsal.retriever.companies().companies:
        name = company.short_name or company.name
        if key.startswith(f"[{name} "):
            return f"{company.stock_code or company.name} {key[len(name) + 2 : -1]}"
    return key.strip("[]")
