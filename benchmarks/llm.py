"""LLM mode against a real model: how often its reply is kept, and cited right. Opt-in: it needs an
OpenAI-compatible endpoint (``IRCHAT_LLM_BASE_URL``, ``IRCHAT_LLM_MODEL``), e.g. a llama.cpp server or Ollama.

    IRCHAT_LLM_BASE_URL=http://127.0.0.1:8765/v1 python benchmarks/llm.py --sample 24 --out replies.jsonl
    python benchmarks/llm.py --gold evals/gold/fresh2.jsonl --sample 0 --timeout 300   # every question
    python benchmarks/llm.py --current --sample 10 --markdown /tmp/llm.md                  # the configured index
    python benchmarks/llm.py --replay replies.jsonl    # score recorded replies again (no LLM), e.g. after a change

Asks a sample of the gold questions (half Chinese, half English, seeded) through ``Assistant.ask`` in LLM mode
and reports, per language: replies kept with every claim cited by the model, kept after attribution (claims
cited or dropped here, rag/attribution.py), fallen back to the extractive answer, and refused (no citation);
citation precision against the gold keys, for the LLM's kept answers and for all; the extractive answerer's
precision on the same questions; latency p50/p95 of the answer call and of the whole ask; prompt tokens as
the server counted them and as o200k counts them. Writes the table into docs/benchmarks.md under
"LLM answers (real model)" and every reply into ``--out`` (JSONL) for reading.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: make the repo importable

from benchmarks._common import DOCS, ROOT, environment, markdown_table, replace_section
from evals.gold import DEFAULT_GOLD, GoldQuestion, load_gold
from evals.run import aligned
from ingest.pipeline import Ingestor
from rag.assistant import Assistant
from rag.index import Index
from rag.llm import OPEN, LLMAnswerer, Review
from rag.settings import Settings
from rag.tokens import count_tokens
from rag.types import Answer

SECTION = "LLM answers (real model)"
OUTCOMES = ("kept, all cited", "kept after attribution", "fallen back", "refused")


@dataclass
class Row:
    """One question's outcome."""

    id: str
    lang: str
    answerable: bool
    question: str
    outcome: str = ""
    reply: str = ""
    answer: str = ""
    notice: str = ""
    cited: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)
    extractive_cited: list[str] = field(default_factory=list)
    attributed: int = 0
    dropped: int = 0
    llm_seconds: float | None = None
    ask_seconds: float = 0.0
    prompt_tokens: int | None = None
    prompt_tokens_o200k: int | None = None
    error: bool = False
    replies: list[str | None] = field(default_factory=list)
    """Every LLM call's reply in order (the translation of an English question first), None where it failed."""


class _RecordingChat:
    """The chat model, recording each call's text, usage and time (the answer call is the one with passages)."""

    def __init__(self, chat: Any):
        self.chat = chat
        self.calls: list[dict[str, Any]] = []

    def invoke(self, messages: Sequence[Any], **kw: Any) -> Any:
        start = time.perf_counter()
        record: dict[str, Any] = {"passages": any(OPEN in str(m.content) for m in messages)}
        record["o200k"] = sum(count_tokens(str(m.content)) for m in messages)
        self.calls.append(record)
        record["reply"] = None
        reply = self.chat.invoke(messages, **kw)
        record["seconds"] = time.perf_counter() - start
        usage = getattr(reply, "usage_metadata", None) or {}
        record["prompt_tokens"] = usage.get("input_tokens")
        record["reply"] = str(reply.content)
        return reply

    def stream(self, messages: Sequence[Any], **kw: Any) -> Any:
        return self.chat.stream(messages, **kw)


class _ReplayChat:
    """Stands for the endpoint with the replies a run recorded (``--replay``), in the order they came."""

    def __init__(self) -> None:
        self.replies: list[str | None] = []
        self.seconds: float | None = None
        self.prompt_tokens: int | None = None

    def invoke(self, messages: Sequence[Any], **kw: Any) -> Any:
        from langchain_core.messages import AIMessage

        reply = self.replies.pop(0) if self.replies else None
        if reply is None:
            raise TimeoutError("the recorded call failed")
        usage = {"input_tokens": self.prompt_tokens or 0, "output_tokens": 0, "total_tokens": 0}
        return AIMessage(content=reply, response_metadata={"finish_reason": "stop"}, usage_metadata=usage)


class _RecordingAnswerer(LLMAnswerer):
    """The LLM answerer, keeping the review of the last reply."""

    last: Review | None = None

    def review(self, *args: Any, **kw: Any) -> Review:
        self.last = super().review(*args, **kw)
        return self.last


