"""The listener cap: 503 SSE_CAPACITY before a stream opens, a slot back when one closes; the metrics."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY

from pixelmill.config import Settings
from tests.integration.runs.conftest import run_settings
from tests.support.accounts import SeededAccount


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return run_settings(tmp_path, database_url, sse_max_listeners=2)


def listeners(stream: str) -> float:
    return REGISTRY.get_sample_value("pixelmill_event_listeners", {"stream": stream}) or 0.0


def test_streams_past_the_cap_are_refused_with_sse_capacity(api: httpx.Client, account: SeededAccount) -> None:
    before = listeners("workspace")
    with api.stream("GET", "/v1/events", headers=account.headers) as first:
        assert first.status_code == 200
        with api.stream("GET", "/v1/events", headers=account.headers) as second:
            assert second.status_code == 200
            assert listeners("workspace") == before + 2
            refused = api.get("/v1/events", headers=account.headers)
            assert refused.status_code == 503
            assert refused.json()["error"]["code"] == "SSE_CAPACITY"
    deadline = time.monotonic() + 5
    while listeners("workspace") > before and time.monotonic() < deadline:
        time.sleep(0.02)  # the server notices the disconnects
    assert listeners("workspace") == before
    with api.stream("GET", "/v1/events", headers=account.headers) as again:
        assert again.status_code == 200
