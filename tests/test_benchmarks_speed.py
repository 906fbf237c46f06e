"""benchmarks/embed.py and benchmarks/coldstart.py end to end at their smallest (the real model: slow)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _env(real_settings, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "IRCHAT_DATA_DIR": str(tmp_path / "data"),
        "IRCHAT_MODEL_DIR": str(real_settings.resolved_model_dir),
        "IRCHAT_EMBED_CACHE_DIR": str(real_settings.cache_dir),
    }


@pytest.fixture
def one_record(tmp_path: Path) -> Path:
    folder = tmp_path / "records"
    shutil.copytree(ROOT / "data" / "records" / "haitian-688787", folder / "haitian-688787")
    return folder


def _run(script: str, args: list[str], settings, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run a benchmark script as a user would; it must exit 0."""
    proc = subprocess.run(
        [sys.executable, script, *args],
        cwd=ROOT,
        env=_env(settings, tmp_path),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


@pytest.mark.slow
def test_embed_benchmark_compares_with_torch(real_settings, one_record: Path, tmp_path: Path) -> None:
    md = tmp_path / "bench.md"
    md.write_text("# Benchmarks\n\n## Query\n\nkept\n", encoding="utf-8")
    args = ["--records", str(one_record), "--rounds", "1", "--queries", "3", "--markdown", str(md)]
    proc = _run("benchmarks/embed.py", args, real_settings, tmp_path)
    assert "torch sentence-transformers encode (baseline)" in proc.stdout
    assert "irchat (ONNX Runtime fp32)" in proc.stdout and "minimum cosine to torch" in proc.stdout
    text = md.read_text(encoding="utf-8")
    assert "## Query\n\nkept" in text and "## Embedding" in text


@pytest.mark.slow
def test_coldstart_benchmark_times_fresh_processes(real_settings, one_record: Path, tmp_path: Path) -> None:
    md = tmp_path / "bench.md"
    args = ["--records", str(one_record), "--rounds", "1", "--markdown", str(md)]
    proc = _run("benchmarks/coldstart.py", args, real_settings, tmp_path)
    out = proc.stdout
    assert "`irchat ask` (ONNX Runtime, the default)" in out and "torch: load the model + embed one query" in out
    # the cold ask imports nothing of torch, and answers with a citation
    assert "modules of torch or sentence-transformers imported by `irchat ask` (`-X importtime`): 0" in out
    assert "(answered with [2024-013 Q" in out, out[:1500]
    assert "## Cold start" in md.read_text(encoding="utf-8")
