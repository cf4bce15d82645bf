"""image.generate with ``fal/*`` models over real HTTP: the served app runs the node, which queues
the request on the loopback fake fal (tests/support/fake_fal.py) and stores what it made."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pixelmill.config import Settings
from tests.integration.providers.test_openai_images import node_error, output_image, run_to_end
from tests.support.accounts import SeededAccount
from tests.support.fake_fal import COLOUR, INFERENCE_TIME, FakeFal, serve_fake_fal
from tests.support.runs import grant, node, run_entries
from tests.support.upstream_settings import served_settings

KEY = "fal-run-key-id:runSecret0123456789SECRETTAIL"


@pytest.fixture
def fake() -> Iterator[tuple[FakeFal, str]]:
    with serve_fake_fal(KEY) as served:
        yield served


def fal_settings(tmp_path: Path, database_url: str, base_url: str, **overrides: Any) -> Settings:
    specific: dict[str, Any] = {
        "fal_key": KEY,
        "fal_base_url": base_url,
        "fal_poll_seconds": 0.02,
    }
    return served_settings(tmp_path, database_url, **{**specific, **overrides})


@pytest.fixture
def settings(tmp_path: Path, database_url: str, fake: tuple[FakeFal, str]) -> Settings:
    return fal_settings(tmp_path, database_url, fake[1])


def test_a_run_with_flux_schnell_on_fal_stores_the_upstreams_image_and_charges_once(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeFal, str]
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
            prompt="a red fox",
            model="fal/fal-ai/flux/schnell",
            size="768x512",
            seed=5,
            options={"output_format": "png", "num_inference_steps": 4},
        ),
    )
    assert run["status"] == "completed", run
    picture = output_image(api, account, run, "img")
    assert picture.size == (768, 512)
    assert picture.convert("RGB").getpixel((10, 10)) == COLOUR
    submit = server.requests("POST")[0]
    assert submit.path == "/fal-ai/flux/schnell"
    assert submit.headers["authorization"] == f"Key {KEY}"
    assert submit.json == {
        "prompt": "a red fox",
        "seed": 5,
        "image_size": {"width": 768, "height": 512},
        "num_images": 1,
        "output_format": "png",
        "num_inference_steps": 4,
    }
    assert all("authorization" not in r.headers for r in server.cdn.received)
    assert run_entries(settings.resolved_database_url, run["run_id"]) == [("hold", 5), ("capture", 5)]
    (executed,) = run["nodes"]
    assert executed["usage"] == {
        "provider": "fal",
        "model": "fal-ai/flux/schnell",
        "request_id": "0001-aaaa-4bbb-8ccc-fal",
        "inference_time": INFERENCE_TIME,
    }


def test_an_nsfw_flagged_answer_is_safety_refusal_and_costs_nothing(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeFal, str]
) -> None:
    grant(settings.resolved_database_url, account.workspace_id, 50)
    run = run_to_end(api, account, node("img", "image.generate", prompt="NSFW", model="fal/fal-ai/flux/dev"))
    assert run["status"] == "failed"
    error = node_error(run, "img")
    assert (error["code"], error["upstream_code"], error["provider"]) == (
        "SAFETY_REFUSAL",
        "has_nsfw_concepts",
        "fal",
    )
    assert run_entries(settings.resolved_database_url, run["run_id"])[-1] == ("release", 5)
    assert api.get("/v1/credits/wallet", headers=account.headers).json()["balance"] == 50


def test_a_model_run_by_name_is_accepted_and_fal_models_are_listed(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeFal, str]
) -> None:
    grant(settings.resolved_database_url, account.workspace_id, 50)
    run = run_to_end(api, account, node("img", "image.generate", prompt="tea", model="fal/fal-ai/recraft/v3"))
    assert run["status"] == "completed", run
    assert fake[0].requests("POST")[0].path == "/fal-ai/recraft/v3"
    listed = api.get("/v1/models", headers=account.headers).json()["data"]
    fal = {m["id"]: m for m in listed if m["provider"] == "fal"}
    assert "fal/fal-ai/flux/schnell" in fal
    assert "fal/fal-ai/recraft/v3" not in fal  # run by name, not listed
    assert fal["fal/fal-ai/minimax/video-01"]["generation_type"] == "video"


def test_a_bad_key_is_upstream_auth_failed_and_the_key_appears_nowhere(
    tmp_path: Path,
    database_url: str,
    fake: tuple[FakeFal, str],
    account: SeededAccount,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from tests.support.server import start_server

    wrong = "fal-wrong-id:wrongSecret9876543210LEAKED77"
    settings = fal_settings(tmp_path, database_url, fake[1], fal_key=wrong)
    caplog.set_level(logging.DEBUG)
    live = start_server(settings)
    try:
        with httpx.Client(base_url=live.url, timeout=30) as api:
            grant(settings.resolved_database_url, account.workspace_id, 50)
            run = run_to_end(api, account, node("img", "image.generate", prompt="a cat", model="fal/fal-ai/flux/dev"))
            with api.stream("GET", f"/v1/runs/{run['run_id']}/events", headers=account.headers) as response:
                stream = response.read().decode()
            balance = api.get("/v1/credits/wallet", headers=account.headers).json()["balance"]
    finally:
        live.stop()
    assert run["status"] == "failed"
    error = node_error(run, "img")
    assert (error["code"], error["upstream_status"], error["provider"]) == ("UPSTREAM_AUTH_FAILED", 401, "fal")
    assert len(fake[0].requests()) == 1
    assert balance == 50
    seen = json.dumps(run) + stream + caplog.text
    for piece in (wrong, wrong[:8], wrong[-8:], "LEAKED"):
        assert piece not in seen
