"""The workflow editor in a real browser: a three-node workflow built from the catalogue by drag and
connect (a type mismatch refused), saved, published, run with an override and watched node by node,
exported and re-imported as the same graph, and a version conflict with another session resolved."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
from PIL import Image
from playwright.sync_api import Page, expect

from pixelmill.config import Settings
from tests.e2e.console.conftest import Tab
from tests.e2e.console.test_console import _account, _sign_in
from tests.support.accounts import SeededAccount

OpenTab = Callable[..., Tab]


def _signed_in(open_tab: OpenTab, settings: Settings) -> tuple[SeededAccount, Tab]:
    """A new pro account with credits, signed in on a tab wide enough for the editor."""
    account = _account(settings)
    tab = open_tab(width=1600, height=1000)
    _sign_in(tab, account.email, account.password)
    return account, tab


def _new_workflow(page: Page, name: str) -> str:
    page.get_by_role("link", name="Workflows").click()
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="New workflow").click()
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    return page.url.rsplit("/", 1)[1]


def _drop(page: Page, node_type: str, x: int, y: int) -> None:
    page.get_by_placeholder("Search nodes").fill(node_type)
    page.get_by_test_id(f"palette-{node_type}").drag_to(page.get_by_test_id("canvas"), target_position={"x": x, "y": y})


def _connect(page: Page, source: str, output: str, target: str, field: str) -> None:
    page.locator(f"[data-testid=node-{source}] .react-flow__handle.source[data-handleid={output}]").drag_to(
        page.locator(f"[data-testid=node-{target}] .react-flow__handle.target[data-handleid={field}]")
    )


def _fill(page: Page, node_id: str, **fields: str) -> None:
    page.get_by_test_id(f"node-{node_id}").locator("header").click()
    expect(page.get_by_role("complementary", name="Inspector").get_by_role("heading", name=node_id)).to_be_visible()
    for field, value in fields.items():
        page.locator(f"#field-{field}").fill(value)


def test_build_publish_run_and_round_trip_a_three_node_workflow(open_tab: OpenTab, settings: Settings) -> None:
    account, tab = _signed_in(open_tab, settings)
    page = tab.page
    workflow_id = _new_workflow(page, "Captioned postcard")

    _drop(page, "image.generate", 10, 10)
    _drop(page, "image.style", 340, 200)
    _drop(page, "image.text", 680, 10)
    for node_id in ("generate", "style", "text"):
        expect(page.get_by_test_id(f"node-{node_id}")).to_be_visible()

    # list[image] does not feed an image input: refused with a message, no edge drawn.
    _connect(page, "generate", "images", "style", "image")
    expect(page.get_by_role("status")).to_contain_text("types do not match")
    expect(page.locator(".react-flow__edge")).to_have_count(0)
    _connect(page, "generate", "image", "style", "image")
    _connect(page, "style", "image", "text", "image")
    expect(page.locator(".react-flow__edge")).to_have_count(2)

    # Live validation with the server's codes, on the node and on the field it names.
    missing = page.get_by_test_id("node-text").locator("[data-code=MISSING_INPUT]")
    expect(missing).to_have_text(["MISSING_INPUT (text)"])  # image is fed by the edge now
    _fill(page, "text")
    expect(page.get_by_role("complementary", name="Inspector").get_by_role("alert")).to_be_visible()
    _fill(page, "generate", prompt="a lighthouse", model="local/procedural")
    # The model field offers the image models of GET /v1/models, and no voice models.
    expect(page.locator("#field-model-options option[value='local/procedural']")).to_have_count(1)
    expect(page.locator("#field-model-options option[value='local/espeak']")).to_have_count(0)
    _fill(page, "style")
    page.locator("#field-style").select_option("watercolor")
    _fill(page, "text", text="Greetings")
    expect(page.get_by_test_id("validity")).to_contain_text("valid")
    expect(page.get_by_test_id("unsaved")).to_be_visible()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Saved draft v2")
    expect(page.get_by_test_id("unsaved")).to_have_count(0)
    page.get_by_role("button", name="Publish", exact=True).click()
    expect(page.get_by_test_id("versions")).to_contain_text("v1")

    with httpx.Client(base_url=tab.base_url, headers=account.headers) as api:
        saved = api.get(f"/v1/workflows/{workflow_id}").json()
        assert saved["published_version"] == 1
        assert {n["type"] for n in saved["graph"]["nodes"]} == {"image.generate", "image.style", "image.text"}

        # An override through its form: the published value shows until replaced.
        page.get_by_label("Override a node for this run").select_option("text")
        expect(page.locator("#override-text-text")).to_have_attribute("placeholder", "Greetings")
        page.locator("#override-text-text").fill("Overridden")
        page.get_by_role("button", name="Run published").click()
        expect(page.get_by_test_id("run-status")).to_have_text("complete", timeout=30_000)
        for node_id in ("generate", "style", "text"):
            expect(page.get_by_test_id(f"node-{node_id}")).to_have_attribute("data-status", "complete")
        expect(page.get_by_test_id("node-text").get_by_role("img")).to_be_visible()
        run_id = page.locator("aside code").first.inner_text()
        run = api.get(f"/v1/runs/{run_id}").json()
        assert run["status"] == "completed"
        assert run["workflow_version"] == 1
        assert {n["node_id"] for n in run["nodes"] if n["status"] == "completed"} == {"generate", "style", "text"}
        ran = {n["id"]: n for n in api.get(f"/v1/runs/{run_id}/graph").json()["graph"]["nodes"]}
        assert ran["text"]["inputs"]["text"] == "Overridden"
        assert ran["generate"]["inputs"]["prompt"] == "a lighthouse"

        page.get_by_role("button", name="Export JSON").click()
        exported = json.loads(page.get_by_label("Exported JSON").input_value())
        assert exported == saved["graph"]

        # Re-import into a fresh workflow: the same graph.
        page.get_by_role("button", name="Close").click()

        # The version list diffs a published version against the draft.
        _fill(page, "text", text="Changed")
        expect(page.get_by_test_id("unsaved")).to_be_visible()
        page.get_by_role("button", name="Diff v1 with draft").click()
        expect(page.get_by_role("region", name="Changes since v1")).to_have_text('~ text.text: "Greetings" → "Changed"')
        # Leaving with that edit unsaved asks first.
        page.get_by_role("link", name="Workflows").click()
        leaving = page.get_by_role("dialog", name="Unsaved changes")
        leaving.get_by_role("button", name="Stay").click()
        expect(page.get_by_role("heading", name="Captioned postcard")).to_be_visible()
        page.get_by_role("link", name="Workflows").click()
        leaving.get_by_role("button", name="Leave").click()
        copy_id = _new_workflow(page, "Imported copy")
        page.get_by_label("Graph JSON to import").fill(json.dumps(exported))
        page.get_by_role("button", name="Import JSON").click()
        expect(page.locator(".react-flow__edge")).to_have_count(2)
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.get_by_role("status")).to_contain_text("Saved draft v2")
        assert api.get(f"/v1/workflows/{copy_id}").json()["graph"] == exported
    tab.assert_no_problems()


def test_a_conflict_with_another_session_shows_both_versions_and_keeps_the_chosen_one(
    open_tab: OpenTab, settings: Settings
) -> None:
    account, tab = _signed_in(open_tab, settings)
    page = tab.page
    workflow_id = _new_workflow(page, "Contested")
    page.get_by_placeholder("Search nodes").fill("value.string")
    page.get_by_test_id("palette-value.string").click()
    expect(page.get_by_test_id("node-string")).to_be_visible()

    theirs = {"nodes": [{"id": "other", "type": "value.integer", "inputs": {"value": 7}}], "edges": []}
    with httpx.Client(base_url=tab.base_url, headers=account.headers) as api:
        changed = api.patch(f"/v1/workflows/{workflow_id}", json={"graph": theirs}, headers={"If-Match": '"1"'})
        assert changed.status_code == 200

        page.get_by_role("button", name="Save", exact=True).click()
        dialog = page.get_by_role("dialog", name="Version conflict")
        expect(dialog).to_contain_text("Theirs, v2")
        expect(dialog).to_contain_text('"other"')
        expect(dialog).to_contain_text('"string"')
        expect(dialog.get_by_role("list", name="Yours against theirs").get_by_role("listitem")).to_have_text(
            ["+ node string (value.string)", "- node other (value.integer)"]
        )
        dialog.get_by_role("button", name="Keep mine").click()
        expect(page.get_by_role("status")).to_contain_text("Saved draft v3")
        kept = api.get(f"/v1/workflows/{workflow_id}").json()
        assert [n["id"] for n in kept["graph"]["nodes"]] == ["string"]
    # The one expected failure: the browser reports the refused save (409) on its console.
    assert all("409" in problem for problem in tab.problems), tab.problems


def test_a_running_node_lights_up_and_the_run_is_cancelled(open_tab: OpenTab, settings: Settings) -> None:
    account = _account(settings)
    graph = {"nodes": [{"id": "wait", "type": "test.sleep", "inputs": {"seconds": 20}}], "edges": []}
    tab = open_tab(width=1600, height=1000)
    with httpx.Client(base_url=tab.base_url, headers=account.headers) as api:
        made = api.post("/v1/workflows", json={"name": "Slow", "graph": graph}).json()
        assert api.post(f"/v1/workflows/{made['id']}/publish").status_code == 201
        _sign_in(tab, account.email, account.password)
        page = tab.page
        page.get_by_role("link", name="Workflows").click()
        page.get_by_role("link", name="Slow").click()
        page.get_by_role("button", name="Run published").click()
        expect(page.get_by_test_id("node-wait")).to_have_attribute("data-status", "running")
        expect(page.get_by_role("progressbar", name="wait progress")).to_be_visible()
        page.get_by_role("button", name="Cancel run").click()
        expect(page.get_by_test_id("run-status")).to_have_text("cancelled")
        run_id = page.locator("aside code").first.inner_text()
        assert api.get(f"/v1/runs/{run_id}").json()["status"] == "cancelled"
    tab.assert_no_problems()


def test_the_example_workflows_open_and_one_runs(open_tab: OpenTab, settings: Settings) -> None:
    account, tab = _signed_in(open_tab, settings)
    page = tab.page
    page.get_by_role("link", name="Workflows").click()
    for name in ("Product variations", "Avatar styles", "Editorial enhance", "Image to video"):
        expect(page.get_by_role("link", name=name)).to_be_visible()
    page.get_by_role("link", name="Text to image with caption").click()
    for node_id in ("prompt", "image", "caption_text", "captioned"):
        expect(page.get_by_test_id(f"node-{node_id}")).to_be_visible()
    expect(page.locator(".react-flow__edge")).to_have_count(4)
    expect(page.get_by_test_id("validity")).to_contain_text("valid")
    expect(page.get_by_test_id("unsaved")).to_have_count(0)  # opening is not an edit
    page.get_by_label("Override a node for this run").select_option("image")
    page.locator("#override-image-model").fill("local/procedural")
    page.locator("#override-image-resolution").fill("512")
    page.get_by_role("button", name="Run published").click()
    expect(page.get_by_test_id("run-status")).to_have_text("complete", timeout=30_000)
    expect(page.get_by_test_id("node-captioned").get_by_role("img")).to_be_visible()

    # The run's graph (its override merged) opens as a new workflow.
    run_id = page.locator("aside code").first.inner_text()
    page.get_by_role("button", name="Open run as new workflow").click()
    expect(page.get_by_role("heading", name=f"Run {run_id}")).to_be_visible()
    expect(page.locator(".react-flow__edge")).to_have_count(4)
    copy_id = page.url.rsplit("/", 1)[1]
    with httpx.Client(base_url=tab.base_url, headers=account.headers) as api:
        copy = api.get(f"/v1/workflows/{copy_id}").json()
    image = next(n for n in copy["graph"]["nodes"] if n["id"] == "image")
    assert image["inputs"]["model"] == "local/procedural"
    tab.assert_no_problems()


def test_copy_paste_undo_redo_delete_and_auto_layout(open_tab: OpenTab, settings: Settings) -> None:
    _, tab = _signed_in(open_tab, settings)
    page = tab.page
    _new_workflow(page, "Edits")
    page.get_by_placeholder("Search nodes").fill("value.")
    page.get_by_test_id("palette-value.integer").click()
    page.get_by_test_id("palette-value.float").click()
    _connect(page, "integer", "value", "float", "value")  # int feeds float
    expect(page.locator(".react-flow__edge")).to_have_count(1)

    # Select both, copy, paste: two new nodes with fresh ids and their edge.
    page.get_by_test_id("node-integer").locator("header").click()
    page.get_by_test_id("node-float").locator("header").click(modifiers=["Control"])
    page.keyboard.press("Control+c")
    page.keyboard.press("Control+v")
    expect(page.get_by_test_id("node-integer-2")).to_be_visible()
    expect(page.get_by_test_id("node-float-2")).to_be_visible()
    expect(page.locator(".react-flow__edge")).to_have_count(2)
    page.get_by_role("button", name="Undo").click()
    expect(page.get_by_test_id("node-integer-2")).to_have_count(0)
    page.get_by_role("button", name="Redo").click()
    expect(page.get_by_test_id("node-float-2")).to_be_visible()

    # A move is an edit too: undo puts the node back where it was.
    header = page.get_by_test_id("node-float-2").locator("header")
    before = header.bounding_box()
    assert before is not None
    page.mouse.move(before["x"] + 10, before["y"] + 5)
    page.mouse.down()
    page.mouse.move(before["x"] + 160, before["y"] + 205, steps=8)
    page.mouse.up()
    moved = header.bounding_box()
    assert moved is not None
    assert moved["y"] > before["y"] + 150
    page.get_by_role("button", name="Undo").click()
    expect(page.get_by_test_id("node-float-2")).to_be_visible()
    back = header.bounding_box()
    assert back is not None
    assert (round(back["x"]), round(back["y"])) == (round(before["x"]), round(before["y"]))

    # Delete a node with the keyboard: its edge goes with it; one undo brings both back.
    page.get_by_test_id("node-float-2").locator("header").click()
    page.keyboard.press("Delete")
    expect(page.get_by_test_id("node-float-2")).to_have_count(0)
    expect(page.locator(".react-flow__edge")).to_have_count(1)
    page.get_by_role("button", name="Undo").click()
    expect(page.get_by_test_id("node-float-2")).to_be_visible()
    expect(page.locator(".react-flow__edge")).to_have_count(2)
    page.get_by_role("button", name="Redo").click()
    expect(page.get_by_test_id("node-float-2")).to_have_count(0)

    page.get_by_role("button", name="Auto-layout").click()
    page.wait_for_timeout(300)
    boxes = [page.get_by_test_id(f"node-{n}").bounding_box() for n in ("integer", "float", "integer-2")]
    assert all(box is not None for box in boxes)
    first, second, third = (box for box in boxes if box is not None)
    assert first["x"] + first["width"] <= second["x"]  # left to right along the edge
    assert third["y"] >= first["y"] + first["height"] or third["y"] + third["height"] <= first["y"]
    tab.assert_no_problems()


def test_an_uploaded_image_feeds_a_workflow(open_tab: OpenTab, settings: Settings, tmp_path: Path) -> None:
    picture = tmp_path / "gradient.png"
    pixels = np.linspace(0, 255, 96 * 96 * 3).reshape(96, 96, 3).astype(np.uint8)
    Image.fromarray(pixels).save(picture)
    account, tab = _signed_in(open_tab, settings)
    page = tab.page
    workflow_id = _new_workflow(page, "Restyle an upload")
    page.get_by_placeholder("Search nodes").fill("image.")
    page.get_by_test_id("palette-image.load").click()
    page.get_by_label("file_id upload").set_input_files(picture)
    expect(page.get_by_role("img", name="file_id file")).to_be_visible()
    page.get_by_test_id("palette-image.upscale").click()
    page.get_by_role("button", name="Auto-layout").click()
    _connect(page, "load", "image", "upscale", "image")
    expect(page.get_by_test_id("validity")).to_contain_text("valid")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Saved")
    page.get_by_role("button", name="Publish", exact=True).click()
    expect(page.get_by_test_id("versions")).to_contain_text("v1")
    page.get_by_role("button", name="Run published").click()
    expect(page.get_by_test_id("run-status")).to_have_text("complete", timeout=30_000)
    preview = page.get_by_test_id("node-upscale").get_by_role("img")
    expect(preview).to_be_visible()
    source = preview.get_attribute("src")
    assert source is not None
    made = Image.open(io.BytesIO(page.request.get(source).body()))
    assert made.size == (192, 192)  # the upload, upscaled twice
    with httpx.Client(base_url=tab.base_url, headers=account.headers) as api:
        graph = api.get(f"/v1/workflows/{workflow_id}").json()["graph"]
    assert graph["nodes"][0]["inputs"]["file_id"].startswith("file_")
    tab.assert_no_problems()


def test_a_gallery_output_is_picked_as_an_image_input(open_tab: OpenTab, settings: Settings) -> None:
    account = _account(settings)
    tab = open_tab(width=1600, height=1000)
    with httpx.Client(base_url=tab.base_url, headers=account.headers) as api:
        made = api.post(
            "/v1/generations",
            json={"generation_type": "image", "prompt": "a red kite", "settings": {"aspect_ratio": "1:1"}},
            headers={"Prefer": "wait=30"},
        )
        assert made.json()["status"] == "completed", made.text
        output = api.get("/v1/files", params={"source": "output"}).json()["data"][0]
    _sign_in(tab, account.email, account.password)
    page = tab.page
    workflow_id = _new_workflow(page, "From the gallery")
    page.get_by_placeholder("Search nodes").fill("image.load")
    page.get_by_test_id("palette-image.load").click()
    page.get_by_role("button", name="Choose from library").click()
    library = page.get_by_role("dialog", name="file_id library")
    expect(library).to_contain_text("Nothing uploaded yet")
    library.get_by_label("Gallery").check()
    library.get_by_role("button", name=f"Pick {output['filename'] or output['id']}").click()
    expect(library).to_have_count(0)
    expect(page.get_by_role("img", name="file_id file")).to_be_visible()
    expect(page.get_by_test_id("validity")).to_contain_text("valid")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Saved")
    with httpx.Client(base_url=tab.base_url, headers=account.headers) as api:
        graph = api.get(f"/v1/workflows/{workflow_id}").json()["graph"]
    assert graph["nodes"][0]["inputs"]["file_id"] == output["id"]

    # The draft runs as it stands, unpublished.
    page.get_by_role("button", name="Run draft").click()
    expect(page.get_by_test_id("run-status")).to_have_text("complete", timeout=30_000)
    expect(page.get_by_test_id("node-load")).to_have_attribute("data-status", "complete")
    expect(page.get_by_test_id("node-load").get_by_role("img")).to_be_visible()
    tab.assert_no_problems()


def _published(api: httpx.Client, name: str, graph: dict[str, object]) -> None:
    made = api.post("/v1/workflows", json={"name": name, "graph": graph})
    assert made.status_code == 201, made.text
    assert api.post(f"/v1/workflows/{made.json()['id']}/publish").status_code == 201


def test_a_failing_node_shows_its_error_and_a_second_run_marks_cached_nodes(
    open_tab: OpenTab, settings: Settings
) -> None:
    account = _account(settings)
    overflow = {"nodes": [{"id": "huge", "type": "math.multiply", "inputs": {"a": 1e308, "b": 10}}], "edges": []}
    picture = {
        "nodes": [
            {
                "id": "generate",
                "type": "image.generate",
                "inputs": {"prompt": "a pier", "model": "local/procedural", "seed": 7, "size": "256x256"},
            },
            {"id": "blur", "type": "image.blur", "inputs": {"radius": 2}},
        ],
        "edges": [
            {"source": {"node_id": "generate", "field": "image"}, "destination": {"node_id": "blur", "field": "image"}}
        ],
    }
    tab = open_tab(width=1600, height=1000)
    with httpx.Client(base_url=tab.base_url, headers=account.headers) as api:
        _published(api, "Overflow", overflow)
        _published(api, "Cached pier", picture)
    _sign_in(tab, account.email, account.password)
    page = tab.page

    page.get_by_role("link", name="Workflows").click()
    page.get_by_role("link", name="Overflow").click()
    page.get_by_role("button", name="Run published").click()
    expect(page.get_by_test_id("run-status")).to_have_text("failed", timeout=30_000)
    failed = page.get_by_test_id("node-huge")
    expect(failed).to_have_attribute("data-status", "failed")
    expect(failed.get_by_role("alert")).to_contain_text("INVALID_INPUT: The result of 1e+308 * 10.0 is too large")

    page.get_by_role("link", name="Workflows").click()
    page.get_by_role("link", name="Cached pier").click()
    for attempt in ("first", "second"):
        page.get_by_role("button", name="Run published").click()
        expect(page.get_by_test_id("run-status")).to_have_text("complete", timeout=30_000)
        for node_id in ("generate", "blur"):
            status = "complete" if attempt == "first" else "cached"
            expect(page.get_by_test_id(f"node-{node_id}")).to_have_attribute("data-status", status)
    expect(page.get_by_test_id("node-blur").locator(".tag", has_text="cached")).to_be_visible()
    expect(page.get_by_test_id("node-blur").get_by_role("img")).to_be_visible()
    # The browser logged the failed run's refusal nowhere: a failed node is an answer, not an error.
    tab.assert_no_problems()


def _png(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, "PNG")
    return buffer.getvalue()


def test_a_list_of_images_is_picked_one_by_one_and_runs_as_a_contact_sheet(
    open_tab: OpenTab, settings: Settings
) -> None:
    account = _account(settings)
    tab = open_tab(width=1600, height=1000)
    with httpx.Client(base_url=tab.base_url, headers=account.headers) as api:
        for name, colour in (("red.png", (220, 30, 30)), ("blue.png", (30, 30, 220))):
            sent = api.post("/v1/files", files={"file": (name, _png(colour), "image/png")})
            assert sent.status_code == 201, sent.text
    _sign_in(tab, account.email, account.password)
    page = tab.page
    _new_workflow(page, "Contact sheet")
    page.get_by_placeholder("Search nodes").fill("image.grid")
    page.get_by_test_id("palette-image.grid").click()
    for name in ("red.png", "blue.png", "red.png"):
        page.get_by_role("button", name="Add from library").click()
        page.get_by_role("dialog", name="images library").get_by_role("button", name=f"Pick {name}").click()
    expect(page.get_by_role("img", name="images file 3")).to_be_visible()
    page.get_by_role("button", name="Remove images file 3").click()
    expect(page.get_by_role("img", name=re.compile("^images file"))).to_have_count(2)
    expect(page.get_by_test_id("validity")).to_contain_text("valid")

    page.get_by_role("button", name="Run draft").click()
    expect(page.get_by_test_id("run-status")).to_have_text("complete", timeout=30_000)
    preview = page.get_by_test_id("node-grid").get_by_role("img")
    expect(preview).to_be_visible()
    source = preview.get_attribute("src")
    assert source is not None
    sheet = np.asarray(Image.open(io.BytesIO(page.request.get(source).body())).convert("RGB"))
    reds = (sheet[..., 0] > 180) & (sheet[..., 2] < 80)
    blues = (sheet[..., 2] > 180) & (sheet[..., 0] < 80)
    assert reds.any()
    assert blues.any()
    assert np.nonzero(reds)[1].mean() < np.nonzero(blues)[1].mean()  # red first, then blue
    tab.assert_no_problems()


def test_a_draft_run_shows_each_output_on_its_node(open_tab: OpenTab, settings: Settings) -> None:
    _, tab = _signed_in(open_tab, settings)
    page = tab.page
    _new_workflow(page, "Sums and words")
    _drop(page, "math.add", 20, 20)
    _drop(page, "value.string", 20, 360)
    _fill(page, "add", a="2", b="3.5")
    _fill(page, "string", value="hello")
    expect(page.get_by_test_id("validity")).to_contain_text("valid")
    page.get_by_role("button", name="Run draft").click()
    expect(page.get_by_test_id("run-status")).to_have_text("complete", timeout=30_000)
    expect(page.get_by_test_id("output-add")).to_have_text("5.5")
    expect(page.get_by_test_id("output-string")).to_have_text("hello")
    tab.assert_no_problems()


def test_the_inspector_is_the_node_schema_as_a_form(open_tab: OpenTab, settings: Settings) -> None:
    _, tab = _signed_in(open_tab, settings)
    page = tab.page
    _new_workflow(page, "Form")
    palette = page.get_by_role("complementary", name="Node catalogue")
    page.get_by_placeholder("Search nodes").fill("gaussian")  # descriptions are searched too
    expect(palette.locator("summary")).to_have_text(["image"])
    blur = palette.get_by_test_id("palette-image.blur")
    expect(blur).to_have_attribute("title", re.compile("Gaussian"))
    blur.click()
    inspector = page.get_by_role("complementary", name="Inspector")
    expect(inspector.locator(".form-row", has=page.locator("#field-image")).get_by_title("required")).to_be_visible()
    expect(inspector.locator(".form-row", has=page.locator("#field-radius"))).to_contain_text("float · default 8")
    expect(page.locator("#field-radius")).to_have_attribute("placeholder", "8")
    # A range is a slider beside the number; an enum a select whose empty choice names the default.
    page.get_by_label("radius slider").fill("32")
    expect(page.locator("#field-radius")).to_have_value("32")
    expect(page.locator("#field-kind option").first).to_have_text("default (gaussian)")
    page.locator("#field-kind").select_option("box")
    page.get_by_label("use_cache").uncheck()
    page.get_by_label("output (not intermediate)").uncheck()
    header = page.get_by_test_id("node-blur").locator("header")
    expect(header).to_contain_text("no cache")
    expect(header.locator(".tag.out")).to_have_count(0)

    page.get_by_role("button", name="Export JSON").click()
    exported = json.loads(page.get_by_label("Exported JSON").input_value())
    assert exported["nodes"] == [
        {
            "id": "blur",
            "type": "image.blur",
            "inputs": {"radius": 32, "kind": "box"},
            "use_cache": False,
            "is_intermediate": True,
        }
    ]
    tab.assert_no_problems()
