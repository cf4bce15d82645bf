"""InvokeAI's Stable Diffusion text-to-image graph run on the diffusers provider, over HTTP.

The weights are a tiny random pipeline saved to disk and named in ``diffusers_models``, so the
server loads them exactly as it loads an operator's; its images are noise, but the real pipeline
code makes them, and the image named in ``session.results`` is decoded from the files API.
"""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from pixelmill.config import Settings
from tests.support.accounts import SeededAccount
from tests.support.plans import unthrottled_plans
from tests.support.runs import grant
from tests.support.server import LiveServer, start_server

pytest.importorskip("diffusers", reason="the diffusers extra is not installed")

from tests.support.tiny_diffusers import save_tiny_pipeline


@pytest.fixture(scope="module")
def pipeline_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_pipeline(tmp_path_factory.mktemp("tiny-sd"))


def sd_graph(model_name: str) -> dict[str, Any]:
    nodes: dict[str, dict[str, Any]] = {
        "model_loader": {"type": "main_model_loader", "model": {"key": "abc", "name": model_name, "base": "sd-1"}},
        "positive": {"type": "compel", "prompt": "a lighthouse at dawn"},
        "negative": {"type": "compel", "prompt": "blurry"},
        "noise": {"type": "noise", "seed": 7, "width": 64, "height": 64},
        "denoise": {"type": "denoise_latents", "steps": 2, "cfg_scale": 7.5, "scheduler": "euler"},
        "decode": {"type": "l2i", "fp32": True, "is_intermediate": False},
    }
    links = [
        ("model_loader", "clip", "positive", "clip"),
        ("model_loader", "clip", "negative", "clip"),
        ("model_loader", "unet", "denoise", "unet"),
        ("positive", "conditioning", "denoise", "positive_conditioning"),
        ("negative", "conditioning", "denoise", "negative_conditioning"),
        ("noise", "noise", "denoise", "noise"),
        ("denoise", "latents", "decode", "latents"),
        ("model_loader", "vae", "decode", "vae"),
    ]
    return {
        "id": "text-to-image",
        "nodes": {node_id: {"id": node_id, **node} for node_id, node in nodes.items()},
        "edges": [
            {"source": {"node_id": a, "field": f}, "destination": {"node_id": b, "field": g}} for a, f, b, g in links
        ],
    }


def test_the_pipeline_runs_on_the_operators_diffusers_weights(
    settings: Settings, account: SeededAccount, pipeline_dir: Path
) -> None:
    grant(settings.resolved_database_url, account.workspace_id, 100)
    served = settings.model_copy(
        update={
            "plans": unthrottled_plans(),
            "diffusers_models": {"tiny": str(pipeline_dir)},
            "diffusers_steps": 2,
            "diffusers_device": "cpu",
        }
    )
    server = start_server(served)
    try:
        with httpx.Client(base_url=server.url, headers=account.headers, timeout=60) as client:
            answer = client.post("/api/v1/queue/default/enqueue_batch", json={"batch": {"graph": sd_graph("tiny")}})
            assert answer.status_code == 200, answer.text
            item_id = answer.json()["item_ids"][0]
            deadline = time.monotonic() + 120
            while (item := client.get(f"/api/v1/queue/default/i/{item_id}").json())["status"] not in (
                "completed",
                "failed",
            ):
                assert time.monotonic() < deadline
                time.sleep(0.2)
            assert item["status"] == "completed", item
            session = item["session"]
            output = session["results"][session["source_prepared_mapping"]["decode"][0]]
            assert (output["type"], output["width"], output["height"]) == ("image_output", 64, 64)
            assert session["source_prepared_mapping"].keys() == sd_graph("tiny")["nodes"].keys()
            content = client.get(f"/v1/files/{output['image']['image_name'].removesuffix('.png')}/content")
            picture = Image.open(io.BytesIO(content.content))
            assert (picture.format, picture.size) == ("PNG", (64, 64))
            unknown = client.post("/api/v1/queue/default/enqueue_batch", json={"batch": {"graph": sd_graph("sdxl")}})
            assert unknown.status_code == 422
            assert unknown.json()["detail"][0]["loc"][4] == "model_loader"
    finally:
        server.stop()


def test_without_diffusers_weights_the_pipeline_is_422_naming_the_loader(
    live_server: LiveServer, account: SeededAccount
) -> None:
    answer = httpx.post(
        f"{live_server.url}/api/v1/queue/default/enqueue_batch",
        headers=account.headers,
        json={"batch": {"graph": sd_graph("tiny")}},
    )
    assert answer.status_code == 422
    problem = answer.json()["detail"][0]
    assert problem["loc"] == ["body", "batch", "graph", "nodes", "model_loader", "model"]
    assert "no diffusers weights" in problem["msg"]
