"""A small bounded run of the load script against the real app (the 20-client, 60 s run is `make load`)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_concurrent_clients_get_answers_without_errors(app_url):
    from benchmarks.load import questions, run

    qs = questions()
    result = run(app_url, clients=4, seconds=8, qs=qs[:12])
    summary = result.summary()
    assert result.errors == [], result.errors[:3]
    assert summary["requests"] >= 4
    assert summary["p50_ms"] <= summary["p95_ms"] <= summary["p99_ms"] <= summary["max_ms"]
    # Most of the first dozen gold questions are answerable: answers carry citations under load too.
    assert summary["answers_without_citation"] < summary["requests"]
