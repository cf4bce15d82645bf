"""Event stream tests: the run tests' server and plans, streams sized for them."""

from __future__ import annotations

from pathlib import Path

import pytest

from pixelmill.config import Settings
from tests.integration.runs.conftest import api, other, run_settings

__all__ = ["api", "other"]


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return run_settings(tmp_path, database_url, sse_heartbeat_seconds=0.3, sse_listener_buffer=32)
