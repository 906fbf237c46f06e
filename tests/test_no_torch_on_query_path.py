"""`irchat ask`, `irchat search` and the app answer without importing torch once the ONNX export exists, nor
lightgbm and scikit-learn (the answer model's trees run on ONNX Runtime)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from typer.testing import CliRunner
    from ui import cli

    runner = CliRunner()
    results = {}
    question = "海天瑞声2024年上半年的境外收入同比增长了多少？"
    for args in (["ask", question, "--json"], ["search", "gross margin", "--json"]):
        result = runner.invoke(cli.app, args)
        results[args[0]] = [result.exit_code, result.stdout]

    # what `irchat serve` runs before it listens (without binding a port)
    from rag.assistant import Assistant
    from ui.app import build_app, warm_up

    assistant = Assistant()
    warm_up(assistant)
    build_app(assistant)
    heavy = sorted(
        m for m in sys.modules if m.split(".")[0] in ("torch", "sentence_transformers", "lightgbm", "sklearn")
    )
    print("RESULT " + json.dumps({"results": results, "heavy": heavy}))
    """
)


@pytest.mark.slow
def test_ask_search_and_serve_never_import_torch(real_index) -> None:
    settings = real_index.settings
    env = {
        **os.environ,
        "IRCHAT_DATA_DIR": str(settings.data_dir),
        "IRCHAT_MODEL_DIR": str(settings.resolved_model_dir),
        "IRCHAT_EMBED_CACHE_DIR": str(settings.cache_dir),
    }
    env.pop("IRCHAT_EMBED_BACKEND", None)
    env.pop("IRCHAT_LLM_BASE_URL", None)
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    data = json.loads(line[len("RESULT ") :])
    for command, (code, out) in data["results"].items():
        assert code == 0, (command, out)
    ask = json.loads(data["results"]["ask"][1])
    assert "50.00%" in ask["answer"] and ask["citations"], ask
    assert data["heavy"] == [], data["heavy"]
