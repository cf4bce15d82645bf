"""A short run of ``benchmarks/providers.py`` as a standing probe: with tiny counts it still serves a
real ``pixelmill serve`` against the fake OpenAI Images API, prints every figure, and a burst of runs
stays under the fake's 429 threshold because pixelmill's upstream limiter holds it at its setting."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "providers.py"
CONCURRENCY = 4
SMALL = ["--calls", "3", "--runs", "10", "--latency", "0.3", "--upstream-limit", "6"]


@pytest.mark.slow
def test_the_providers_benchmark_runs_small_and_its_burst_draws_no_429() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCHMARK), *SMALL, "--upstream-concurrency", str(CONCURRENCY)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    print(result.stdout, result.stderr[-4000:])
    assert result.returncode == 0
    figures = (
        "bare httpx call to the fake",
        "one-node run, Prefer: wait",
        "added by pixelmill (paired)",
        "any one-node run (math.add)",
    )
    for figure in figures:
        assert re.search(rf"{re.escape(figure)}\s+p50\s+-?[\d.]+ ms\s+p95\s+-?[\d.]+ ms", result.stdout), figure
    assert re.search(r"one run alone \(median of 3\)\s+[\d.]+ s", result.stdout)
    assert re.search(r"ratio\s+[\d.]+x", result.stdout)
    limiter = re.search(
        r"upstream 429s drawn by pixelmill\s+(\d+)\s+\(most in flight at the fake: (\d+)\)", result.stdout
    )
    assert limiter is not None
    assert int(limiter.group(1)) == 0
    assert 1 <= int(limiter.group(2)) <= CONCURRENCY
