"""A run's own page in a real browser: its graph drawn, each node's timing and cost, the events
timeline, re-run (the same graph posted again), open in the editor and cancel."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
from playwright.sync_api import expect

from pixelmill.config import Settings
from tests.e2e.console.conftest import Tab
from tests.e2e.console.test_console import _account, _sign_in

OpenTab = Callable[..., Tab]

GRAPH: dict[str, Any] = {
    "nodes": [
        {"id": "first", "type": "math.add", "inputs": {"a": 2, "b": 3}},
        {"id": "second", "type": "math.add", "inputs": {"b": 10}},
    ],
    "edges": [{"source": {"node_id": "first", "field": "value"}, "destination": {"node_id": "second", "field": "a"}}],
}


def test_run_detail_shows_nodes_with_timings_and_re_run_makes_a_new_run(open_tab: OpenTab, settings: Settings) -> None:
    account = _account(settings)
    tab = open_tab()
    with httpx.Client(base_url=tab.base_url, headers={**account.headers, "Prefer": "wait=30"}) as api:
        first = api.post("/v1/runs", json={"graph": GRAPH}).json()
    assert first["status"] == "completed", first
    _sign_in(tab, account.email, account.password)
    page = tab.page
    page.get_by_role("link", name="Queue").click()
    page.get_by_role("link", name=first["run_id"]).click()
    expect(page).to_have_url(re.compile(f"/run/{first['run_id']}$"))
    expect(page.get_by_test_id("run-detail-status")).to_have_text("completed", timeout=20_000)

    drawing = page.get_by_role("img", name="Run graph")
    expect(drawing.locator("[data-node-id]")).to_have_count(2)
    first_box = drawing.locator('[data-node-id="first"]').bounding_box()
    second_box = drawing.locator('[data-node-id="second"]').bounding_box()
    assert first_box is not None
    assert second_box is not None
    assert second_box["x"] > first_box["x"]  # the edge's destination is a layer to the right
    nodes = page.get_by_role("table", name="Nodes")
    for node_id in ("first", "second"):
        row = nodes.locator(f'tr[data-node-id="{node_id}"]')
        expect(row).to_contain_text("completed")
        expect(row.get_by_test_id("node-time")).to_have_text(re.compile(r"^\d+(\.\d+)? m?s$"))
    timeline = page.get_by_role("list", name="Events")
    expect(timeline.get_by_text("run_complete")).to_be_visible()
    expect(timeline.locator("li").filter(has_text="node_complete")).to_have_count(2)

    page.get_by_role("button", name="Re-run").click()
    expect(page).not_to_have_url(re.compile(f"/run/{first['run_id']}$"))
    expect(page.get_by_test_id("run-detail-status")).to_have_text("completed", timeout=20_000)
    again = page.url.rsplit("/", 1)[1]
    with httpx.Client(base_url=tab.base_url, headers=account.headers) as api:
        rerun = api.get(f"/v1/runs/{again}").json()
        assert rerun["outputs"] == api.get(f"/v1/runs/{first['run_id']}").json()["outputs"]
        stored = api.get(f"/v1/runs/{again}/graph").json()["graph"]
    assert [n["id"] for n in stored["nodes"]] == ["first", "second"]
    assert stored["edges"] == GRAPH["edges"]

    # The run's graph opens in the workflow editor as a new draft.
    page.get_by_role("button", name="Open in editor").click()
    expect(page.get_by_role("heading", name=f"Run {again}")).to_be_visible()
    expect(page.get_by_test_id("node-second")).to_be_visible()
    expect(page.locator(".react-flow__edge")).to_have_count(1)
    tab.assert_no_problems()


def test_a_running_run_is_cancelled_from_its_page(open_tab: OpenTab, settings: Settings) -> None:
    account = _account(settings)
    tab = open_tab()
    graph = {"nodes": [{"id": "wait", "type": "test.sleep", "inputs": {"seconds": 25}}], "edges": []}
    with httpx.Client(base_url=tab.base_url, headers=account.headers) as api:
        run_id = api.post("/v1/runs", json={"graph": graph}).json()["run_id"]
    _sign_in(tab, account.email, account.password)
    tab.goto(f"/run/{run_id}")
    page = tab.page
    page.get_by_role("button", name="Cancel run").click()
    expect(page.get_by_test_id("run-detail-status")).to_have_text("cancelled", timeout=20_000)
    expect(page.get_by_role("list", name="Events").get_by_text("run_cancelled")).to_be_visible()
    tab.assert_no_problems()
