"""Serve a GGUF model through llama.cpp's OpenAI-compatible server, from the ``xllamacpp`` wheel, for
``benchmarks/llm.py``. Not a dependency of irchat: run it with a virtualenv of its own.

    python3.11 -m venv /opt/llm && /opt/llm/bin/pip install xllamacpp
    /opt/llm/bin/python benchmarks/llama_server.py MODEL.gguf --port 8765 --threads 2
    # then: IRCHAT_LLM_BASE_URL=http://127.0.0.1:8765/v1 python benchmarks/llm.py

It binds 127.0.0.1 only and serves one request at a time (one slot, a 4,096-token context) until Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", type=Path, help="a .gguf file")
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ctx", type=int, default=4096, help="context tokens (prompt and reply)")
    args = ap.parse_args(argv)
    if not args.model.is_file():
        print(f"{args.model}: no such model file", file=sys.stderr)
        return 2
    try:
        import xllamacpp
    except ImportError:
        print("xllamacpp is not installed in this interpreter: pip install xllamacpp (in a venv of its own)")
        return 2

    # Blocked before the server's threads start, so that they inherit the mask and sigwait below gets them.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    params = xllamacpp.CommonParams()
    params.model.path = str(args.model)
    params.hostnames = ["127.0.0.1"]
    params.port = args.port
    params.n_ctx = args.ctx
    params.n_parallel = 1
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    server = xllamacpp.Server(params)  # serves on its own threads from here on
    print(f"serving {args.model.name} at {server.listening_address}/v1 (Ctrl-C stops)", flush=True)
    signal.sigwait({signal.SIGINT, signal.SIGTERM})
    # The server's destructor waits for a main loop that a signal does not end: leave without it.
    os._exit(0)


if __name__ == "__main__":
    raise SystemExit(main())
