"""benchmarks/llm.py runs end to end against the stub endpoint (a stand-in embedder), and replays what it recorded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.openai_stub import OpenAIStub

ROOT = Path(__file__).resolve().parents[1]


def run(args: list[str], tmp_path: Path, base_url: str) -> subprocess.CompletedProcess[str]:
    env = {
        "IRCHAT_DATA_DIR": str(tmp_path / "d"),
        "IRCHAT_LLM_BASE_URL": base_url,
        "IRCHAT_LLM_MODEL": "stub-model",
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
    }
    return subprocess.run(
        [sys.executable, "benchmarks/llm.py", "--embedder", "hash", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )


def test_llm_benchmark_against_the_stub(tmp_path: Path, openai_stub: OpenAIStub) -> None:
    openai_stub.quote("none")  # a small model that cites nothing: every kept answer is attributed here
    md, out = tmp_path / "bench.md", tmp_path / "replies.jsonl"
    md.write_text("# Benchmarks\n\n## Query\n\nkept\n", encoding="utf-8")
    proc = run(["--sample", "4", "--markdown", str(md), "--out", str(out)], tmp_path, openai_stub.base_url)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for line in ("kept, all cited", "kept after attribution", "fallen back", "refused", "citation precision"):
        assert line in proc.stdout
    doc = md.read_text(encoding="utf-8")
    assert "## Query\n\nkept" in doc and "## LLM answers (real model)" in doc and "stub-model" in doc
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 4 and {r["lang"] for r in rows} == {"zh", "en"}
    assert any(r["outcome"] == "kept after attribution" for r in rows)
    assert all(r["replies"] for r in rows)
    n = len(openai_stub.chat_requests)

    # the recorded replies scored again, without the endpoint
    replayed = tmp_path / "replayed.md"
    proc = run(["--replay", str(out), "--markdown", str(replayed)], tmp_path, "http://127.0.0.1:9/v1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(openai_stub.chat_requests) == n
    assert proc.stdout.count("kept after attribution") >= 2  # the progress line and the table


def test_llm_benchmark_needs_an_endpoint(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "benchmarks/llm.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "IRCHAT_DATA_DIR": str(tmp_path / "d")},
    )
    assert proc.returncode == 2 and "IRCHAT_LLM_BASE_URL" in proc.stderr
