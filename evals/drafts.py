"""Score the draft check (rag/rehearsal.py) on a draft-check set: one sentence per draft, labelled
``supported``, ``figure_differs`` or ``never_said`` with the passage behind it (evals/gold/drafts8.jsonl)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.figures import extract_figures
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
        flagged = next((s for s in result.sentences if s.status == status and s.citation), None)
        cited = flagged.citation if flagged else None
        passage = _passage(rehearsal, cited)
        # Another meeting repeating the same past figure (a result restated at the next meeting) is as right a
        # citation as the gold's passage: the user sees the figure that was said.
        same_figure = bool(
            status == "figure_differs"
            and flagged is not None
            and flagged.past_figure is not None
            and d.past_figure
            and _same_amount(flagged.past_figure.text, d.past_figure)
        )
        rows.append(
            {
                "id": d.id,
                "label": d.label,
                "status": status,
                "right": status == d.label,
                "cited": passage,
                "right_citation": bool(d.source) and (passage == d.source or same_figure),
                "gold_passage": bool(d.source) and passage == d.source,
            }
        )
    return summarise(rows)


def summarise(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy overall and per label, and the share of changed figures flagged with a right citation (the gold's
    passage, or one stating the same past figure) and with the gold's passage itself."""
    by_label: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_label[r["label"]].append(r)
    changed = by_label.get("figure_differs", [])

    def share(key: str) -> float:
        return sum(r["right"] and r[key] for r in changed) / len(changed) if changed else float("nan")

    return {
        "n": len(rows),
        "accuracy": sum(r["right"] for r in rows) / len(rows) if rows else float("nan"),
        "by_label": {k: sum(r["right"] for r in v) / len(v) for k, v in sorted(by_label.items())},
        "right_by_label": {k: (sum(r["right"] for r in v), len(v)) for k, v in sorted(by_label.items())},
        "changed_flagged_with_citation": share("right_citation"),
        "changed_flagged_with_gold_passage": share("gold_passage"),
        "rows": list(rows),
    }


def _same_amount(a: str, b: str) -> bool:
    """Whether two written figures are the same amount in the same unit ("298项", "11.1 亿元")."""
    fa, fb = extract_figures(a), extract_figures(b)
    return len(fa) == 1 and len(fb) == 1 and fa[0].agrees(fb[0])


def _passage(rehearsal: Rehearsal, key: str | None) -> str | None:
    """The gold-set form of a bracketed citation key the check returned ("[高澜股份 2025-002 Q3]")."""
    if not key:
        return None
    for company in rehearsal.retriever.companies().companies:
        name = company.short_name or company.name
        if key.startswith(f"[{name} "):
            return f"{company.stock_code or company.name} {key[len(name) + 2 : -1]}"
    return key.strip("[]")
