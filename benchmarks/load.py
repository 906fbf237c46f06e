"""Load the running app through its Gradio API: N concurrent clients ask gold questions for S seconds.

    python benchmarks/load.py --url http://127.0.0.1:7860 --clients 20 --seconds 60

Bounded (every client stops after ``--seconds``; a request in flight may finish after that); prints
requests, errors, throughput and latency p50/p95/p99, and exits 1 if any request failed.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT / "evals" / "gold" / "gold.jsonl"


@dataclass
class LoadResult:
    """What the clients saw."""

    clients: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    uncited: int = 0

    @property
    def requests(self) -> int:
        return len(self.latencies) + len(self.errors)

    def summary(self) -> dict[str, Any]:
        """Counts and latency percentiles in milliseconds."""
        lat = np.array(self.latencies) * 1000 if self.latencies else np.zeros(1)
        return {
            "clients": self.clients,
            "seconds": round(self.seconds, 1),
            "requests": self.requests,
            "errors": len(self.errors),
            "answers_without_citation": self.uncited,  # abstentions included
            "throughput_rps": round(len(self.latencies) / self.seconds, 2) if self.seconds else 0.0,
            "p50_ms": round(float(np.percentile(lat, 50)), 1),
            "p95_ms": round(float(np.percentile(lat, 95)), 1),
            "p99_ms": round(float(np.percentile(lat, 99)), 1),
            "max_ms": round(float(lat.max()), 1),
        }


def questions(path: Path = GOLD) -> list[str]:
    """The gold questions, answerable and not, in file order."""
    return [json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def run(url: str, clients: int = 20, seconds: float = 60.0, qs: list[str] | None = None) -> LoadResult:
    """``clients`` threads, each with its own ``gradio_client.Client``, asking until ``seconds`` have passed."""
    from gradio_client import Client

    qs = qs or questions()
    result = LoadResult(clients, seconds)
    lock = threading.Lock()
    start = time.monotonic()
    deadline = start + seconds

    def client(n: int) -> None:
        try:
            c = Client(url, verbose=False)
        except Exception as e:  # any failure to connect is a load error to report
            with lock:
                result.errors.append(f"client {n}: connect: {e}")
            return
        i = n
        while time.monotonic() < deadline:
            q = qs[i % len(qs)]
            i += clients
            t0 = time.monotonic()
            try:
                data = c.predict(question=q, api_name="/ask")
            except Exception as e:  # every failed request is counted, whatever it raised
                with lock:
                    result.errors.append(f"{q}: {type(e).__name__}: {e}")
                continue
            dt = time.monotonic() - t0
            with lock:
                result.latencies.append(dt)
                if not data.get("citations"):
                    result.uncited += 1

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 120)
    result.seconds = time.monotonic() - start
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:7860")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args()
    result = run(args.url, args.clients, args.seconds)
    summary = result.summary()
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for k, v in summary.items():
            print(f"{k:>26}  {v}")
        for e in result.errors[:10]:
            print("error:", e)
    raise SystemExit(1 if result.errors else 0)


if __name__ == "__main__":
    main()
