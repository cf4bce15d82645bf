"""A short run of ``benchmarks/chaos.py`` as a standing probe: a few kill -9 trials of the embedded
server (and, where PostgreSQL and Redis answer, of the fleet's server and worker) lose no run and
charge none twice. The benchmark exits non-zero when they do; its figures are printed either way."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.services import require_service

CHAOS = Path(__file__).resolve().parents[2] / "benchmarks" / "chaos.py"
SMALL = ["--trials", "2", "--baselines", "1", "--runs-per-trial", "4", "--recovery-timeout", "90"]


def _chaos(mode: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, str(CHAOS), "--mode", mode, *SMALL],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    print(result.stdout, result.stderr[-4000:])
    return result


@pytest.mark.slow
def test_kill_9_of_the_embedded_server_loses_no_run_and_charges_none_twice() -> None:
    result = _chaos("embedded")
    assert result.returncode == 0
    assert "lost runs (never terminal) 0" in result.stdout
    assert "double charges 0" in result.stdout


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.redis
def test_kill_9_of_the_fleet_server_and_worker_loses_no_run_and_charges_none_twice() -> None:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    require_service("Redis", "127.0.0.1", 6379)
    result = _chaos("fleet")
    assert result.returncode == 0
    assert "lost runs (never terminal) 0" in result.stdout
    assert "double charges 0" in result.stdout
