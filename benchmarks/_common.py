"""Helpers shared by the benchmarks: timing, peak memory, the environment, and markdown output."""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import resource
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "benchmarks.md"


def mib(n_bytes: float) -> str:
    return f"{n_bytes / 1048576:,.0f} MiB"


def process_peak_rss() -> int:
    """Peak resident memory of this process so far, in bytes (``ru_maxrss`` is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


class PeakRSS:
    """Context manager: the highest RSS seen while inside, sampled by a thread every ``interval`` seconds.

    Sampling can miss a spike shorter than the interval; the process-wide peak (:func:`process_peak_rss`)
    cannot. ``start`` is the RSS on entry, so ``peak - start`` is what the phase added at most.
    """

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.start = self.peak = 0
        self._proc = psutil.Process()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, self._proc.memory_info().rss)

    def __enter__(self) -> PeakRSS:
        self.start = self.peak = self._proc.memory_info().rss
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)


class Timer:
    """``with Timer() as t: ...`` then ``t.seconds`` (wall) and ``t.cpu`` (CPU seconds of all this process's
    threads: steadier than wall time when other jobs compete for the cores, though not immune to them)."""

    seconds = cpu = 0.0

    def __enter__(self) -> Timer:
        self._t0, self._c0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._t0
        self.cpu = time.process_time() - self._c0


def load_average() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def environment() -> dict[str, Any]:
    """What the numbers depend on; torch threads only when torch is already imported."""
    env: dict[str, Any] = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpus": f"{os.cpu_count()} ({len(os.sched_getaffinity(0))} usable)"
        if hasattr(os, "sched_getaffinity")
        else str(os.cpu_count()),
        "load average (1/5/15 min)": load_average(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "memory": mib(psutil.virtual_memory().total),
    }
    torch = sys.modules.get("torch")
    if torch is not None:
        env["torch"] = f"{torch.__version__}, {torch.get_num_threads()} threads"
    return env


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines)


def replace_section(path: Path, heading: str, body: str) -> None:
    """Write ``## heading`` + ``body`` into the markdown file, replacing that section (up to the next ``## ``)
    if present and leaving every other section as it is."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    section = f"## {heading}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(heading)}[ \t]*\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
