"""The built-in examples installed in a workspace, published, and run end to end over HTTP with a real photo."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import av
import httpx
import numpy as np
import pytest
from PIL import Image

from pixelmill.config import Settings
from pixelmill.db.session import Database
from pixelmill.services.credits import CreditLedger
from pixelmill.services.examples import install_examples
from tests.support.accounts import SeededAccount
from tests.support.images import photo_like, product_shot
from tests.support.plans import unthrottled_plans

WAIT = {"Prefer": "wait=60"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"plans": unthrottled_plans(), "plan_credits_enabled": True, "dispatch_poll_seconds": 0.2}
    )


def install(settings: Settings, workspace_id: str, *, grant: int = 0) -> list[str]:
    async def run() -> list[str]:
        db = Database(settings.resolved_database_url)
        try:
            async with db.session() as session:
                created = await install_examples(session, workspace_id)
                if grant:
                    await CreditLedger(session).grant(workspace_id, grant, "test grant")
            return [workflow.id for workflow in created]
        finally:
            await db.dispose()

    return asyncio.run(run())


@pytest.fixture
def installed(account: SeededAccount, settings: Settings) -> None:
    """The examples in the account's workspace, with credits to run them."""
    install(settings, account.workspace_id, grant=500)


def workflows_by_name(api: httpx.Client, account: SeededAccount) -> dict[str, str]:
    listed = api.get("/v1/workflows", headers=account.headers).json()["data"]
    return {item["name"]: item["id"] for item in listed}


def upload(api: httpx.Client, account: SeededAccount, pixels: np.ndarray[Any, Any]) -> str:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    response = api.post(
        "/v1/files", files={"file": ("in.png", buffer.getvalue(), "image/png")}, headers=account.headers
    )
    assert response.status_code == 201, response.text
    file_id: str = response.json()["id"]
    return file_id


def run_example(
    api: httpx.Client, account: SeededAccount, workflow_id: str, nodes: list[dict[str, Any]]
) -> dict[str, Any]:
    response = api.post(
        f"/v1/workflows/{workflow_id}/runs", json={"nodes": nodes}, headers={**account.headers, **WAIT}, timeout=90
    )
    assert response.status_code == 201, response.text
    run: dict[str, Any] = response.json()
    assert run["status"] == "completed", run["error"]
    return run


def image_at(api: httpx.Client, url: str) -> np.ndarray[Any, Any]:
    response = api.get(url)
    assert response.status_code == 200
    return np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"))


def test_install_publishes_every_example_once(api: httpx.Client, account: SeededAccount, settings: Settings) -> None:
    install(settings, account.workspace_id)  # adds nothing where sign-up installed them already
    assert install(settings, account.workspace_id) == []  # a second call adds nothing
    listed = api.get("/v1/workflows", headers=account.headers).json()["data"]
    assert sorted(item["name"] for item in listed) == sorted(
        ["Product variations", "Avatar styles", "Editorial enhance", "Text to image with caption", "Image to video"]
    )
    for item in listed:
        assert (item["version"], item["published_version"]) == (1, 1)
        versions = api.get(f"/v1/workflows/{item['id']}/versions", headers=account.headers).json()["data"]
        assert [(v["number"], v["published_by"]) for v in versions] == [(1, "pixelmill")]


@pytest.mark.usefixtures("installed")
def test_product_variations_makes_five_styles_and_a_contact_sheet(api: httpx.Client, account: SeededAccount) -> None:
    workflow_id = workflows_by_name(api, account)["Product variations"]
    photo = product_shot(160)
    run = run_example(api, account, workflow_id, [{"id": "photo", "inputs": {"file_id": upload(api, account, photo)}}])
    assert set(run["outputs"]) == {"variations", "contact_sheet"}
    variants = [image_at(api, url) for url in run["outputs"]["variations"]["value"]]
    assert len(variants) == 5
    assert all(v.shape == photo.shape for v in variants)
    assert len({v.tobytes() for v in variants}) == 5  # five different looks
    sheet = image_at(api, run["outputs"]["contact_sheet"]["value"])
    assert sheet.shape[1] > 5 * 256 > sheet.shape[0]  # one row of five cells, with labels under them


@pytest.mark.usefixtures("installed")
def test_avatar_styles_makes_three_square_avatars(api: httpx.Client, account: SeededAccount) -> None:
    workflow_id = workflows_by_name(api, account)["Avatar styles"]
    selfie = photo_like(400, 300)
    run = run_example(api, account, workflow_id, [{"id": "photo", "inputs": {"file_id": upload(api, account, selfie)}}])
    assert set(run["outputs"]) == {"anime", "soft_3d", "oil_paint"}
    avatars = {name: image_at(api, output["value"]) for name, output in run["outputs"].items()}
    assert {avatar.shape for avatar in avatars.values()} == {(512, 512, 3)}
    assert len({avatar.tobytes() for avatar in avatars.values()}) == 3


@pytest.mark.usefixtures("installed")
def test_editorial_enhance_and_image_to_video_with_overrides(api: httpx.Client, account: SeededAccount) -> None:
    named = workflows_by_name(api, account)
    file_id = upload(api, account, photo_like(480, 480))
    edited = run_example(
        api,
        account,
        named["Editorial enhance"],
        [{"id": "photo", "inputs": {"file_id": file_id}}, {"id": "reframe", "inputs": {"aspect_ratio": "4:5"}}],
    )
    response = api.get(edited["outputs"]["deliver"]["value"])
    assert response.headers["content-type"] == "image/jpeg"
    width, height = Image.open(io.BytesIO(response.content)).size
    assert abs(width / height - 4 / 5) < 0.02

    video = run_example(
        api,
        account,
        named["Image to video"],
        [
            {"id": "photo", "inputs": {"file_id": file_id}},
            {"id": "video", "inputs": {"duration_seconds": 1, "resolution": "360p", "fps": 12}},
        ],
    )
    data = api.get(video["outputs"]["video"]["value"]).content
    with av.open(io.BytesIO(data)) as container:
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    assert (len(frames), frames[0].shape) == (12, (360, 640, 3))


@pytest.mark.usefixtures("installed")
def test_text_to_image_with_caption_runs_as_published(api: httpx.Client, account: SeededAccount) -> None:
    workflow_id = workflows_by_name(api, account)["Text to image with caption"]
    run = run_example(
        api,
        account,
        workflow_id,
        [{"id": "prompt", "inputs": {"value": "A red barn in snow"}}, {"id": "image", "inputs": {"resolution": 256}}],
    )
    captioned = image_at(api, run["outputs"]["captioned"]["value"])
    assert captioned.shape[1] == 256
    assert captioned.shape[0] > 192  # the 4:3 picture plus the caption bar under it
    bar = captioned[192:]
    assert (bar.max(axis=2) > 200).any()  # white caption text on the dark bar