def sample(gold: list[GoldQuestion], n: int, seed: int) -> list[GoldQuestion]:
    """``n`` questions, half of each language (as far as each has them), seeded; 0 or less: all."""
    if n <= 0 or n >= len(gold):
        return list(gold)
    rng = random.Random(seed)
    by_lang: dict[str, list[GoldQuestion]] = defaultdict(list)
    for q in gold:
        by_lang[q.lang].append(q)
    langs = sorted(by_lang)
    out: list[GoldQuestion] = []
    for i, lang in enumerate(langs):
        want = n // len(langs) + (1 if i < n % len(langs) else 0)
        out += rng.sample(by_lang[lang], min(want, len(by_lang[lang])))
    return sorted(out, key=lambda q: q.id)


def classify(answer: Answer, review: Review | None) -> str:
    """One of :data:`OUTCOMES`."""
    if review is None or review.fell_back:
        return "refused" if not answer.citations else "fallen back"
    attribution = review.attribution
    if attribution is not None and (attribution.attributed or attribution.dropped):
        return "kept after attribution"
    return "kept, all cited"


def ask_one(
    assistant: Assistant, extractive: Assistant, answerer: _RecordingAnswerer, chat: _RecordingChat, q: GoldQuestion
) -> Row:
    row = Row(q.id, q.lang, q.answerable, q.question, expected=list(q.expected))
    answerer.last = None
    chat.calls.clear()
    start = time.perf_counter()
    answer = assistant.ask(q.question)
    row.ask_seconds = time.perf_counter() - start
    review = answerer.last
    row.outcome = classify(answer, review)
    row.answer, row.notice = answer.text, answer.notice
    row.cited = aligned([c.passage for c in answer.citations], q.expected)
    row.replies = [c["reply"] for c in chat.calls]
    calls = [c for c in chat.calls if c["passages"]]
    if calls:
        row.llm_seconds = calls[-1].get("seconds")
        row.prompt_tokens = calls[-1].get("prompt_tokens")
        row.prompt_tokens_o200k = calls[-1]["o200k"]
    row.error = review is None and bool(calls)  # the call itself failed (timeout, HTTP error)
    if review is not None and review.attribution is not None:
        row.reply = review.attribution.reply
        row.attributed = len(review.attribution.attributed)
        row.dropped = len(review.attribution.dropped)
    row.extractive_cited = aligned([c.passage for c in extractive.ask(q.question).citations], q.expected)
    return row


def precision(rows: Sequence[Row], attr: str = "cited") -> tuple[float | None, int]:
    """Share of citations that are gold (an unanswerable question's citations are all wrong), and how many."""
    cited = [(c, set(r.expected)) for r in rows for c in getattr(r, attr)]
    if not cited:
        return None, 0
    return sum(c in expected for c, expected in cited) / len(cited), len(cited)


def pct(values: Sequence[float], q: float) -> str:
    return f"{np.percentile(np.asarray(values), q):.1f}" if values else "–"


def fmt(value: float | None, n: int) -> str:
    return "–" if value is None else f"{value:.2f} ({n})"


def report(
    rows: list[Row], model: str, endpoint: str, gold: Path, seed: int, budget: int, replayed: Path | None, note: str
) -> str:
    langs = sorted({r.lang for r in rows})
    headers = ["", *langs, "all"]
    groups = [[r for r in rows if r.lang == lang] for lang in langs] + [rows]
    lines: list[list[str]] = []
    lines.append(
        ["questions (answerable / not)"]
        + [f"{len(g)} ({sum(r.answerable for r in g)} / {sum(not r.answerable for r in g)})" for g in groups]
    )
    for outcome in OUTCOMES:
        lines.append([outcome] + [str(sum(r.outcome == outcome for r in g)) for g in groups])
    lines.append(["… of which the LLM call failed"] + [str(sum(r.error for r in g)) for g in groups])
    lines.append(
        ["sentences cited here / dropped"]
        + [f"{sum(r.attributed for r in g)} / {sum(r.dropped for r in g)}" for g in groups]
    )
    lines.append(
        ["unanswerable refused"]
        + [
            f"{sum(r.outcome == 'refused' for r in g if not r.answerable)} of {sum(not r.answerable for r in g)}"
            for g in groups
        ]
    )
    lines.append(
        ["answerable refused"]
        + [
            f"{sum(r.outcome == 'refused' for r in g if r.answerable)} of {sum(r.answerable for r in g)}"
            for g in groups
        ]
    )
    kept = ("kept, all cited", "kept after attribution")
    lines.append(
        ["citation precision, LLM answers kept (citations)"]
        + [fmt(*precision([r for r in g if r.outcome in kept])) for g in groups]
    )
    lines.append(["citation precision, all answers (citations)"] + [fmt(*precision(g)) for g in groups])
    lines.append(["… extractive mode, same questions"] + [fmt(*precision(g, "extractive_cited")) for g in groups])
    llm = [[r.llm_seconds for r in g if r.llm_seconds is not None] for g in groups]
    lines.append(["answer call p50 / p95 s"] + [f"{pct(v, 50)} / {pct(v, 95)}" for v in llm])
    asks = [[r.ask_seconds for r in g] for g in groups]
    lines.append(["whole ask p50 / p95 s"] + [f"{pct(v, 50)} / {pct(v, 95)}" for v in asks])
    served = [[r.prompt_tokens for r in g if r.prompt_tokens] for g in groups]
    lines.append(
        ["prompt tokens (server) median / max"]
        + [f"{statistics.median(v):.0f} / {max(v)}" if v else "–" for v in served]
    )
    o200k = [[r.prompt_tokens_o200k for r in g if r.prompt_tokens_o200k] for g in groups]
    lines.append(
        ["prompt tokens (o200k) median / max"] + [f"{statistics.median(v):.0f} / {max(v)}" if v else "–" for v in o200k]
    )
    env = environment()
    return "\n".join(
        [
            f"Model `{model}` at {endpoint}; {len(rows)} questions sampled from `{_shown(gold)}` (seed {seed}), "
            f"`IRCHAT_LLM_PASSAGE_TOKENS={budget}`; `python benchmarks/llm.py`."
            + (
                f" Scored again with `--replay {replayed.name}` from the replies a live run recorded: the answers "
                "are this code's, the latencies and server token counts the live run's."
                if replayed
                else ""
            ),
            "",
            *([note, ""] if note else []),
            markdown_table(headers, lines),
            "",
            "Environment: " + "; ".join(f"{k} {v}" for k, v in env.items()),
        ]
    )


