"""InvokeAI's filter, infill, random and string node types enqueued over HTTP (SQLite and
PostgreSQL): results read from session.results in InvokeAI's shapes, images fetched by name from
/api/v1/images/i/{name}/full and decoded."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

from pixelmill.config import Settings
from tests.support.accounts import SeededAccount
from tests.support.images import photo_like
from tests.support.plans import unthrottled_plans
from tests.support.runs import grant
from tests.support.server import LiveServer


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"plans": unthrottled_plans(), "dispatch_poll_seconds": 0.2})


@pytest.fixture
def client(live_server: LiveServer, account: SeededAccount, settings: Settings) -> Iterator[httpx.Client]:
    grant(settings.resolved_database_url, account.workspace_id, 1000)  # image nodes cost credits
    with httpx.Client(base_url=live_server.url, headers=account.headers, timeout=30) as client:
        yield client


def upload(client: httpx.Client, pixels: NDArray[np.uint8]) -> str:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    answer = client.post("/v1/files", files={"file": ("picture.png", buffer.getvalue(), "image/png")})
    assert answer.status_code == 201, answer.text
    return f"{answer.json()['id']}.png"


def run(client: httpx.Client, nodes: dict[str, dict[str, Any]], edges: list[tuple[str, str, str, str]]) -> Any:
    graph = {
        "id": "g",
        "nodes": {node_id: {"id": node_id, **node} for node_id, node in nodes.items()},
        "edges": [
            {"source": {"node_id": a, "field": af}, "destination": {"node_id": b, "field": bf}}
            for a, af, b, bf in edges
        ],
    }
    answer = client.post("/api/v1/queue/default/enqueue_batch", json={"batch": {"graph": graph}})
    assert answer.status_code == 200, answer.text
    item_id = answer.json()["item_ids"][0]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        item = client.get(f"/api/v1/queue/default/i/{item_id}").json()
        if item["status"] in ("completed", "failed", "canceled"):
            assert item["status"] == "completed", item
            return item
        time.sleep(0.1)
    raise AssertionError(f"item {item_id} did not finish")


def result(item: dict[str, Any], source_id: str) -> dict[str, Any]:
    session = item["session"]
    value: dict[str, Any] = session["results"][session["source_prepared_mapping"][source_id][0]]
    return value


def fetched(client: httpx.Client, output: dict[str, Any]) -> NDArray[np.uint8]:
    """The output's image fetched by its name and decoded (RGBA), its size as the result says."""
    assert output["type"] == "image_output"
    answer = client.get(f"/api/v1/images/i/{output['image']['image_name']}/full")
    assert answer.status_code == 200, answer.text
    image = Image.open(io.BytesIO(answer.content))
    assert image.format == "PNG"
    assert image.size == (output["width"], output["height"])
    return np.asarray(image.convert("RGBA"))


def test_a_photo_through_scale_blur_grey_and_canny(client: httpx.Client) -> None:
    photo = photo_like(96, 64)
    name = upload(client, photo)
    item = run(
        client,
        {
            "src": {"type": "image", "image": {"image_name": name}},
            "scaled": {"type": "img_scale", "scale_factor": 0.5, "resample_mode": "bilinear"},
            "blurred": {"type": "img_blur", "radius": 3},
            "grey": {"type": "img_conv"},
            "green": {"type": "img_chan", "channel": "G"},
            "edges": {"type": "canny_edge_detection"},
            "dimmed": {"type": "img_lerp", "min": 0, "max": 128},
            "shaded": {"type": "img_mul"},
        },
        [
            ("src", "image", "scaled", "image"),
            ("src", "image", "blurred", "image"),
            ("src", "image", "grey", "image"),
            ("src", "image", "green", "image"),
            ("src", "image", "edges", "image"),
            ("src", "image", "dimmed", "image"),
            ("src", "image", "shaded", "image1"),
            ("dimmed", "image", "shaded", "image2"),
        ],
    )
    assert (result(item, "scaled")["width"], result(item, "scaled")["height"]) == (48, 32)
    blurred = fetched(client, result(item, "blurred"))[:, :, :3]
    grey = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY).astype(np.float32)
    energy = np.abs(cv2.Laplacian(grey, cv2.CV_32F)).mean()
    blurred_grey = cv2.cvtColor(np.ascontiguousarray(blurred), cv2.COLOR_RGB2GRAY).astype(np.float32)
    assert np.abs(cv2.Laplacian(blurred_grey, cv2.CV_32F)).mean() < energy / 2
    luma = fetched(client, result(item, "grey"))[:, :, 0].astype(float)
    assert np.abs(luma - (photo @ np.array([0.299, 0.587, 0.114]))).max() <= 1
    assert np.array_equal(fetched(client, result(item, "green"))[:, :, 0], photo[:, :, 1])
    edges = fetched(client, result(item, "edges"))[:, :, 0]
    assert np.array_equal(edges, cv2.Canny(photo, 100, 200))
    dimmed = fetched(client, result(item, "dimmed"))[:, :, :3].astype(float)
    assert np.abs(dimmed - photo * (128 / 255)).max() <= 0.5 + 1e-6
    shaded = fetched(client, result(item, "shaded"))[:, :, :3].astype(float)
    assert np.abs(shaded - photo * dimmed / 255).max() <= 1


