"""Run tests: plans sized for them, a server whose runs may use the test node types, open gates at the end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pixelmill.config import Plan, Settings, default_plans
from tests.support.accounts import SeededAccount, seed_account
from tests.support.run_nodes import GATES, use_run_nodes
from tests.support.server import LiveServer

UNLIMITED_RPM = 100_000


def run_plans() -> dict[str, Plan]:
    """The built-in plans without their per-minute limits (bursts of creates are the point here), plus
    ``tiny`` (one run at a time, three queued) and ``burst`` (two at a time, 500 queued)."""
    plans = {
        name: plan.model_copy(update={"requests_per_minute": UNLIMITED_RPM}) for name, plan in default_plans().items()
    }
    plans["tiny"] = plans["pro"].model_copy(update={"concurrent_runs": 1, "max_queued_runs": 3, "priority": 0})
    plans["burst"] = plans["pro"].model_copy(update={"concurrent_runs": 2, "max_queued_runs": 500})
    return plans


def run_settings(tmp_path: Path, database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "database_url": database_url,
        "secret_key": "test-secret-key-that-is-long-enough-for-hs256",
        "allow_private_urls": True,
        "log_format": "text",
        "plans": run_plans(),
        "dispatch_poll_seconds": 0.2,
        "shutdown_grace_seconds": 5,
    }
    return Settings(**{**values, **overrides})


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return run_settings(tmp_path, database_url)


@pytest.fixture
def api(live_server: LiveServer) -> Iterator[httpx.Client]:
    use_run_nodes(live_server.app.state.runtime)
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        yield client
    GATES.reset()  # no test leaves a node blocked behind it, nor an open gate to the next


@pytest.fixture
def other(settings: Settings) -> SeededAccount:
    """A second workspace on the pro plan."""
    return seed_account(settings.resolved_database_url)