def _shown(path: Path) -> Path:
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gold", type=Path, default=DEFAULT_GOLD)
    ap.add_argument("--sample", type=int, default=24, help="questions, half per language; 0 = all")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--current", action="store_true", help="use the index the IRCHAT_* settings point at")
    ap.add_argument("--records", type=Path, default=ROOT / "data" / "records", help="indexed into a temporary index")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per LLM call (CPU models are slow)")
    ap.add_argument("--embedder", choices=["model", "hash"], default="model", help="hash: a test stand-in")
    ap.add_argument("--markdown", type=Path, default=DOCS)
    ap.add_argument("--out", type=Path, default=None, help="every question's reply and answer, as JSONL")
    ap.add_argument("--replay", type=Path, default=None, help="score the replies an --out file recorded")
    ap.add_argument("--note", default="", help="a paragraph written above the table")
    args = ap.parse_args(argv)

    base = Settings()
    recorded: dict[str, dict[str, Any]] = {}
    if args.replay:
        rows = [json.loads(line) for line in args.replay.read_text(encoding="utf-8").splitlines() if line.strip()]
        recorded = {r["id"]: r for r in rows}
        base = base.replace(llm_base_url=base.llm_base_url or "http://replay.invalid/v1")
    if not base.llm_base_url:
        print("benchmarks/llm.py needs an LLM: set IRCHAT_LLM_BASE_URL (and IRCHAT_LLM_MODEL)", file=sys.stderr)
        return 2
    gold = load_gold(args.gold)
    questions = [q for q in gold if q.id in recorded] if recorded else sample(gold, args.sample, args.seed)
    with tempfile.TemporaryDirectory(prefix="irchat-bench-llm-") as tmp:
        settings = (base if args.current else base.scratch(Path(tmp))).replace(llm_timeout=args.timeout)
        embedder = None
        if args.embedder == "hash":
            from tests.fakes import HashEmbedder

            embedder = HashEmbedder()
        index = Index(settings, embedder=embedder)
        if not args.current:
            Ingestor(index).ingest([args.records])
        assistant = Assistant(settings, index=index)
        answerer = _RecordingAnswerer(settings, fallback=assistant.extractive, embedder=index.embedder)
        replay = _ReplayChat()
        chat = _RecordingChat(replay if recorded else answerer.llm)
        answerer.llm = chat
        assistant.__dict__["llm"] = answerer  # the assistant's own LLM answerer, recorded
        extractive = Assistant(settings.replace(llm_base_url=None), index=index)
        rows = []
        for n, q in enumerate(questions, 1):
            if recorded:
                old = recorded[q.id]
                replay.replies = list(old.get("replies") or [])
                replay.prompt_tokens = old.get("prompt_tokens")
            row = ask_one(assistant, extractive, answerer, chat, q)
            if recorded:  # the times and token counts are the recorded run's
                old = recorded[q.id]
                row.llm_seconds, row.ask_seconds = old.get("llm_seconds"), old.get("ask_seconds", row.ask_seconds)
            rows.append(row)
            print(f"[{n}/{len(questions)}] {q.id} {row.outcome} {row.ask_seconds:.0f}s {row.cited}", flush=True)
            if args.out:
                with args.out.open("a", encoding="utf-8") as f:
                    f.write(json.dumps(asdict(row), ensure_ascii=False) + "\n")
    body = report(
        rows,
        settings.llm_model,
        answerer.endpoint,
        args.gold,
        args.seed,
        settings.llm_passage_tokens,
        args.replay,
        args.note,
    )
    print(body)
    replace_section(args.markdown, SECTION, body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
