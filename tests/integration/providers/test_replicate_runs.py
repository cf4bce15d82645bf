"""image.generate with ``replicate/*`` models over real HTTP: the served app runs the node, which
calls the loopback fake Replicate (tests/support/fake_replicate.py) and stores what it made."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pixelmill.config import Settings
from tests.integration.providers.test_openai_images import node_error, output_image, run_to_end, start
from tests.integration.providers.test_xai_video_runs import frames_of, video_bytes
from tests.support.accounts import SeededAccount
from tests.support.fake_replicate import COLOUR, PREDICT_TIME, VERSION, FakeReplicate, serve_fake_replicate
from tests.support.runs import TERMINAL, grant, node, run_entries, wait_for
from tests.support.upstream_settings import served_settings

KEY = "r8_runToken0123456789abcdefSECRETTAIL99"


@pytest.fixture
def fake() -> Iterator[tuple[FakeReplicate, str]]:
    with serve_fake_replicate(KEY) as served:
        yield served


def replicate_settings(tmp_path: Path, database_url: str, base_url: str, **overrides: Any) -> Settings:
    specific: dict[str, Any] = {
        "replicate_api_token": KEY,
        "replicate_base_url": base_url,
        "replicate_poll_seconds": 0.02,
    }
    return served_settings(tmp_path, database_url, **{**specific, **overrides})


@pytest.fixture
def settings(tmp_path: Path, database_url: str, fake: tuple[FakeReplicate, str]) -> Settings:
    return replicate_settings(tmp_path, database_url, fake[1])


def test_a_run_with_flux_schnell_stores_the_upstreams_images_and_charges_once(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeReplicate, str]
) -> None:
    server, _ = fake
    server.polls = 2
    grant(settings.resolved_database_url, account.workspace_id, 50)
    run = run_to_end(
        api,
        account,
        node(
            "img",
            "image.generate",
            prompt="a lighthouse",
            model="replicate/black-forest-labs/flux-schnell",
            size="1344x768",
            n=2,
            options={"output_format": "png", "go_fast": True},
        ),
    )
    assert run["status"] == "completed", run
    picture = output_image(api, account, run, "img")
    assert picture.size == (1344, 768)
    assert picture.convert("RGB").getpixel((10, 10)) == COLOUR
    assert len(run["outputs"]["img"]["value"]) == 2
    create = server.requests("POST")[0]
    assert create.path == "/v1/models/black-forest-labs/flux-schnell/predictions"
    assert create.headers["authorization"] == f"Bearer {KEY}"
    assert create.headers["prefer"] == "wait=60"
    assert create.json == {
        "input": {
            "prompt": "a lighthouse",
            "seed": 0,
            "aspect_ratio": "16:9",
            "num_outputs": 2,
            "output_format": "png",
            "go_fast": True,
        }
    }
    assert run_entries(settings.resolved_database_url, run["run_id"]) == [("hold", 10), ("capture", 10)]
    (executed,) = run["nodes"]
    assert executed["usage"] == {
        "provider": "replicate",
        "model": "black-forest-labs/flux-schnell",
        "version": VERSION,
        "prediction_id": "pred0001q8r2",
        "predict_time": PREDICT_TIME,
    }


def test_cancelling_the_run_cancels_the_prediction_upstream(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeReplicate, str]
) -> None:
    server, _ = fake
    server.polls = 100_000
    grant(settings.resolved_database_url, account.workspace_id, 50)
    started = start(api, account, node("img", "image.generate", prompt="slow", model="replicate/acme/slow-model"))
    assert started.status_code == 201, started.text
    run_id = started.json()["run_id"]
    deadline = time.monotonic() + 20
    while not server.requests("GET"):
        assert time.monotonic() < deadline, "the prediction was never polled"
        time.sleep(0.02)
    cancelled = api.post(f"/v1/runs/{run_id}/cancel", headers=account.headers)
    assert cancelled.status_code in (200, 202), cancelled.text
    run = wait_for(api, account.headers, run_id, until=TERMINAL, timeout=20)
    assert run["status"] == "cancelled", run
    assert [r.path for r in server.requests("POST")] == [
        "/v1/models/acme/slow-model/predictions",
        "/v1/predictions/pred0001q8r2/cancel",
    ]
    assert server.predictions["pred0001q8r2"].status == "canceled"
    assert api.get("/v1/credits/wallet", headers=account.headers).json()["balance"] == 50


def test_an_nsfw_failure_is_safety_refusal_and_costs_nothing(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeReplicate, str]
) -> None:
    grant(settings.resolved_database_url, account.workspace_id, 50)
    run = run_to_end(
        api, account, node("img", "image.generate", prompt="NSFW", model="replicate/black-forest-labs/flux-dev")
    )
    assert run["status"] == "failed"
    error = node_error(run, "img")
    assert (error["code"], error["provider"]) == ("SAFETY_REFUSAL", "replicate")
    assert run_entries(settings.resolved_database_url, run["run_id"])[-1] == ("release", 5)
    assert api.get("/v1/credits/wallet", headers=account.headers).json()["balance"] == 50


def test_options_are_refused_for_a_model_that_takes_none(
    api: httpx.Client, account: SeededAccount, settings: Settings
) -> None:
    grant(settings.resolved_database_url, account.workspace_id, 50)
    graph = {
        "nodes": [node("img", "image.generate", prompt="x", model="local/procedural", options={"steps": 4})],
        "edges": [],
    }
    refused = api.post("/v1/runs", json={"graph": graph}, headers=account.headers)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["field"] == "options"


def test_replicate_models_are_listed_with_a_token(api: httpx.Client, account: SeededAccount) -> None:
    listed = api.get("/v1/models", headers=account.headers).json()["data"]
    replicate = {m["id"]: m for m in listed if m["provider"] == "replicate"}
    assert "replicate/black-forest-labs/flux-schnell" in replicate
    assert replicate["replicate/minimax/video-01"]["generation_type"] == "video"
    assert not any(m["sandbox"] for m in replicate.values())


def test_a_bad_token_is_upstream_auth_failed_and_the_token_appears_nowhere(
    tmp_path: Path,
    database_url: str,
    fake: tuple[FakeReplicate, str],
    account: SeededAccount,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from tests.support.server import start_server

    wrong = "r8_wrongToken9876543210fedcbaLEAKED77"
    settings = replicate_settings(tmp_path, database_url, fake[1], replicate_api_token=wrong)
    caplog.set_level(logging.DEBUG)
    live = start_server(settings)
    try:
        with httpx.Client(base_url=live.url, timeout=30) as api:
            grant(settings.resolved_database_url, account.workspace_id, 50)
            run = run_to_end(
                api,
                account,
                node("img", "image.generate", prompt="a cat", model="replicate/black-forest-labs/flux-dev"),
            )
            with api.stream("GET", f"/v1/runs/{run['run_id']}/events", headers=account.headers) as response:
                stream = response.read().decode()
            balance = api.get("/v1/credits/wallet", headers=account.headers).json()["balance"]
    finally:
        live.stop()
    assert run["status"] == "failed"
    error = node_error(run, "img")
    assert (error["code"], error["upstream_status"], error["provider"]) == ("UPSTREAM_AUTH_FAILED", 401, "replicate")
    assert len(fake[0].requests()) == 1
    assert balance == 50
    seen = json.dumps(run) + stream + caplog.text
    for piece in (wrong, wrong[:8], wrong[-8:], "LEAKED"):
        assert piece not in seen


def test_video_generate_runs_a_replicate_video_model_and_charges_per_second(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeReplicate, str]
) -> None:
    server, _ = fake
    grant(settings.resolved_database_url, account.workspace_id, 50)
    run = run_to_end(
        api,
        account,
        node(
            "clip",
            "video.generate",
            prompt="waves at dusk",
            model="replicate/minimax/video-01",
            duration_seconds=6,
            aspect_ratio="16:9",
        ),
    )
    assert run["status"] == "completed", run
    frames = frames_of(video_bytes(api, run, "clip"))
    assert len(frames) > 1
    create = server.requests("POST")[0]
    assert create.path == "/v1/models/minimax/video-01/predictions"
    assert create.json is not None
    assert create.json["input"]["prompt"] == "waves at dusk"
    assert run_entries(settings.resolved_database_url, run["run_id"]) == [("hold", 18), ("capture", 18)]
