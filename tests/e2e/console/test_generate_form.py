"""The Generate page's settings form (built from the model's settings_schema) and a reference image
dropped onto it, each followed to the graph the run executes (GET /v1/runs/{id}/graph)."""

from __future__ import annotations

import base64
import io
import json
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
from PIL import Image
from playwright.sync_api import expect

from pixelmill.config import Settings
from tests.e2e.console.conftest import Tab
from tests.e2e.console.test_console import _account, _sign_in

OpenTab = Callable[..., Tab]


def _run_graph(tab: Tab, headers: dict[str, str], run_id: str) -> dict[str, Any]:
    with httpx.Client(base_url=tab.base_url, headers=headers) as api:
        response = api.get(f"/v1/runs/{run_id}/graph")
    assert response.status_code == 200, response.text
    graph: dict[str, Any] = response.json()["graph"]
    return graph


def test_the_settings_form_changes_a_setting_the_run_uses(open_tab: OpenTab, settings: Settings) -> None:
    account = _account(settings)
    tab = open_tab()
    _sign_in(tab, account.email, account.password)
    page = tab.page
    page.get_by_label("Model").select_option("local/procedural")
    settings_form = page.get_by_role("group", name="Settings")
    settings_form.get_by_label("Seed", exact=True).fill("31337")
    settings_form.get_by_label("Size", exact=True).fill("128x72")
    page.get_by_label("Prompt", exact=True).fill("a red barn in a field")
    page.get_by_role("button", name="Generate", exact=True).click()
    expect(page.get_by_test_id("run-status")).to_have_text("complete")
    result = page.get_by_role("region", name="Result").get_by_role("img")
    source = result.get_attribute("src")
    assert source is not None
    picture = Image.open(io.BytesIO(page.request.get(source).body()))
    assert picture.size == (128, 72)  # the size setting reached the renderer
    run_id = page.locator("section.progress code").first.inner_text()
    (node,) = _run_graph(tab, account.headers, run_id)["nodes"]
    assert node["inputs"]["seed"] == 31337
    assert node["inputs"]["size"] == "128x72"
    assert "aspect_ratio" not in node["inputs"]  # untouched fields keep the node's defaults
    page.get_by_role("link", name="Run details").click()
    drawn = page.get_by_role("table", name="Nodes").get_by_test_id("node-inputs")
    expect(drawn).to_contain_text('"seed":31337')
    expect(drawn).to_contain_text('"size":"128x72"')
    tab.assert_no_problems()


def _png_base64() -> str:
    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 255, size=(64, 80, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def test_a_dropped_reference_image_reaches_the_run(open_tab: OpenTab, settings: Settings) -> None:
    account = _account(settings)
    tab = open_tab()
    _sign_in(tab, account.email, account.password)
    page = tab.page
    transfer = page.evaluate_handle(
        """([data, name]) => {
            const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, { type: "image/png" }));
            return transfer;
        }""",
        [_png_base64(), f"ref-{uuid.uuid4().hex[:6]}.png"],
    )
    page.get_by_test_id("reference-drop").dispatch_event("drop", {"dataTransfer": transfer})
    preview = page.get_by_role("img", name="reference: ref-")
    expect(preview).to_be_visible()
    file_id = preview.get_attribute("data-file-id")
    assert file_id
    page.get_by_label("Mode", exact=True).select_option("upscale")
    page.get_by_role("button", name="Generate", exact=True).click()
    expect(page.get_by_test_id("run-status")).to_have_text("complete")
    run_id = page.locator("section.progress code").first.inner_text()
    graph = _run_graph(tab, account.headers, run_id)
    assert file_id in json.dumps(graph["nodes"])
    assert any(node["type"] == "image.upscale" for node in graph["nodes"])
    result = page.get_by_role("region", name="Result").get_by_role("img")
    source = result.get_attribute("src")
    assert source is not None
    picture = Image.open(io.BytesIO(page.request.get(source).body()))
    assert picture.size[0] > 80  # upscaled from the dropped 80x64 picture
    tab.assert_no_problems()


def test_a_pasted_image_becomes_the_reference(open_tab: OpenTab, settings: Settings) -> None:
    account = _account(settings)
    tab = open_tab()
    _sign_in(tab, account.email, account.password)
    page = tab.page
    page.evaluate(
        """(data) => {
            const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], "pasted.png", { type: "image/png" }));
            window.dispatchEvent(new ClipboardEvent("paste", { clipboardData: transfer }));
        }""",
        _png_base64(),
    )
    preview = page.get_by_role("img", name="reference: pasted.png")
    expect(preview).to_be_visible()
    file_id = preview.get_attribute("data-file-id")
    with httpx.Client(base_url=tab.base_url, headers=account.headers) as api:
        stored = api.get(f"/v1/files/{file_id}")
    assert stored.status_code == 200, stored.text
    assert stored.json()["width"] == 80
    tab.assert_no_problems()
