"""video.generate with ``xai/grok-imagine-video`` in runs of the served app, and POST /v1/generations
of type video naming it, against the fake xAI on loopback (tests/support/fake_xai.py)."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from PIL import Image

from pixelmill.config import Settings
from tests.integration.providers.test_openai_images import node_error, run_to_end, upload
from tests.integration.providers.test_xai_images import KEY, xai_settings
from tests.support.accounts import SeededAccount
from tests.support.fake_xai import VIDEO_TICKS_PER_SECOND, FakeXAI, serve_fake_xai
from tests.support.runs import grant, node, run_entries, wait_for

MODEL = "xai/grok-imagine-video"


@pytest.fixture
def fake() -> Iterator[tuple[FakeXAI, str]]:
    with serve_fake_xai(KEY) as served:
        yield served


@pytest.fixture
def settings(tmp_path: Path, database_url: str, fake: tuple[FakeXAI, str]) -> Settings:
    return xai_settings(tmp_path, database_url, fake[1], xai_video_poll_seconds=0.05)


def frames_of(data: bytes) -> list[Image.Image]:
    with av.open(io.BytesIO(data)) as container:
        return [frame.to_image() for frame in container.decode(video=0)]


def video_bytes(api: httpx.Client, run: dict[str, Any], node_id: str) -> bytes:
    output = run["outputs"][node_id]
    assert output["type"] == "video", output
    response = api.get(output["value"])  # a signed URL
    assert response.status_code == 200, response.text
    return response.content


def test_a_run_makes_the_upstreams_video_and_charges_per_second_once(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeXAI, str]
) -> None:
    server, _ = fake
    grant(settings.resolved_database_url, account.workspace_id, 50)
    run = run_to_end(
        api,
        account,
        node("v", "video.generate", prompt="waves at dusk", model=MODEL, duration_seconds=4, aspect_ratio="9:16"),
    )
    assert run["status"] == "completed", run
    frames = frames_of(video_bytes(api, run, "v"))
    assert len(frames) == 4 * 4  # four seconds at the fake's four frames a second
    assert frames[0].size == (48, 86)
    (started,) = server.requests("/v1/videos/generations")
    assert started.headers["authorization"] == f"Bearer {KEY}"
    assert started.json == {
        "model": "grok-imagine-video",
        "prompt": "waves at dusk",
        "duration": 4,
        "aspect_ratio": "9:16",
        "resolution": "720p",
    }
    (request_id,) = server.jobs
    assert len(server.requests(f"/v1/videos/{request_id}")) == 3  # pending twice, then done
    assert run_entries(settings.resolved_database_url, run["run_id"]) == [("hold", 12), ("capture", 12)]
    assert api.get("/v1/credits/wallet", headers=account.headers).json()["balance"] == 38
    (executed,) = run["nodes"]
    assert executed["usage"] == {
        "provider": "xai",
        "model": "grok-imagine-video",
        "duration_seconds": 4.0,
        "cost_in_usd_ticks": 4 * VIDEO_TICKS_PER_SECOND,
    }


def test_image_to_video_sends_the_uploaded_still_in_its_shape(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeXAI, str]
) -> None:
    server, _ = fake
    grant(settings.resolved_database_url, account.workspace_id, 50)
    still = upload(api, account, Image.new("RGB", (400, 300), (30, 60, 200)))
    run = run_to_end(
        api,
        account,
        node(
            "v",
            "video.generate",
            prompt="the sea moves",
            model=MODEL,
            image={"type": "image", "file_id": still},
            duration_seconds=2,
            resolution="480p",
            options={"generate_audio": False},
        ),
    )
    assert run["status"] == "completed", run
    (started,) = server.requests("/v1/videos/generations")
    body = dict(started.json)
    image = body.pop("image")
    assert body == {
        "model": "grok-imagine-video",
        "prompt": "the sea moves",
        "duration": 2,
        "aspect_ratio": "4:3",
        "resolution": "480p",
        "generate_audio": False,
    }
    assert image["url"].startswith("data:image/png;base64,")
    assert frames_of(video_bytes(api, run, "v"))[0].size == (64, 48)
    assert run_entries(settings.resolved_database_url, run["run_id"]) == [("hold", 6), ("capture", 6)]


def test_a_moderated_video_is_safety_refusal_and_costs_nothing(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeXAI, str]
) -> None:
    grant(settings.resolved_database_url, account.workspace_id, 50)
    run = run_to_end(api, account, node("v", "video.generate", prompt="FORBIDDEN", model=MODEL, duration_seconds=2))
    assert run["status"] == "failed"
    error = node_error(run, "v")
    assert (error["code"], error["upstream_code"], error["provider"]) == ("SAFETY_REFUSAL", "respect_moderation", "xai")
    assert run_entries(settings.resolved_database_url, run["run_id"]) == [("hold", 6), ("release", 6)]
    assert api.get("/v1/credits/wallet", headers=account.headers).json()["balance"] == 50
    assert not [r for r in fake[0].requests() if r.path.startswith("/bucket/")]


def test_inputs_the_model_cannot_take_are_422_before_anything_is_sent(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeXAI, str]
) -> None:
    grant(settings.resolved_database_url, account.workspace_id, 500)
    for inputs, field in (
        ({"duration_seconds": 20}, "duration_seconds"),
        ({"duration_seconds": 2.5}, "duration_seconds"),
        ({"resolution": "1080p"}, "resolution"),
    ):
        graph = {"nodes": [node("v", "video.generate", prompt="p", model=MODEL, **inputs)], "edges": []}
        response = api.post("/v1/runs", json={"graph": graph}, headers=account.headers)
        assert response.status_code == 422, response.text
        assert (response.json()["error"]["field"], response.json()["error"]["model"]) == (field, MODEL)
    local = {"nodes": [node("v", "video.generate", prompt="p", model="local/ken-burns")], "edges": []}
    refused = api.post("/v1/runs", json={"graph": local}, headers=account.headers)
    assert refused.status_code == 422
    assert "video.from_image" in refused.json()["error"]["message"]
    assert fake[0].requests() == []


def test_a_test_key_cannot_use_the_xai_video_model(
    api: httpx.Client, settings: Settings, fake: tuple[FakeXAI, str]
) -> None:
    from tests.support.accounts import seed_account

    tester = seed_account(settings.resolved_database_url, mode="test")
    graph = {"nodes": [node("v", "video.generate", prompt="p", model=MODEL)], "edges": []}
    response = api.post("/v1/runs", json={"graph": graph}, headers=tester.headers)
    assert (response.status_code, response.json()["error"]["code"]) == (403, "SANDBOX_ONLY")
    assert fake[0].requests() == []


def test_cancelling_the_run_while_the_job_is_polled_stops_polling_and_costs_nothing(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeXAI, str]
) -> None:
    server, _ = fake
    server.video_pending_polls = 100_000
    grant(settings.resolved_database_url, account.workspace_id, 50)
    graph = {"nodes": [node("v", "video.generate", prompt="slow", model=MODEL, duration_seconds=1)], "edges": []}
    created = api.post("/v1/runs", json={"graph": graph}, headers=account.headers)
    assert created.status_code == 201, created.text
    run_id = created.json()["run_id"]
    deadline = time.monotonic() + 20
    while len(server.requests()) < 3 and time.monotonic() < deadline:  # started and polled twice
        time.sleep(0.02)
    assert api.post(f"/v1/runs/{run_id}/cancel", headers=account.headers).json() == {"ok": True}
    run = wait_for(api, account.headers, run_id, until={"cancelled", "failed", "completed"})
    assert run["status"] == "cancelled", run
    polled = len(server.requests())
    time.sleep(0.3)  # six poll intervals
    assert len(server.requests()) == polled
    assert not [r for r in server.requests() if r.path.startswith("/bucket/")]
    assert run_entries(settings.resolved_database_url, run_id)[-1] == ("release", 3)
    assert api.get("/v1/credits/wallet", headers=account.headers).json()["balance"] == 50


def test_a_video_generation_naming_the_xai_model_runs_video_generate(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeXAI, str]
) -> None:
    server, _ = fake
    grant(settings.resolved_database_url, account.workspace_id, 50)
    still = upload(api, account, Image.new("RGB", (64, 64), (5, 5, 5)))
    body = {
        "generation_type": "video",
        "model_name": MODEL,
        "prompt": "a spinning top",
        "file_id": still,
        "settings": {"duration": 3, "aspect_ratio": "1:1"},
    }
    response = api.post("/v1/generations", json=body, headers={**account.headers, "Prefer": "wait=30"})
    assert response.status_code == 201, response.text
    created = response.json()
    assert (created["generation_type"], created["model_name"], created["credit_cost"]) == ("video", MODEL, 9)
    done = created
    deadline = time.monotonic() + 30
    while done["status"] not in ("completed", "failed", "cancelled") and time.monotonic() < deadline:
        time.sleep(0.05)
        done = api.get(f"/v1/generations/{created['id']}", headers=account.headers).json()
    assert done["status"] == "completed", done
    (value,) = done["outputs"]
    frames = frames_of(api.get(value).content)
    assert (len(frames), frames[0].size) == (3 * 4, (48, 48))
    (started,) = server.requests("/v1/videos/generations")
    assert {k: v for k, v in started.json.items() if k != "image"} == {
        "model": "grok-imagine-video",
        "prompt": "a spinning top",
        "duration": 3,
        "aspect_ratio": "1:1",
        "resolution": "720p",
    }
    assert started.json["image"]["url"].startswith("data:image/png;base64,")
    run = api.get(f"/v1/runs/{created['id']}", headers=account.headers).json()
    assert [(item["type"], item["credits"]) for item in run["nodes"]] == [("video.generate", 9)]
    assert api.get("/v1/credits/wallet", headers=account.headers).json()["balance"] == 41
