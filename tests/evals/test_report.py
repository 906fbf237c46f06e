"""Eval reports: the three files, the HTML's embedded plots and tables, and issue 6's target lines."""

from __future__ import annotations

import base64
import io
import json
import re

import numpy as np
import pytest
from PIL import Image

from evals import run as run_module
from evals.report import check_targets, kind_table, markdown, render_html, write_report

KINDS = ("fact", "cross-lingual", "multi-hop")


def _metrics(base: float) -> dict[str, float]:
    # recall grows with k, so each curve is a real curve; the rest are plausible values
    m = {f"recall@{k}": min(1.0, base + 0.04 * i) for i, k in enumerate((1, 3, 5, 10))}
    m.update({"hit@5": m["recall@5"], "mrr@10": base, "ndcg@10": base, "n": 10})
    return m


def _config(zh5: float, en5: float) -> dict:
    metrics = {
        "all": _metrics((zh5 + en5) / 2 - 0.08),
        "lang:zh": _metrics(zh5 - 0.08),
        "lang:en": _metrics(en5 - 0.08),
    }
    metrics.update({f"kind:{k}": _metrics(0.5 + 0.1 * i) for i, k in enumerate(KINDS)})
    return {
        "metrics": metrics,
        "seconds": 1.0,
        "ranked": {"q-zh": ["2024-013 Q9", "2024-013 Q1"], "q-en": ["2024-013 Q2"]},
    }


def _answers(precision: float, abstention: float) -> dict:
    def group(kind_unanswerable: bool = False) -> dict:
        return {
            "n": 5,
            "citation_precision": None if kind_unanswerable else precision,
            "citation_recall": None if kind_unanswerable else 0.7,
            "fact_coverage": None if kind_unanswerable else 0.6,
            "abstention_accuracy": abstention if kind_unanswerable else None,
            "false_abstention": None if kind_unanswerable else 0.05,
            "language_match": 1.0,
            "citations_in_passages": 1.0,
        }

    metrics = {g: {**group(), "abstention_accuracy": abstention} for g in ("all", "lang:zh", "lang:en")}
    metrics.update({f"kind:{k}": group() for k in KINDS})
    metrics["kind:unanswerable"] = group(kind_unanswerable=True)
    return {"metrics": metrics, "details": [], "mode": "extractive"}


def make_report(*, answers: bool = True, configs: tuple[str, ...] = ("dense", "hybrid", "hybrid+glossary")) -> dict:
    values = {"dense": (0.90, 0.60), "hybrid": (0.93, 0.70), "hybrid+glossary": (0.952, 0.775)}
    report = {
        "questions": 3,
        "dataset": {"format": "gold", "path": "evals/gold/gold.jsonl"},
        "created": "2026-11-23T00:00:00+00:00",
        "embedder": "test",
        "gold": [
            {"id": "q-zh", "question": "毛利率 <b>多少</b>", "lang": "zh", "expected": ["2024-013 Q2"], "kind": "fact"},
            {"id": "q-en", "question": "gross margin?", "lang": "en", "expected": ["2024-013 Q2"], "kind": "fact"},
        ],
        "configs": {c: _config(*values[c]) for c in configs},
    }
    if answers:
        report["answers"] = _answers(precision=0.625, abstention=0.2)
    return report


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    directory = tmp_path_factory.mktemp("report")
    return write_report(make_report(), directory)


def _pngs(html_text: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html_text)]


def test_three_files_are_written(written):
    assert [p.name for p in written] == ["report.json", "report.md", "report.html"]
    assert all(p.stat().st_size > 0 for p in written)
    data = json.loads(written[0].read_text(encoding="utf-8"))
    assert set(data["configs"]) == {"dense", "hybrid", "hybrid+glossary"}
    by_metric = {(t["group"], t["metric"]): t for t in data["targets"]}
    assert by_metric[("lang:en", "recall@5")]["met"] is False
    assert by_metric[("lang:en", "recall@5")]["gap"] == pytest.approx(0.075)
    assert by_metric[("lang:zh", "recall@5")]["met"] is True


