"""benchmarks/query.py runs end to end in its quick mode (a stand-in embedder) and prints its table."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_query_benchmark_quick_mode(tmp_path):
    md = tmp_path / "bench.md"
    out = subprocess.run(
        [sys.executable, "benchmarks/query.py", "--embedder", "hash", "--rounds", "1", "--markdown", str(md)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"IRCHAT_DATA_DIR": str(tmp_path / "d"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    for method in ("LangChain Chroma similarity_search (baseline)", "irchat hybrid (default)", "irchat BM25"):
        assert method in out.stdout
    text = md.read_text(encoding="utf-8")
    assert text.startswith("# Benchmarks") and "## Query" in text and "p95 ms" in text