def test_infill_fills_the_transparent_part(client: httpx.Client) -> None:
    photo = np.dstack([photo_like(64, 48), np.full((48, 64), 255, np.uint8)])
    photo[:, 40:, 3] = 0
    name = upload(client, photo)
    image = {"image_name": name}
    item = run(
        client,
        {
            "grey": {"type": "infill_rgba", "image": image},
            "red": {"type": "infill_rgba", "image": image, "color": {"r": 255, "g": 0, "b": 0, "a": 255}},
            "tiles": {"type": "infill_tile", "image": image, "tile_size": 8, "seed": 2},
            "cv2": {"type": "infill_cv2", "image": image},
        },
        [],
    )
    hole = photo[:, :, 3] == 0
    assert (fetched(client, result(item, "grey"))[hole] == [127, 127, 127, 255]).all()  # InvokeAI's default
    assert (fetched(client, result(item, "red"))[hole] == [255, 0, 0, 255]).all()
    for node in ("tiles", "cv2"):
        filled = fetched(client, result(item, node))
        assert (filled[:, :, 3] == 255).all(), node
        assert np.array_equal(filled[~hole][:, :3], photo[~hole][:, :3]), node
        assert filled[hole][:, :3].std() > 5, node  # picture, not a flat colour


def test_random_rounding_and_string_nodes_show_invokeai_outputs(client: httpx.Client) -> None:
    item = run(
        client,
        {
            "dice": {"type": "rand_int", "low": 1, "high": 7, "use_cache": False},
            "chance": {"type": "rand_float", "decimals": 3},
            "rounded": {"type": "round_float", "value": 3.14159, "decimals": 2},
            "size": {"type": "float_to_int", "value": 517.0, "multiple": 64},
            "prompt": {"type": "string", "value": "a cat | blurry"},
            "split": {"type": "string_split", "delimiter": " | "},
            "replaced": {"type": "string_replace", "search_string": "cat", "replace_string": "dog"},
            "neg": {"type": "string_split_neg", "string": "a cat [blurry]"},
        },
        [("prompt", "value", "split", "string"), ("split", "string_1", "replaced", "string")],
    )
    dice = result(item, "dice")
    assert dice["type"] == "integer_output"
    assert dice["value"] in range(1, 7)
    chance = result(item, "chance")
    assert chance["type"] == "float_output"
    assert 0.0 <= chance["value"] <= 1.0
    assert round(chance["value"], 3) == chance["value"]
    assert result(item, "rounded") == {"value": 3.14, "type": "float_output"}
    assert result(item, "size") == {"value": 512, "type": "integer_output"}
    assert result(item, "split") == {"string_1": "a cat", "string_2": "blurry", "type": "string_2_output"}
    assert result(item, "replaced") == {"value": "a dog", "type": "string_output"}
    assert result(item, "neg") == {
        "positive_string": "a cat ",
        "negative_string": " blurry",
        "type": "string_pos_neg_output",
    }