def test_html_embeds_three_valid_plots(written):
    text = written[2].read_text(encoding="utf-8")
    images = _pngs(text)
    assert len(images) == 3  # recall@k curves, per-kind bars, answer metrics
    for data in images:
        img = Image.open(io.BytesIO(data))
        img.verify()  # a truncated or corrupt PNG raises here
        img = Image.open(io.BytesIO(data)).convert("RGB")
        assert img.width >= 500 and img.height >= 250
        rgb = np.asarray(img, dtype=np.uint32)
        colours = np.unique(rgb[..., 0] << 16 | rgb[..., 1] << 8 | rgb[..., 2])
        # a blank or one-colour canvas would have a handful of colours; plots have lines, bars, text
        assert len(colours) > 50


def test_html_is_self_contained_with_tables_and_targets(written):
    text = written[2].read_text(encoding="utf-8")
    assert "<script" not in text and "<link" not in text
    assert not re.search(r'(src|href)="(https?:)?//', text)
    # config, group, n, recall@1, recall@5, recall@10 of the default configuration's Chinese row
    row = "<tr><td>hybrid+glossary</td><td>lang:zh</td><td>10</td><td>0.872</td><td>0.952</td><td>0.992</td>"
    assert "<table>" in text and row in text
    assert "MISSED by 0.075: English questions: hybrid+glossary recall@5 0.775, target ≥ 0.85" in text
    assert "MET: Chinese questions: hybrid+glossary recall@5 0.952 ≥ 0.95" in text
    assert "MISSED by 0.325: Answers: citation precision 0.625, target ≥ 0.95" in text
    assert "MISSED by 0.700: Unanswerable questions: abstention accuracy 0.200, target ≥ 0.90" in text
    # the miss list names the question the default configuration misses (q-en's passage is ranked first)
    assert "1 question where hybrid+glossary misses" in text and "<td>q-en</td>" not in text
    # question text from the gold set is escaped, never markup
    assert "&lt;b&gt;多少&lt;/b&gt;" in text and "<b>多少</b>" not in text


def test_markdown_has_targets_and_per_kind_table(written):
    text = written[1].read_text(encoding="utf-8")
    assert "**MISSED by 0.075**: English questions: hybrid+glossary recall@5 0.775, target ≥ 0.85" in text
    assert "**MET**: Chinese questions" in text
    assert "### recall@5 per kind" in text
    assert "| kind | n | dense | hybrid | hybrid+glossary |" in text
    assert "| multi-hop | 10 | 0.780 | 0.780 | 0.780 |" in text
    assert "## Answers (extractive mode)" in text


def test_targets_fall_back_to_hybrid_and_say_what_was_not_measured():
    report = make_report(answers=False, configs=("dense", "hybrid"))
    lines = [r.line() for r in check_targets(report)]
    assert lines[0] == "MISSED by 0.020: Chinese questions: hybrid recall@5 0.930, target ≥ 0.95"
    assert lines[1] == "MISSED by 0.150: English questions: hybrid recall@5 0.700, target ≥ 0.85"
    assert lines[2].startswith("NOT MEASURED: Answers: citation precision ≥ 0.95 (run with --answers)")
    only_dense = check_targets(make_report(answers=False, configs=("dense",)))
    assert only_dense[0].value is None and only_dense[0].met is None


def test_report_without_answers_has_two_plots_and_no_answer_section():
    report = make_report(answers=False)
    text = render_html(report)
    assert len(_pngs(text)) == 2 and "<h2>Answers" not in text
    assert "## Answers" not in markdown(report)


def test_beir_reports_skip_the_gold_set_targets():
    report = make_report(answers=False)
    report["dataset"] = {"format": "beir", "name": "tiny", "path": "/x/tiny", "documents": 7}
    assert check_targets(report) == []
    md = markdown(report)
    assert md.startswith("# irchat evaluation: BEIR tiny (3 judged queries, 7 documents)")
    assert "not checked on a BEIR dataset" in md and "MISSED" not in md


def test_kind_table_rows():
    rows = kind_table(make_report(configs=("hybrid",)))
    assert rows[0] == ["kind", "n", "hybrid"]
    assert [r[0] for r in rows[1:]] == list(KINDS)


def test_write_report_still_importable_from_evals_run():
    assert run_module.write_report is write_report
