"""Retention tests: a plan that keeps runs one day, sweeps driven by the test with an explicit ``now``."""

from __future__ import annotations

from pathlib import Path

import pytest

from pixelmill.config import Settings
from tests.integration.runs.conftest import run_plans, run_settings
from tests.support.accounts import SeededAccount, seed_account


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    plans = run_plans()
    plans["brief"] = plans["pro"].model_copy(update={"retention_days": 1})
    # The server's own sweep stays off: each test sweeps at the moment it names.
    return run_settings(tmp_path, database_url, plans=plans, retention_enabled=False)


@pytest.fixture
def brief(settings: Settings) -> SeededAccount:
    """A workspace whose plan keeps finished runs for one day."""
    return seed_account(settings.resolved_database_url, plan="brief")


@pytest.fixture
def other(settings: Settings) -> SeededAccount:
    """A second workspace on the pro plan (30 days)."""
    return seed_account(settings.resolved_database_url)
