"""The ingest benchmark runs end to end in its tiny mode (3 files, hash embedder: no model is loaded)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ingest_benchmark_tiny_mode(tmp_path: Path) -> None:
    out = tmp_path / "benchmarks.md"
    out.write_text("# Benchmarks\n\n## Ingest\n\nold numbers\n\n## Query latency\n\nkept\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "benchmarks/ingest.py", "--limit", "3", "--embedder", "hash", "--markdown", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "| Phase | Work | Wall s | CPU s |" in proc.stdout
    for phase in ("parse", "chunk", "embed (a)", "store", "pipeline", "re-ingest"):
        assert f"| {phase}" in proc.stdout, phase
    assert "PASS" in proc.stdout or "MISS" in proc.stdout
    assert "wrote nothing" in proc.stdout
    assert "same texts as (a): yes" in proc.stdout
    assert "- embedder: bench-hash" in proc.stdout  # the stand-in, not the model
    doc = out.read_text(encoding="utf-8")
    assert "old numbers" not in doc and doc.count("## Ingest") == 1
    assert "## Query latency\n\nkept" in doc and "| Phase |" in doc
