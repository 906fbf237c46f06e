"""Evaluation reports: report.json, report.md and a self-contained report.html with matplotlib plots.

The HTML embeds its plots as base64 PNGs and its style inline, so it can be mailed or attached to a CI run as
one file. Plots need matplotlib (the ``dev`` extra); without it the HTML still has every table and says so.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ANSWER_COLS = (
    "n",
    "citation_precision",
    "citation_recall",
    "fact_coverage",
    "abstention_accuracy",
    "false_abstention",
    "language_match",
    "citations_in_passages",
)
PLOTTED_ANSWER_METRICS = (
    "citation_precision",
    "citation_recall",
    "fact_coverage",
    "abstention_accuracy",
    "language_match",
)
LANGS = ("lang:zh", "lang:en")
LANG_NAMES = {"all": "all", "lang:zh": "Chinese (zh)", "lang:en": "English (en)"}
_RECALL = re.compile(r"recall@(\d+)$")


# -- targets ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One of issue 6's targets: a metric of a group (``all``, ``lang:zh``…) that must reach ``threshold``."""

    label: str
    section: str  # "retrieval" or "answers"
    group: str
    metric: str
    threshold: float
    configs: tuple[str, ...] = ()  # retrieval: the configurations it applies to, first one run wins


@dataclass(frozen=True)
class TargetResult:
    """A target checked against one report: its value (None: not measured) and the configuration used."""

    target: Target
    value: float | None
    config: str | None = None

    @property
    def met(self) -> bool | None:
        """True or False when measured, None when the report does not hold the metric."""
        return None if self.value is None else self.value >= self.target.threshold - 1e-12

    @property
    def gap(self) -> float:
        """How far below the threshold the value is (0 when met or not measured)."""
        return 0.0 if self.value is None or self.met else self.target.threshold - self.value

    def line(self) -> str:
        """One plain-text line: the target, the value and, when missed, by how much."""
        t = self.target
        what = f"{t.label}: {_metric_name(t.metric)}"
        if t.configs:
            what = f"{t.label}: {self.config or ' / '.join(t.configs)} {_metric_name(t.metric)}"
        goal = f"≥ {t.threshold:.2f}"
        if self.value is None:
            hint = "run with --answers" if t.section == "answers" else "configuration or group not in this run"
            return f"NOT MEASURED: {what} {goal} ({hint})"
        if self.met:
            return f"MET: {what} {self.value:.3f} {goal}"
        return f"MISSED by {self.gap:.3f}: {what} {self.value:.3f}, target {goal}"


RECALL_CONFIGS = ("hybrid+glossary", "hybrid")
TARGETS: tuple[Target, ...] = (
    Target("Chinese questions", "retrieval", "lang:zh", "recall@5", 0.95, RECALL_CONFIGS),
    Target("English questions", "retrieval", "lang:en", "recall@5", 0.85, RECALL_CONFIGS),
    Target("Answers", "answers", "all", "citation_precision", 0.95),
    Target("Unanswerable questions", "answers", "all", "abstention_accuracy", 0.90),
)
"""Issue 6's targets; recall is checked on the default configuration (hybrid + glossary), else plain hybrid."""


def check_targets(report: dict[str, Any], targets: Sequence[Target] = TARGETS) -> list[TargetResult]:
    """Each target against ``report``; empty for a BEIR dataset (the targets are about the irchat gold set)."""
    if _is_beir(report):
        return []
    out = []
    for t in targets:
        if t.section == "answers":
            m = (report.get("answers") or {}).get("metrics", {}).get(t.group, {})
            out.append(TargetResult(t, m.get(t.metric)))
            continue
        config = next((c for c in t.configs if c in report.get("configs", {})), None)
        value = None
        if config is not None:
            value = report["configs"][config]["metrics"].get(t.group, {}).get(t.metric)
        out.append(TargetResult(t, value, config))
    return out


# -- tables ----------------------------------------------------------------------------------------------


def summary_table(report: dict[str, Any]) -> list[list[str]]:
    """Rows of the printed summary: configuration × headline retrieval metrics per language."""
    rows = [["config", "group", "n", "recall@1", "recall@5", "recall@10", "hit@5", "mrr@10", "ndcg@10"]]
    for config, data in report["configs"].items():
        for group in ("all", *LANGS):
            m = data["metrics"].get(group)
            if not m:
                continue
            rows.append(
                [config, group, str(int(m["n"]))]
                + [_fmt(m.get(c)) for c in ("recall@1", "recall@5", "recall@10", "hit@5", "mrr@10", "ndcg@10")]
            )
    return rows


