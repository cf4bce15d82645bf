"""A short run of ``benchmarks/openai_api.py`` as a standing probe: with tiny counts it still serves a
real ``pixelmill serve``, drives it with the official ``openai`` SDK, and prints every figure."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "openai_api.py"
SMALL = ["--turns", "2", "--chats", "1", "--tokens", "16", "--size", "64x64"]
FIGURE = r"p50\s+[\d.]+ ms\s+p95\s+[\d.]+ ms"


@pytest.mark.slow
def test_the_openai_api_benchmark_runs_small_and_prints_its_figures() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCHMARK), *SMALL], capture_output=True, text=True, timeout=600, check=False
    )
    print(result.stdout, result.stderr[-4000:])
    assert result.returncode == 0
    for response_format in ("b64_json", "url"):
        assert re.search(rf"SDK images\.generate \({response_format}\)\s+{FIGURE}", result.stdout)
        assert re.search(rf"ratio SDK/runs \({response_format}\)\s+[\d.]+x", result.stdout)
    assert len(re.findall(rf"/v1/runs, Prefer: wait\s+{FIGURE}", result.stdout)) == 2
    assert re.search(r"bare provider \(text_generation\.py\)\s+[\d.]+ tokens/s", result.stdout)
    assert re.search(r"SDK streamed chat completion\s+[\d.]+ tokens/s", result.stdout)
    assert re.search(r"ratio streamed/bare\s+[\d.]+x", result.stdout)
