"""Generations over real HTTP on SQLite and PostgreSQL: every type makes real media, sources, history,
cancel, delete, credits and the errors that name the request field."""

from __future__ import annotations

import asyncio
import base64
import io
import time
import wave
from typing import Any

import av
import cv2
import httpx
import numpy as np
import pytest
from PIL import Image

from pixelmill.config import Settings
from pixelmill.db.session import Database
from pixelmill.services.credits import CreditLedger
from tests.support.accounts import SeededAccount, seed_account
from tests.support.images import photo_like
from tests.support.plans import unthrottled_plans

WAIT = {"Prefer": "wait=60"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Polling and bursts of creates are the point here: lift the per-minute request limit.
    return settings.model_copy(
        update={"plans": unthrottled_plans(), "plan_credits_enabled": True, "dispatch_poll_seconds": 0.2}
    )


def grant(settings: Settings, workspace_id: str, amount: int) -> None:
    async def run() -> None:
        db = Database(settings.resolved_database_url)
        try:
            async with db.session() as session:
                await CreditLedger(session).grant(workspace_id, amount, "test grant")
        finally:
            await db.dispose()

    asyncio.run(run())


@pytest.fixture
def funded(account: SeededAccount, settings: Settings) -> SeededAccount:
    grant(settings, account.workspace_id, 1000)
    return account


def create(api: httpx.Client, account: SeededAccount, body: dict[str, Any], *, wait: bool = True) -> dict[str, Any]:
    headers = {**account.headers, **(WAIT if wait else {})}
    response = api.post("/v1/generations", json=body, headers=headers, timeout=90)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def finished(api: httpx.Client, account: SeededAccount, generation_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        status = api.get(f"/v1/generations/{generation_id}/status", headers=account.headers).json()
        if status["status"] in ("completed", "failed", "cancelled"):
            break
        time.sleep(0.1)
    body: dict[str, Any] = api.get(f"/v1/generations/{generation_id}", headers=account.headers).json()
    return body


def download(api: httpx.Client, url: str) -> bytes:
    response = api.get(url)  # signed: no credential needed
    assert response.status_code == 200, response.text
    return response.content


def png_base64(pixels: np.ndarray[Any, Any]) -> str:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def decode_image(data: bytes) -> Image.Image:
    picture = Image.open(io.BytesIO(data))
    picture.load()
    return picture


def decode_video_frames(data: bytes) -> list[np.ndarray[Any, Any]]:
    with av.open(io.BytesIO(data)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


DEFAULTS = [
    pytest.param("image", "A lighthouse on a rocky coast at sunset", "local/procedural", 5, id="image"),
    pytest.param(
        "video", "Rolling hills under a summer sky", "local/ken-burns", 20, id="video", marks=pytest.mark.slow
    ),
    pytest.param("voice", "Welcome to pixelmill.", "local/espeak", 3, id="voice"),
    pytest.param("music", "a calm piano piece for a rainy afternoon", "local/algorithmic-music", 8, id="music"),
    pytest.param("infographic", "Why solar power\n- cheap\n- clean\n- quiet", "local/charts", 10, id="infographic"),
    pytest.param("text", "Write one sentence about the sea.", "local/smollm2", 2, id="text", marks=pytest.mark.slow),
]


@pytest.mark.parametrize(("generation_type", "prompt", "model", "cost"), DEFAULTS)
def test_each_type_with_default_settings_makes_real_media(
    api: httpx.Client, funded: SeededAccount, generation_type: str, prompt: str, model: str, cost: int
) -> None:
    created = create(api, funded, {"generation_type": generation_type, "prompt": prompt}, wait=False)
    assert created["id"].startswith("run_")
    assert (created["generation_type"], created["model_name"], created["prompt"]) == (generation_type, model, prompt)
    assert created["status"] == "pending"
    assert created["credit_cost"] == cost
    assert created["outputs"] == []
    done = finished(api, funded, created["id"])
    assert done["status"] == "completed", done["error"]
    assert api.get(f"/v1/generations/{created['id']}/status", headers=funded.headers).json() == {
        "id": created["id"],
        "status": "completed",
        "progress": 100,
    }
    assert len(done["outputs"]) == 1
    value = done["outputs"][0]
    if generation_type in ("image", "infographic"):
        picture = decode_image(download(api, value))
        assert picture.size == ((1024, 1024) if generation_type == "image" else (1200, 675))
        assert np.asarray(picture.convert("L")).std() > 10  # a picture, not a blank
    elif generation_type == "video":
        frames = decode_video_frames(download(api, value))
        assert len(frames) == 5 * 24
        assert frames[0].shape == (720, 1280, 3)
        assert not np.array_equal(frames[0], frames[-1])  # the camera moved
    elif generation_type in ("voice", "music"):
        with wave.open(io.BytesIO(download(api, value))) as audio:
            seconds = audio.getnframes() / audio.getframerate()
            samples = np.frombuffer(audio.readframes(audio.getnframes()), dtype=np.int16)
        assert seconds > (0.5 if generation_type == "voice" else 14)
        assert np.abs(samples).max() > 1000  # audible, not silence
    else:
        assert isinstance(value, str)
        assert len(value.split()) >= 3
    run = api.get(f"/v1/runs/{created['id']}", headers=funded.headers).json()
    assert (run["kind"], run["status"], run["credits_used"]) == ("generation", "completed", cost)
    assert run["metadata"]["generation_type"] == generation_type
    wallet = api.get("/v1/credits/wallet", headers=funded.headers).json()
    assert (wallet["balance"], wallet["reserved"]) == (1000 - cost, 0)


def test_style_from_a_base64_photo_keeps_its_size(api: httpx.Client, funded: SeededAccount) -> None:
    photo = photo_like(320, 240)
    done = create(
        api,
        funded,
        {
            "generation_type": "image",
            "mode": "style",
            "prompt": "an anime still",
            "image_base64": png_base64(photo),
            "project_id": 42,
        },
    )
    assert (done["status"], done["mode"], done["model_name"], done["project_id"]) == (
        "completed",
        "style",
        "local/cv",
        42,
    )
    assert done["source_file_id"].startswith("file_")
    styled = np.asarray(decode_image(download(api, done["outputs"][0])).convert("RGB"))
    assert styled.shape == (240, 320, 3)
    assert np.abs(styled.astype(int) - photo.astype(int)).mean() > 5  # restyled, not copied


def test_an_earlier_generation_can_be_reframed(api: httpx.Client, funded: SeededAccount) -> None:
    first = create(api, funded, {"generation_type": "image", "prompt": "a meadow", "settings": {"size": "512x512"}})
    reframed = create(
        api,
        funded,
        {
            "generation_type": "image",
            "mode": "reframe",
            "source_generation_id": first["id"],
            "settings": {"aspect_ratio": "16:9"},
        },
    )
    assert reframed["status"] == "completed", reframed["error"]
    width, height = decode_image(download(api, reframed["outputs"][0])).size
    assert abs(width / height - 16 / 9) < 0.02


def test_variations_of_an_uploaded_file_are_several_images(api: httpx.Client, funded: SeededAccount) -> None:
    buffer = io.BytesIO()
    Image.fromarray(photo_like(200, 200)).save(buffer, format="JPEG")
    upload = api.post(
        "/v1/files", files={"file": ("photo.jpg", buffer.getvalue(), "image/jpeg")}, headers=funded.headers
    )
    assert upload.status_code == 201, upload.text
    done = create(
        api,
        funded,
        {"generation_type": "image", "mode": "variations", "file_id": upload.json()["id"], "settings": {"count": 3}},
    )
    assert (done["status"], done["output_type"], len(done["outputs"])) == ("completed", "images", 3)
    pictures = [np.asarray(decode_image(download(api, url)).convert("RGB")) for url in done["outputs"]]
    assert all(p.shape == (200, 200, 3) for p in pictures)
    assert not np.array_equal(pictures[0], pictures[1])


def test_image_to_video_animates_the_source(api: httpx.Client, funded: SeededAccount) -> None:
    photo = photo_like(480, 360)
    done = create(
        api,
        funded,
        {
            "generation_type": "video",
            "image_base64": "data:image/png;base64," + png_base64(photo),
            "settings": {"duration": 1, "resolution": "360p", "aspect_ratio": "4:3", "fps": 12},
        },
    )
    assert done["status"] == "completed", done["error"]
    frames = decode_video_frames(download(api, done["outputs"][0]))
    assert (len(frames), frames[0].shape) == (12, (360, 480, 3))
    # The first frame shows the photo (the camera starts wide): compare coarse structure.
    small = cv2.resize(frames[0], (48, 36), interpolation=cv2.INTER_AREA).astype(float)
    expected = cv2.resize(photo, (48, 36), interpolation=cv2.INTER_AREA).astype(float)
    assert np.corrcoef(small.ravel(), expected.ravel())[0, 1] > 0.9


def test_history_is_paginated_newest_first_and_holds_only_generations(api: httpx.Client, funded: SeededAccount) -> None:
    ids = [create(api, funded, {"generation_type": "voice", "prompt": f"number {i}"})["id"] for i in range(3)]
    plain = api.post(
        "/v1/runs", json={"graph": {"nodes": [{"id": "n", "type": "math.add"}]}}, headers=funded.headers
    ).json()
    first = api.get("/v1/generations", params={"limit": 2}, headers=funded.headers).json()
    assert [g["id"] for g in first["data"]] == [ids[2], ids[1]]
    assert first["data"][0]["prompt"] == "number 2"
    second = api.get(
        "/v1/generations", params={"limit": 2, "cursor": first["next_cursor"]}, headers=funded.headers
    ).json()
    assert ([g["id"] for g in second["data"]], second["next_cursor"]) == ([ids[0]], None)
    assert api.get(f"/v1/generations/{plain['run_id']}", headers=funded.headers).status_code == 404


def test_cancel_stops_a_long_video_and_releases_its_hold(api: httpx.Client, funded: SeededAccount) -> None:
    body = {"generation_type": "video", "prompt": "a long pan", "settings": {"duration": 60, "resolution": "1080p"}}
    created = create(api, funded, body, wait=False)
    busy = api.delete(f"/v1/generations/{created['id']}", headers=funded.headers)
    assert (busy.status_code, busy.json()["error"]["code"]) == (409, "RUN_NOT_FINISHED")
    deadline = time.monotonic() + 30
    status = {"status": "pending", "progress": 0}
    while (status["status"] == "pending" or status["progress"] == 0) and time.monotonic() < deadline:
        # Claimed but no node started yet reads processing at 0.
        status = api.get(f"/v1/generations/{created['id']}/status", headers=funded.headers).json()
    assert status["status"] == "processing"
    assert 0 < status["progress"] < 100  # the still is being drawn (25) or the video encoded (75)
    cancel = api.post(f"/v1/generations/{created['id']}/cancel", headers=funded.headers)
    assert cancel.status_code == 200, cancel.text
    assert cancel.json()["status"] in ("cancelled", "processing")
    done = finished(api, funded, created["id"])
    assert (done["status"], done["outputs"]) == ("cancelled", [])
    again = api.post(f"/v1/generations/{created['id']}/cancel", headers=funded.headers)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "RUN_NOT_CANCELLABLE")
    wallet = api.get("/v1/credits/wallet", headers=funded.headers).json()
    assert wallet["reserved"] == 0
    assert wallet["balance"] == 1000 - done["credit_cost"]  # only what executed (the still, at most) is spent
    assert done["credit_cost"] <= 5


def test_delete_removes_a_finished_generation(api: httpx.Client, funded: SeededAccount) -> None:
    done = create(api, funded, {"generation_type": "voice", "prompt": "Goodbye."})
    assert api.delete(f"/v1/generations/{done['id']}", headers=funded.headers).json() == {"ok": True}
    assert api.get(f"/v1/generations/{done['id']}", headers=funded.headers).status_code == 404
    assert api.get(f"/v1/runs/{done['id']}", headers=funded.headers).status_code == 404


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        (
            {"generation_type": "image", "prompt": "x", "model_name": "nope/model"},
            422,
            "VALIDATION_ERROR",
            "model_name",
        ),
        (
            {"generation_type": "voice", "prompt": "x", "model_name": "local/procedural"},
            422,
            "VALIDATION_ERROR",
            "model_name",
        ),
        ({"generation_type": "image", "prompt": ""}, 422, "VALIDATION_ERROR", "prompt"),
        ({"generation_type": "music", "settings": {"loudness": 3}}, 422, "VALIDATION_ERROR", "settings.loudness"),
        (
            {"generation_type": "video", "prompt": "x", "settings": {"duration": 600}},
            422,
            "INVALID_INPUT",
            "settings.duration",
        ),
        ({"generation_type": "image", "mode": "enhance", "file_id": "file_nope"}, 404, "NOT_FOUND", "file_id"),
        (
            {"generation_type": "image", "mode": "enhance", "image_base64": "bm90IGFuIGltYWdl"},
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            "image_base64",
        ),
        ({"generation_type": "sculpture", "prompt": "x"}, 422, "VALIDATION_ERROR", "generation_type"),
    ],
)
def test_bad_requests_name_the_field_and_leave_nothing(
    api: httpx.Client, funded: SeededAccount, body: dict[str, Any], status: int, code: str, field: str
) -> None:
    response = api.post("/v1/generations", json=body, headers=funded.headers)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == (code, field)
    assert api.get("/v1/generations", headers=funded.headers).json()["data"] == []
    assert api.get("/v1/credits/wallet", headers=funded.headers).json()["reserved"] == 0


