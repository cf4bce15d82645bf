"""Memory admission through the served app: runs wait for memory rather than crowd it, a bomb is
refused before it is decoded and costs nothing, and /metrics shows the budget."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from pixelmill.config import Settings
from pixelmill.engine.node import MediaSizes
from pixelmill.nodes.image_edit import ImageStyle
from pixelmill.storage.codecs import encode_image
from tests.integration.runs.conftest import run_settings
from tests.support.accounts import SeededAccount
from tests.support.images import photo_like
from tests.support.runs import TERMINAL, executions, grant, node, wait_for

WIDTH, HEIGHT = 1024, 768


def style_estimate(width: int, height: int) -> int:
    style = ImageStyle.model_validate({"image": {"file_id": "file_x"}, "style": "oil_paint"})
    return style.working_set(MediaSizes(images=((width, height),)))


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    # Room for one restyle of the test photo at a time, not two.
    return run_settings(tmp_path, database_url, memory_budget_bytes=style_estimate(WIDTH, HEIGHT) * 3 // 2)


def upload(api: httpx.Client, account: SeededAccount, data: bytes) -> str:
    response = api.post(
        "/v1/files", content=data, headers={**account.headers, "Content-Type": "application/octet-stream"}
    )
    assert response.status_code == 201, response.text
    file_id: str = response.json()["id"]
    return file_id


def style_run(api: httpx.Client, account: SeededAccount, file_id: str, seed: int) -> str:
    graph = {"nodes": [node("s", "image.style", image={"file_id": file_id}, style="oil_paint", seed=seed)], "edges": []}
    response = api.post("/v1/runs", json={"graph": graph}, headers=account.headers)
    assert response.status_code == 201, response.text
    run_id: str = response.json()["run_id"]
    return run_id


def metric(api: httpx.Client, name: str) -> float:
    text = api.get("/metrics").text
    found = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    assert found is not None, f"{name} is not in /metrics"
    return float(found.group(1))


def test_two_heavy_runs_on_a_small_budget_run_one_after_the_other_and_both_complete(
    api: httpx.Client, account: SeededAccount, settings: Settings
) -> None:
    grant(settings.resolved_database_url, account.workspace_id, 100)
    file_id = upload(api, account, encode_image(photo_like(WIDTH, HEIGHT)))
    runs = [style_run(api, account, file_id, seed) for seed in (1, 2)]
    for run_id in runs:
        assert wait_for(api, account.headers, run_id, until=TERMINAL, timeout=120)["status"] == "completed"
    spans: list[tuple[datetime, datetime]] = []
    for run_id in runs:
        row = executions(settings.resolved_database_url, run_id)["s"]
        assert row.started_at is not None
        assert row.completed_at is not None
        spans.append((row.started_at, row.completed_at))
    first, second = sorted(spans)
    assert second[0] >= first[1], "the second restyle started while the first held the memory"
    assert metric(api, "pixelmill_memory_reserved_bytes") == 0
    assert metric(api, "pixelmill_memory_waiting_nodes") == 0


def test_metrics_show_the_memory_budget(api: httpx.Client, settings: Settings) -> None:
    assert settings.memory_budget_bytes is not None
    assert metric(api, "pixelmill_memory_budget_bytes") == settings.memory_budget_bytes
    assert metric(api, "pixelmill_memory_reserved_bytes") == 0
    assert metric(api, "pixelmill_memory_waiting_nodes") == 0
