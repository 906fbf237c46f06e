"""Cold start: `irchat ask` from a fresh process against torch loading the model and embedding one query, in the
same run.

    python benchmarks/coldstart.py                      # 5 rounds over an index of data/records (built first)
    python benchmarks/coldstart.py --rounds 3 --markdown /tmp/c.md

Every timing is a new process, started the way a user starts it, timed from spawn to exit:

- ``torch``: ``SentenceTransformer(<converted folder>)`` then ``encode`` of one query (what loading the model cost
  before the ONNX export; the yardstick of the target);
- ``onnx``: the project's embedder (:func:`rag.embedder.load_embedder`, ONNX Runtime) loaded, one query embedded;
- ``ask``: ``irchat ask QUESTION --json`` over a small index (the bundled records), an extractive answer;
- ``ask (torch backend)``: the same with ``IRCHAT_EMBED_BACKEND=torch``, i.e. the embedder before this change.

Rounds alternate the order. One extra, untimed ``ask`` under ``python -X importtime`` lists what the process
imports (torch must not be among them) and which imports cost most. Prints a table and writes it into
docs/benchmarks.md under "Cold start" (other sections are kept).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: make the repo importable

from benchmarks._common import DOCS, ROOT, environment, load_average, markdown_table, replace_section
from rag.settings import DEFAULT_MODEL, Settings

SECTION = "Cold start"
QUESTION = "海天瑞声2024年上半年的境外收入同比增长了多少？"
TARGET_RATIO = 0.35
TARGET_LOAD_S = 2.0

TORCH = """
import sys
from sentence_transformers import SentenceTransformer
model = SentenceTransformer(sys.argv[1], device="cpu", local_files_only=True)
model.encode(["query: " + sys.argv[2]], normalize_embeddings=True)
"""
ONNX = """
import sys, time
t = time.perf_counter()
from rag.embedder import load_embedder
from rag.settings import Settings
embedder = load_embedder(Settings(), cache=False)
loaded = time.perf_counter() - t
embedder.embed_query(sys.argv[1])
print(f"LOAD {loaded:.3f}")
"""


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    """Wall seconds from spawn to exit, and stdout; raises with stderr when the command fails."""
    t = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])}… failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return seconds, proc.stdout


def import_profile(cmd: list[str], env: dict[str, str], top: int = 8) -> tuple[list[str], list[list[str]]]:
    """Modules a run imports (``-X importtime``) and the top-level imports that cost most (cumulative)."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *cmd], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    modules, heavy = [], []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line or "cumulative" in line:
            continue
        _self, cumulative, name = (x.strip() for x in line[len("import time:") :].split("|"))
        modules.append(name.strip())
        if not name.startswith(" "):  # a top-level import (nested ones are indented)
            heavy.append((int(cumulative), name.strip()))
    heavy.sort(reverse=True)
    return modules, [[f"`{n}`", f"{us / 1e6:.2f}"] for us, n in heavy[:top]]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--records", type=Path, default=ROOT / "data" / "records", help="what the index holds")
    ap.add_argument("--question", default=QUESTION)
    ap.add_argument("--markdown", type=Path, default=DOCS)
    args = ap.parse_args(argv)

    from ingest.pipeline import Ingestor
    from rag.e5_convert import ensure_e5_model
    from rag.index import Index

    settings = Settings()
    folder = ensure_e5_model(settings.resolved_model_dir / DEFAULT_MODEL)  # converted (and exported) beforehand
    load_start = load_average()
    with tempfile.TemporaryDirectory(prefix="irchat-cold-") as tmp:
        scratch = settings.scratch(Path(tmp))
        report = Ingestor(Index(scratch)).ingest([args.records])
        if report.errors:
            raise SystemExit(f"ingesting {args.records} failed: {report.errors}")
        env = {
            **os.environ,
            "HF_HUB_OFFLINE": "1",
            "IRCHAT_DATA_DIR": str(scratch.data_dir),
            "IRCHAT_MODEL_DIR": str(scratch.resolved_model_dir),
            "IRCHAT_EMBED_CACHE_DIR": str(scratch.cache_dir),
        }
        env.pop("IRCHAT_LLM_BASE_URL", None)
        env.pop("IRCHAT_EMBED_BACKEND", None)
        irchat = str(Path(sys.executable).parent / "irchat")
        ask = [irchat, "ask", args.question, "--json"]
        commands = {
            "torch: load the model + embed one query": ([sys.executable, "-c", TORCH, str(folder), args.question], env),
            "irchat's embedder (ONNX Runtime): load + embed one query": (
                [sys.executable, "-c", ONNX, args.question],
                env,
            ),
            "`irchat ask` (ONNX Runtime, the default)": (ask, env),
            "`irchat ask` with IRCHAT_EMBED_BACKEND=torch (as before)": (ask, {**env, "IRCHAT_EMBED_BACKEND": "torch"}),
        }
        seconds: dict[str, list[float]] = {name: [] for name in commands}
        loads: list[float] = []
        answer = None
        for r in range(args.rounds):
            order = list(commands) if r % 2 == 0 else list(commands)[::-1]
            for name in order:
                cmd, cmd_env = commands[name]
                s, out = timed(cmd, cmd_env)
                seconds[name].append(s)
                if out.startswith("LOAD "):
                    loads.append(float(out.split()[1]))
                elif "ask" in name and answer is None:
                    answer = json.loads(out)
                print(f"  round {r + 1}: {name}: {s:.2f} s", file=sys.stderr, flush=True)
        modules, heavy = import_profile(ask, env)

    torch_name = next(iter(commands))
    base = statistics.median(seconds[torch_name])
    rows = [
        [
            name,
            " / ".join(f"{s:.2f}" for s in values),
            f"{statistics.median(values):.2f}",
            f"{min(values):.2f}",
            f"{statistics.median(values) / base:.2f}",
        ]
        for name, values in seconds.items()
    ]
    table = markdown_table(["process", "seconds per round", "median s", "best s", "÷ torch load + embed"], rows)
    ask_name = "`irchat ask` (ONNX Runtime, the default)"
    ratio = statistics.median(seconds[ask_name]) / base
    torch_modules = sorted({m for m in modules if m.split(".")[0] in ("torch", "sentence_transformers")})
    load = statistics.median(loads) if loads else float("nan")
    cited = ", ".join(c["citation"] for c in (answer or {}).get("citations", []))
    body = "\n".join(
        [
            "`" + " ".join(["python benchmarks/coldstart.py", *(argv if argv is not None else sys.argv[1:])]) + "`",
            "",
            f"Each number is a fresh process, spawn to exit, {args.rounds} rounds alternating; the index holds "
            f"{args.records} ({report.chunks_added + report.chunks_unchanged} chunks). Question: {args.question} "
            f"(answered with {cited or 'no citation'}).",
            "",
            table,
            "",
            f"- cold `irchat ask` ÷ torch load + one query embedding (medians): {ratio:.2f} — "
            f"**{'PASS' if ratio <= TARGET_RATIO else 'MISS'}** (target ≤ {TARGET_RATIO})",
            f"- the ONNX embedder's load (imports included, inside the process): median {load:.2f} s — "
            f"**{'PASS' if load <= TARGET_LOAD_S else 'MISS'}** (target ≤ {TARGET_LOAD_S:.0f} s)",
            f"- modules of torch or sentence-transformers imported by `irchat ask` (`-X importtime`): "
            f"{len(torch_modules)}" + (f" ({', '.join(torch_modules[:5])} …)" if torch_modules else ""),
            "",
            "What a cold `irchat ask` spends on imports (top-level, cumulative seconds, one `-X importtime` run):",
            "",
            markdown_table(["import", "seconds"], heavy),
            "",
            "Environment: " + "; ".join(f"{k} {v}" for k, v in {**environment(), "load at start": load_start}.items()),
        ]
    )
    print(body)
    if args.markdown:
        replace_section(args.markdown, SECTION, body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