def test_without_credits_a_generation_is_402(api: httpx.Client, account: SeededAccount) -> None:
    response = api.post("/v1/generations", json={"generation_type": "image", "prompt": "x"}, headers=account.headers)
    assert response.status_code == 402
    error = response.json()["error"]
    assert (error["code"], error["balance"], error["required"]) == ("INSUFFICIENT_CREDITS", 0, 5)


def test_a_test_key_generates_for_free(api: httpx.Client, settings: Settings) -> None:
    tester = seed_account(settings.resolved_database_url, mode="test")
    done = create(api, tester, {"generation_type": "image", "prompt": "a test", "settings": {"size": "256x256"}})
    assert (done["status"], done["credit_cost"]) == ("completed", 0)
    assert decode_image(download(api, done["outputs"][0])).size == (256, 256)


def test_another_workspaces_generation_answers_like_none_at_all(
    api: httpx.Client, funded: SeededAccount, settings: Settings
) -> None:
    done = create(api, funded, {"generation_type": "voice", "prompt": "mine"})
    workflow_run = api.post(
        "/v1/runs",
        json={"graph": {"nodes": [{"id": "a", "type": "math.add", "inputs": {"a": 1, "b": 2}}], "edges": []}},
        headers=funded.headers,
    ).json()["run_id"]
    other = seed_account(settings.resolved_database_url)
    for method, suffix in (("GET", ""), ("GET", "/status"), ("POST", "/cancel"), ("DELETE", "")):
        foreign = api.request(method, f"/v1/generations/{done['id']}{suffix}", headers=other.headers)
        unknown = api.request(method, f"/v1/generations/run_unknown{suffix}", headers=other.headers)
        not_a_generation = api.request(method, f"/v1/generations/{workflow_run}{suffix}", headers=funded.headers)
        assert (foreign.status_code, unknown.status_code, not_a_generation.status_code) == (404, 404, 404)
        assert foreign.text.replace(done["id"], "<id>") == unknown.text.replace("run_unknown", "<id>")
        assert not_a_generation.text.replace(workflow_run, "<id>") == unknown.text.replace("run_unknown", "<id>")


def test_models_lists_the_catalogue_with_defaults(api: httpx.Client, account: SeededAccount) -> None:
    body = api.get("/v1/generations/models", headers=account.headers).json()
    assert body["defaults"] == {
        "image": "local/procedural",
        "video": "local/ken-burns",
        "voice": "local/espeak",
        "music": "local/algorithmic-music",
        "infographic": "local/charts",
        "text": "local/smollm2",
    }
    assert {m["id"] for m in body["data"]} >= set(body["defaults"].values())
    assert "variations" in body["image_modes"]


def test_an_idempotency_key_replays_the_first_generation(api: httpx.Client, funded: SeededAccount) -> None:
    headers = {**funded.headers, "Idempotency-Key": "gen-once"}
    body = {"generation_type": "voice", "prompt": "Only once."}
    first = api.post("/v1/generations", json=body, headers=headers)
    second = api.post("/v1/generations", json=body, headers=headers)
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json()["id"] == first.json()["id"]
    assert [g["id"] for g in api.get("/v1/generations", headers=funded.headers).json()["data"]] == [first.json()["id"]]
