"""The gallery in a real browser: server-side filters narrow the grid, bulk selection deletes
several outputs and one Undo restores them, the grid keeps two columns on a phone, and the grid
and lightbox answer the keyboard."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from PIL import Image
from playwright.sync_api import expect

from pixelmill.config import Settings
from tests.e2e.console.conftest import Tab
from tests.e2e.console.test_console import _account, _sign_in
from tests.support.accounts import SeededAccount

OpenTab = Callable[..., Tab]


def _generate(base_url: str, account: SeededAccount, body: dict[str, Any]) -> str:
    with httpx.Client(base_url=base_url, headers={**account.headers, "Prefer": "wait=60"}, timeout=90) as api:
        response = api.post("/v1/generations", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "completed", response.text
    generation_id: str = response.json()["id"]
    return generation_id


def _thumbs(tab: Tab) -> Any:
    return tab.page.get_by_test_id("gallery-grid").get_by_role("button", name="Open ")


def test_filters_narrow_the_grid_and_bulk_delete_undoes_in_one_step(open_tab: OpenTab, settings: Settings) -> None:
    account = _account(settings)
    tab = open_tab()
    for prompt in ("first barn", "second barn"):
        _generate(tab.base_url, account, {"generation_type": "image", "prompt": prompt})
    card = _generate(tab.base_url, account, {"generation_type": "infographic", "prompt": "Chart card\n- a\n- b"})
    _sign_in(tab, account.email, account.password)
    page = tab.page
    page.get_by_role("link", name="Gallery").click()
    expect(_thumbs(tab)).to_have_count(3)

    filters = page.get_by_role("search", name="Filters")
    filters.get_by_label("Type").select_option("infographic")
    expect(_thumbs(tab)).to_have_count(1)
    expect(page.get_by_role("button", name="Open Chart card")).to_be_visible()
    assert "generation_type=infographic" in page.url
    filters.get_by_label("Type").select_option("")
    filters.get_by_label("Model").select_option("local/procedural")
    expect(_thumbs(tab)).to_have_count(2)
    filters.get_by_label("From").fill("2001-01-01")
    filters.get_by_label("To").fill("2001-01-02")
    expect(_thumbs(tab)).to_have_count(0)
    filters.get_by_label("From").fill("")
    filters.get_by_label("To").fill("")
    filters.get_by_label("Model").select_option("")
    expect(_thumbs(tab)).to_have_count(3)

    page.get_by_role("checkbox", name="Select first barn").check()
    page.get_by_role("checkbox", name="Select second barn").check()
    expect(page.get_by_test_id("selected-count")).to_have_text("2 selected")
    downloads: list[Any] = []
    page.on("download", lambda download: downloads.append(download))
    page.get_by_role("toolbar", name="Selection").get_by_role("button", name="Download selected").click()
    for _ in range(100):  # one download after another, a quarter second apart
        if len(downloads) >= 2:
            break
        page.wait_for_timeout(50)
    assert len(downloads) == 2
    for download in downloads:
        picture = Image.open(download.path())
        picture.load()
        assert min(picture.size) >= 64
    page.get_by_role("toolbar", name="Selection").get_by_role("button", name="Delete selected").click()
    expect(_thumbs(tab)).to_have_count(1)
    with httpx.Client(base_url=tab.base_url, headers=account.headers) as api:
        listed = api.get("/v1/generations").json()["data"]
        assert [g["id"] for g in listed] == [card]
        page.get_by_role("button", name="Undo").click()
        expect(_thumbs(tab)).to_have_count(3)
        assert len(api.get("/v1/generations").json()["data"]) == 3
    tab.assert_no_problems()


def test_the_grid_and_lightbox_answer_the_keyboard_and_a_phone_gets_two_columns(
    open_tab: OpenTab, settings: Settings
) -> None:
    account = _account(settings)
    tab = open_tab(width=390, height=844)
    for n in range(3):
        _generate(tab.base_url, account, {"generation_type": "image", "prompt": f"tile {n}"})
    _sign_in(tab, account.email, account.password)
    page = tab.page
    page.goto(tab.base_url + "/gallery")
    expect(_thumbs(tab)).to_have_count(3)
    first, second, third = (page.get_by_role("button", name=f"Open tile {n}") for n in (2, 1, 0))
    first_box, second_box, third_box = (b.bounding_box() for b in (first, second, third))
    assert first_box is not None
    assert second_box is not None
    assert third_box is not None
    assert first_box["y"] == second_box["y"]  # two columns side by side at phone width
    assert third_box["y"] > first_box["y"]

    first.focus()
    page.keyboard.press("ArrowRight")
    expect(second).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(third).to_be_focused()  # the cell below the first column's neighbour clamps to the last
    page.keyboard.press("Enter")
    lightbox = page.get_by_role("dialog", name="Output")
    expect(lightbox.get_by_text("tile 0")).to_be_visible()
    page.keyboard.press("ArrowLeft")
    expect(lightbox.get_by_text("tile 1")).to_be_visible()
    page.keyboard.press("Escape")
    expect(lightbox).to_have_count(0)
    expect(second).to_be_focused()  # focus returns to the output the lightbox showed last
    tab.assert_no_problems()


def test_graph_runs_outputs_are_in_the_gallery_too(open_tab: OpenTab, settings: Settings) -> None:
    account = _account(settings)
    tab = open_tab()
    graph = {"nodes": [{"id": "poster", "type": "image.generate", "inputs": {"prompt": "a lighthouse"}}], "edges": []}
    with httpx.Client(base_url=tab.base_url, headers={**account.headers, "Prefer": "wait=60"}, timeout=90) as api:
        run = api.post("/v1/runs", json={"graph": graph}).json()
    assert run["status"] == "completed", run
    _generate(tab.base_url, account, {"generation_type": "image", "prompt": "not a graph run"})
    _sign_in(tab, account.email, account.password)
    page = tab.page
    page.goto(tab.base_url + "/gallery")
    expect(_thumbs(tab)).to_have_count(1)
    page.get_by_role("search", name="Filters").get_by_label("Source").select_option("graph")
    thumb = page.get_by_role("button", name=f"Open graph run {run['run_id']} · poster")
    expect(_thumbs(tab)).to_have_count(1)
    thumb.click()
    lightbox = page.get_by_role("dialog", name="Output")
    source = lightbox.get_by_role("img").get_attribute("src")
    assert source is not None
    assert page.request.get(source).headers["content-type"].startswith("image/")
    lightbox.get_by_role("button", name="Delete").click()
    expect(thumb).to_have_count(0)
    page.get_by_role("button", name="Undo").click()
    expect(thumb).to_have_count(1)
    tab.assert_no_problems()