def kind_table(report: dict[str, Any], metric: str = "recall@5") -> list[list[str]]:
    """Rows: one per question kind, ``metric`` per configuration (and the number of questions)."""
    configs = list(report["configs"])
    kinds = _kinds(report)
    rows = [["kind", "n", *configs]]
    for kind in kinds:
        group = f"kind:{kind}"
        n = next((m[group]["n"] for m in (report["configs"][c]["metrics"] for c in configs) if group in m), 0)
        rows.append(
            [kind, str(int(n))] + [_fmt(report["configs"][c]["metrics"].get(group, {}).get(metric)) for c in configs]
        )
    return rows


def answer_table(report: dict[str, Any]) -> list[list[str]]:
    """Rows: one per group of the answer metrics (all, languages, kinds)."""
    rows = [["group", *ANSWER_COLS]]
    for group, m in _ordered_groups(report["answers"]["metrics"]):
        rows.append([group] + [_fmt(m.get(c)) for c in ANSWER_COLS])
    return rows


# -- writers ---------------------------------------------------------------------------------------------


def write_report(report: dict[str, Any], directory: Path) -> list[Path]:
    """report.json, report.md and report.html under ``directory``; returns their paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    results = check_targets(report)
    data = {**report, "targets": [_target_json(r) for r in results]}
    paths = [directory / "report.json", directory / "report.md", directory / "report.html"]
    paths[0].write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    paths[1].write_text(markdown(report, results), encoding="utf-8")
    paths[2].write_text(render_html(report, results), encoding="utf-8")
    return paths


def markdown(report: dict[str, Any], results: list[TargetResult] | None = None) -> str:
    """The report as Markdown: targets, retrieval per language and per kind, answers."""
    results = check_targets(report) if results is None else results
    lines = [f"# {_title(report)}", "", _subtitle(report), ""]
    lines += ["## Targets", ""]
    if results:
        lines += [f"- {_md_target(r)}" for r in results]
    else:
        lines.append(f"- {_no_targets_note(report)}")
    lines += ["", "## Retrieval", "", *_md_table(summary_table(report))]
    if report["configs"]:
        lines += ["", "### recall@5 per kind", "", *_md_table(kind_table(report))]
    if "answers" in report:
        lines += ["", f"## Answers ({report['answers']['mode']} mode)", "", *_md_table(answer_table(report))]
    return "\n".join(lines) + "\n"


def render_html(report: dict[str, Any], results: list[TargetResult] | None = None) -> str:
    """The report as one self-contained HTML page (inline CSS, plots as base64 PNG, no scripts)."""
    results = check_targets(report) if results is None else results
    images, plot_error = _plots_or_error(report)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(_title(report))}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{_e(_title(report))}</h1>",
        f'<p class="meta">{_e(_subtitle(report))}</p>',
        "<h2>Targets</h2>",
    ]
    if results:
        parts.append("<ul class='targets'>")
        for r in results:
            cls = {True: "met", False: "missed", None: "unmeasured"}[r.met]
            parts.append(f'<li class="{cls}">{_e(r.line())}</li>')
        parts.append("</ul>")
    else:
        parts.append(f"<p>{_e(_no_targets_note(report))}</p>")
    if plot_error:
        parts.append(f'<p class="note">No plots: {_e(plot_error)}</p>')
    parts += ["<h2>Retrieval</h2>", _html_table(summary_table(report))]
    parts += _img(images, "recall_at_k", "recall@k per configuration and language")
    if report["configs"]:
        parts += ["<h3>recall@5 per kind</h3>", _html_table(kind_table(report))]
        parts += _img(images, "kinds", "recall@5 per kind and configuration")
    if "answers" in report:
        parts += [f"<h2>Answers ({_e(report['answers']['mode'])} mode)</h2>", _html_table(answer_table(report))]
        parts += _img(images, "answers", "answer metrics per language and kind")
    parts += _html_misses(report)
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


# -- plots -----------------------------------------------------------------------------------------------


def plots(report: dict[str, Any]) -> dict[str, bytes]:
    """PNG images by name: ``recall_at_k``, ``kinds`` and (when answers were scored) ``answers``."""
    import matplotlib

    matplotlib.use("Agg", force=True)  # no display: render to memory only
    import matplotlib.pyplot as plt

    out: dict[str, bytes] = {}
    configs = list(report["configs"])
    if configs:
        out["recall_at_k"] = _png(plt, _recall_figure(plt, report, configs))
        if len(_kinds(report)) > 1:  # one kind (a BEIR dataset) would repeat the recall@5 of "all"
            out["kinds"] = _png(plt, _kind_figure(plt, report, configs))
    if "answers" in report:
        out["answers"] = _png(plt, _answer_figure(plt, report))
    return out


def _recall_figure(plt: Any, report: dict[str, Any], configs: list[str]) -> Any:
    groups = [g for g in ("all", *LANGS) if any(g in report["configs"][c]["metrics"] for c in configs)]
    targets = {r.target.group: r.target.threshold for r in check_targets(report) if r.target.metric == "recall@5"}
    fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 3.8), sharey=True, squeeze=False)
    for ax, group in zip(axes[0], groups, strict=True):
        for config in configs:
            m = report["configs"][config]["metrics"].get(group, {})
            ks = sorted(int(x.group(1)) for x in map(_RECALL.match, m) if x)
            if ks:
                ax.plot(ks, [m[f"recall@{k}"] for k in ks], marker="o", label=config)
                ax.set_xticks(ks)
        if group in targets:
            ax.plot([5], [targets[group]], marker="*", markersize=14, color="crimson", linestyle="none")
            ax.annotate(
                f"target {targets[group]:.2f}",
                (5, targets[group]),
                textcoords="offset points",
                xytext=(6, -12),
                color="crimson",
                fontsize=8,
            )
        n = next(
            (report["configs"][c]["metrics"][group]["n"] for c in configs if group in report["configs"][c]["metrics"]),
            0,
        )
        ax.set_title(f"{LANG_NAMES.get(group, group)} (n={int(n)})")
        ax.set_xlabel("k")
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("recall@k")
    axes[0][0].legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def _kind_figure(plt: Any, report: dict[str, Any], configs: list[str]) -> Any:
    kinds = _kinds(report)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.5 * len(kinds) + 2), 3.8))
    width = 0.8 / len(configs)
    for i, config in enumerate(configs):
        m = report["configs"][config]["metrics"]
        values = [_nan(m.get(f"kind:{k}", {}).get("recall@5")) for k in kinds]
        xs = [j + (i - (len(configs) - 1) / 2) * width for j in range(len(kinds))]
        ax.bar(xs, values, width, label=config)
    ax.set_xticks(range(len(kinds)), kinds)
    ax.set_ylabel("recall@5")
    ax.set_ylim(0, 1.05)
    ax.grid(axis="y", alpha=0.3)
    ax.set_title("recall@5 per question kind")
    fig.legend(*ax.get_legend_handles_labels(), loc="lower center", ncols=len(configs), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig


def _answer_figure(plt: Any, report: dict[str, Any]) -> Any:
    metrics = report["answers"]["metrics"]
    panels = [
        ("per language", [g for g in ("all", *LANGS) if g in metrics]),
        ("per kind", [g for g in metrics if g.startswith("kind:")]),
    ]
    panels = [(t, gs) for t, gs in panels if gs]
    fig, axes = plt.subplots(
        1,
        len(panels),
        figsize=(13, 4.2),
        squeeze=False,
        gridspec_kw={"width_ratios": [max(len(gs), 2) for _, gs in panels]},
    )
    width = 0.8 / len(PLOTTED_ANSWER_METRICS)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    goals = {r.target.metric: r.target.threshold for r in check_targets(report) if r.target.section == "answers"}
    for ax, (title, groups) in zip(axes[0], panels, strict=True):
        for i, metric in enumerate(PLOTTED_ANSWER_METRICS):
            values = [_nan(metrics[g].get(metric)) for g in groups]
            xs = [j + (i - (len(PLOTTED_ANSWER_METRICS) - 1) / 2) * width for j in range(len(groups))]
            color = colors[i % len(colors)]
            ax.bar(xs, values, width, label=_metric_name(metric), color=color)
            if metric in goals:
                ax.axhline(goals[metric], color=color, linestyle="--", linewidth=1)
        ax.set_xticks(range(len(groups)), [g.split(":", 1)[-1] for g in groups], rotation=20)
        ax.set_ylim(0, 1.05)
        ax.grid(axis="y", alpha=0.3)
        ax.set_title(f"answers {title} (dashed: targets)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncols=len(labels), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig


def _png(plt: Any, fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()


def _plots_or_error(report: dict[str, Any]) -> tuple[dict[str, bytes], str | None]:
    try:
        return plots(report), None
    except ImportError as e:
        return {}, f"matplotlib is not installed ({e}); pip install matplotlib"


# -- helpers ---------------------------------------------------------------------------------------------


def _is_beir(report: dict[str, Any]) -> bool:
    return (report.get("dataset") or {}).get("format") == "beir"


def _title(report: dict[str, Any]) -> str:
    ds = report.get("dataset") or {}
    if _is_beir(report):
        name, docs = ds.get("name", ""), ds.get("documents", "?")
        return f"irchat evaluation: BEIR {name} ({report['questions']} judged queries, {docs} documents)"
    return f"irchat evaluation ({report['questions']} gold questions)"


def _subtitle(report: dict[str, Any]) -> str:
    ds = report.get("dataset") or {}
    bits = [
        f"{k}: {v}"
        for k, v in (("data", ds.get("path")), ("embedder", report.get("embedder")), ("run", report.get("created")))
        if v
    ]
    return "; ".join(bits) or "irchat evaluation"


def _no_targets_note(report: dict[str, Any]) -> str:
    if _is_beir(report):
        return "Issue 6's targets are about the irchat gold set; they are not checked on a BEIR dataset."
    return "No targets defined."


def _md_target(r: TargetResult) -> str:
    text = r.line()
    head, _, rest = text.partition(":")
    return f"**{head}**:{rest}"


def _target_json(r: TargetResult) -> dict[str, Any]:
    t = r.target
    return {
        "label": t.label,
        "metric": t.metric,
        "group": t.group,
        "config": r.config,
        "threshold": t.threshold,
        "value": r.value,
        "met": r.met,
        "gap": round(r.gap, 6),
        "line": r.line(),
    }


def _kinds(report: dict[str, Any]) -> list[str]:
    kinds: dict[str, None] = {}
    for data in report["configs"].values():
        for group in data["metrics"]:
            if group.startswith("kind:"):
                kinds[group[5:]] = None
    return list(kinds)


def _ordered_groups(metrics: dict[str, dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    order = ["all", *LANGS]
    head = [(g, metrics[g]) for g in order if g in metrics]
    return head + [(g, m) for g, m in metrics.items() if g not in order]


def _metric_name(metric: str) -> str:
    return metric.replace("_", " ")


def _nan(v: float | None) -> float:
    return float("nan") if v is None else float(v)


def _fmt(v: float | None) -> str:
    return "–" if v is None else (str(int(v)) if float(v).is_integer() and v > 1 else f"{v:.3f}")


def _md_table(rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])] + [
        "| " + " | ".join(r) + " |" for r in rows[1:]
    ]


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _html_table(rows: list[list[str]]) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in r) + "</tr>" for r in rows[1:])
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _img(images: dict[str, bytes], name: str, alt: str) -> list[str]:
    if name not in images:
        return []
    data = base64.b64encode(images[name]).decode("ascii")
    return [
        f'<figure><img alt="{_e(alt)}" src="data:image/png;base64,{data}"><figcaption>{_e(alt)}</figcaption></figure>'
    ]


def _html_misses(report: dict[str, Any], limit: int = 10) -> list[str]:
    """Questions the default configuration misses at 5, with what it ranked instead (for error analysis)."""
    config = next((c for c in RECALL_CONFIGS if c in report["configs"]), next(iter(report["configs"]), None))
    gold = {q["id"]: q for q in report.get("gold", [])}
    if config is None or not gold:
        return []
    ranked = report["configs"][config].get("ranked", {})
    misses = [
        (gold[qid], top)
        for qid, top in ranked.items()
        if qid in gold and not set(gold[qid]["expected"]) <= set(top[:5])
    ]
    if not misses:
        return []
    rows = [["id", "kind", "question", "expected", f"{config} top {limit}"]]
    rows += [[q["id"], q["kind"], q["question"], ", ".join(q["expected"]), ", ".join(top[:limit])] for q, top in misses]
    return [
        f"<details><summary>{len(misses)} question{'' if len(misses) == 1 else 's'} where {_e(config)} misses "
        "an expected passage in the top 5"
        "</summary>",
        _html_table(rows),
        "</details>",
    ]


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;
color:#222}
h1{font-size:1.5em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
.meta,.note,figcaption{color:#666;font-size:.9em}
table{border-collapse:collapse;margin:.8em 0;font-size:.85em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th:first-child,td:first-child{text-align:left}
tbody tr:nth-child(even){background:#f6f6f6}
ul.targets{list-style:none;padding-left:0}
ul.targets li{padding:.3em .6em;margin:.2em 0;border-left:4px solid #999}
li.met{border-color:#2a8a2a;background:#eef8ee}li.missed{border-color:#c0392b;background:#fbeeee}
li.unmeasured{border-color:#999;background:#f4f4f4}
figure{margin:1em 0}img{max-width:100%}
details td{text-align:left}
"""
