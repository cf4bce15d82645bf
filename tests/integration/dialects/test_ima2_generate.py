"""ima2's generation routes over HTTP on the real app: sync and async classic generation (the PNGs
decoded), n > 1, edits with and without masks, node SSE order, multimode SSE, provider routing onto a
fake OpenAI on loopback, and ima2's codes for what is refused before anything runs."""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PIL import Image
from pydantic import SecretStr
from sqlalchemy import func, select

from pixelmill.config import Settings
from pixelmill.db.models import File
from pixelmill.db.session import Database
from tests.support.accounts import SeededAccount, seed_account
from tests.support.fake_openai import FAKE_OPENAI_KEY, FakeOpenAI, error_body, serve_fake_openai
from tests.support.fake_xai import COLOUR as XAI_COLOUR
from tests.support.fake_xai import FakeXAI, serve_fake_xai
from tests.support.plans import unthrottled_plans
from tests.support.runs import grant, with_db
from tests.support.server import LiveServer, start_server


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"plans": unthrottled_plans(), "dispatch_poll_seconds": 0.2})


@pytest.fixture
def client(live_server: LiveServer, account: SeededAccount, settings: Settings) -> Iterator[httpx.Client]:
    grant(settings.resolved_database_url, account.workspace_id, 5000)
    with httpx.Client(base_url=live_server.url, headers=account.headers, timeout=120) as http:
        yield http


def png_of(data_url: str) -> Image.Image:
    head, _, payload = data_url.partition(",")
    assert head == "data:image/png;base64"
    picture = Image.open(io.BytesIO(base64.b64decode(payload)))
    picture.load()
    assert picture.format == "PNG"
    return picture


def png_b64(size: tuple[int, int], mode: str = "RGB", colour: Any = (200, 40, 40)) -> str:
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def sse_events(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    assert response.headers["content-type"].startswith("text/event-stream")
    events = []
    for block in response.text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        assert "id" not in lines  # per-request frames carry no id, as in ima2
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def test_sync_generate_answers_the_png_inline_with_ima2_fields(client: httpx.Client) -> None:
    response = client.post(
        "/api/generate",
        json={"prompt": "a red fox in snow", "quality": "best", "size": "256x256", "requestId": "req_cli_gen_1"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["requestId"] == "req_cli_gen_1"
    assert png_of(body["image"]).size == (256, 256)
    assert body["filename"].endswith("_0.png")
    stem = body["filename"].split("_")
    assert stem[0].isdigit()
    assert len(stem[1]) == 8
    assert stem[0] == str(body["createdAt"])
    assert isinstance(body["elapsed"], float)
    assert body["warnings"] == [
        {"code": "QUALITY_DEFAULTED", "field": "quality", "normalizedTo": "medium", "reason": "invalid-quality"}
    ]
    assert (body["provider"], body["quality"], body["size"], body["moderation"]) == (
        "oauth",
        "medium",
        "256x256",
        "low",
    )
    assert "url" not in body
    served = client.get(f"/generated/{body['filename']}")
    assert served.status_code == 200
    assert served.content == base64.b64decode(body["image"].partition(",")[2])


def test_n_above_one_gives_images_in_order_each_distinct(client: httpx.Client) -> None:
    response = client.post("/api/generate", json={"prompt": "a lighthouse", "n": "10", "size": "128x128"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] == 10
    names = [item["filename"] for item in body["images"]]
    assert names == sorted(names, key=lambda name: int(name.rsplit("_", 1)[1].split(".")[0]))
    assert [name.rsplit("_", 1)[1] for name in names] == [f"{i}.png" for i in range(10)]
    pictures = [png_of(item["image"]) for item in body["images"]]
    assert all(picture.size == (128, 128) for picture in pictures)
    assert len({picture.tobytes() for picture in pictures}) == 10


def test_async_generate_is_202_and_lands_in_history(client: httpx.Client) -> None:
    response = client.post("/api/generate", json={"prompt": "a boat", "async": True, "requestId": "freq_async_1"})
    assert response.status_code == 202
    assert response.json() == {"requestId": "freq_async_1", "async": True}
    deadline = time.monotonic() + 60
    while True:
        items = client.get("/api/history", params={"requestId": "freq_async_1"}).json()["items"]
        if items:
            break
        assert time.monotonic() < deadline
        time.sleep(0.2)
    (item,) = items
    assert (item["requestId"], item["prompt"], item["kind"]) == ("freq_async_1", "a boat", "classic")
    assert png_of("data:image/png;base64," + base64.b64encode(client.get(item["url"]).content).decode())


def test_edit_with_and_without_mask(client: httpx.Client) -> None:
    image = png_b64((64, 48))
    plain = client.post("/api/edit", json={"prompt": "as a watercolor", "image": image})
    assert plain.status_code == 200, plain.text
    body = plain.json()
    assert "requestId" not in body
    assert png_of(body["image"]).size == (64, 48)
    assert body["filename"].count("_") == 1
    assert body["filename"].endswith(".png")
    mask = png_b64((64, 48), "RGBA", (0, 0, 0, 0))
    masked = client.post("/api/edit", json={"prompt": "as a watercolor", "image": image, "mask": mask})
    assert masked.status_code == 200, masked.text
    # The built-in CPU model restyles but cannot inpaint: the answer says the mask was not used.
    assert [w["code"] for w in masked.json()["warnings"]] == ["MASK_IGNORED"]


@pytest.mark.parametrize(
    ("mask", "code"),
    [
        (123, "INVALID_EDIT_MASK"),
        ("!!!not base64!!!", "INVALID_EDIT_MASK_BASE64"),
        (base64.b64encode(b"GIF89a not a png").decode(), "INVALID_EDIT_MASK_PNG"),
        (png_b64((64, 48)), "EDIT_MASK_NO_ALPHA"),
        (png_b64((32, 32), "RGBA", (0, 0, 0, 0)), "EDIT_MASK_DIMENSION_MISMATCH"),
    ],
)
def test_mask_errors(client: httpx.Client, mask: Any, code: str) -> None:
    response = client.post("/api/edit", json={"prompt": "x", "image": png_b64((64, 48)), "mask": mask})
    assert response.status_code == 400, response.text
    assert response.json()["code"] == code
    assert isinstance(response.json()["error"], str)


def test_edit_without_image_is_ima2s_uncoded_error(client: httpx.Client) -> None:
    response = client.post("/api/edit", json={"prompt": "x"})
    assert (response.status_code, response.json()) == (400, {"error": "Prompt and image are required"})


def test_node_sse_order_then_child_and_show(client: httpx.Client) -> None:
    response = client.post(
        "/api/node/generate",
        json={"prompt": "a castle", "size": "96x96", "clientNodeId": "c1", "sessionId": "s_1"},
        headers={"Accept": "text/event-stream"},
    )
    assert response.status_code == 200
    events = sse_events(response)
    assert [name for name, _ in events] == ["phase", "done"]
    assert events[0][1]["phase"] == "streaming"
    done = events[1][1]
    assert done["requestId"] == events[0][1]["requestId"]
    assert done["nodeId"].startswith("n_")
    assert len(done["nodeId"]) == 12
    assert done["filename"] == f"{done['nodeId']}.png"
    assert done["url"] == f"/generated/{done['filename']}"
    assert png_of(done["image"]).size == (96, 96)
    child = client.post("/api/node/generate", json={"prompt": "as an oil painting", "parentNodeId": done["nodeId"]})
    assert child.status_code == 200, child.text
    assert child.json()["parentNodeId"] == done["nodeId"]
    assert png_of(child.json()["image"]).size == (96, 96)
    shown = client.get(f"/api/node/{done['nodeId']}").json()
    assert shown["url"] == done["url"]
    assert (shown["meta"]["sessionId"], shown["meta"]["clientNodeId"], shown["meta"]["kind"]) == (
        "s_1",
        "c1",
        "generate",
    )
    missing = client.get("/api/node/n_0000000000")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "NODE_NOT_FOUND")
    orphan = client.post("/api/node/generate", json={"prompt": "x", "parentNodeId": "n_ffffffffff"})
    assert (orphan.status_code, orphan.json()["error"]["code"]) == (404, "NODE_NOT_FOUND")
    assert client.post("/api/node/generate", json={"prompt": "x", "async": True}).status_code == 202


def test_multimode_streams_phase_images_done(client: httpx.Client) -> None:
    response = client.post("/api/generate/multimode", json={"prompt": "four panels", "maxImages": 3, "size": "64x64"})
    events = sse_events(response)
    assert [name for name, _ in events] == ["phase", "image", "image", "image", "done"]
    phase = events[0][1]
    assert phase["sequenceId"].startswith("seq_")
    assert phase["maxImages"] == 3
    images = [data for name, data in events if name == "image"]
    assert [i["sequenceIndex"] for i in images] == [1, 2, 3]
    assert all(i["sequenceStatus"] == "complete" and i["sequenceTotalReturned"] == 3 for i in images)
    assert all("_multimode_" in i["filename"] for i in images)
    assert all(png_of(i["image"]).size == (64, 64) for i in images)
    done = events[-1][1]
    assert (done["ok"], done["requested"], done["returned"], done["status"]) == (True, 3, 3, "complete")
    assert isinstance(done["elapsed"], str)
    assert [i["filename"] for i in done["images"]] == [i["filename"] for i in images]


@pytest.mark.parametrize(
    ("path", "body", "status", "code", "nested"),
    [
        ("/api/generate", {"prompt": ""}, 400, "INVALID_PROMPT", True),
        ("/api/generate", {"prompt": "x" * 32_001}, 400, "PROMPT_TOO_LONG", True),
        ("/api/generate", {"prompt": "x", "n": 25}, 400, "INVALID_COUNT", True),
        ("/api/generate", {"prompt": "x", "n": "two"}, 400, "INVALID_COUNT", True),
        ("/api/generate/multimode", {"prompt": "x", "maxImages": 0}, 400, "INVALID_COUNT", True),
        ("/api/generate", {"prompt": "x", "references": "a"}, 400, "REF_NOT_ARRAY", False),
        ("/api/generate", {"prompt": "x", "references": ["QQ=="] * 6}, 400, "REF_TOO_MANY", False),
        ("/api/generate", {"prompt": "x", "references": [1]}, 400, "REF_NOT_STRING", False),
        ("/api/generate", {"prompt": "x", "references": [""]}, 400, "REF_EMPTY", False),
        ("/api/generate", {"prompt": "x", "references": ["A" * 7_340_033]}, 413, "REF_TOO_LARGE", False),
        ("/api/generate", {"prompt": "x", "references": ["no*base64"]}, 400, "REF_NOT_BASE64", False),
        ("/api/generate", {"prompt": "x", "model": "gpt-9"}, 400, "INVALID_IMAGE_MODEL", False),
        ("/api/generate", {"prompt": "x", "model": "gpt-5.3-codex-spark"}, 400, "IMAGE_MODEL_UNSUPPORTED", False),
        ("/api/generate", {"prompt": "x", "reasoningEffort": "huge"}, 400, "INVALID_REASONING_EFFORT", False),
        ("/api/generate", {"prompt": "x", "provider": "api"}, 401, "API_KEY_REQUIRED", False),
        ("/api/generate", {"prompt": "x", "provider": "grok-api"}, 401, "API_KEY_REQUIRED", False),
        ("/api/generate", {"prompt": "x", "provider": "grok"}, 503, "OAUTH_UNAVAILABLE", False),
        ("/api/generate", {"prompt": "x", "provider": "agy"}, 503, "OAUTH_UNAVAILABLE", False),
        ("/api/generate", {"prompt": "x", "provider": "gemini-api"}, 401, "GEMINI_API_KEY_MISSING", False),
        (
            "/api/generate",
            {"prompt": "x", "provider": "grok", "model": "dalle"},
            400,
            "INVALID_GROK_IMAGE_MODEL",
            False,
        ),
        ("/api/node/generate", {"prompt": ""}, 400, "INVALID_PROMPT", True),
        ("/api/video/generate", {"prompt": "x", "provider": "oauth"}, 400, "VIDEO_PROVIDER_UNSUPPORTED", False),
        ("/api/video/generate", {"prompt": "x", "provider": "agy"}, 400, "AGY_VIDEO_UNSUPPORTED", False),
        ("/api/video/generate", {"prompt": " ", "provider": "grok"}, 400, "PROMPT_REQUIRED", False),
        (
            "/api/video/generate",
            {"prompt": "x", "provider": "grok", "model": "v"},
            400,
            "INVALID_GROK_VIDEO_MODEL",
            False,
        ),
        (
            "/api/video/generate",
            {"prompt": "x", "provider": "grok", "duration": 16},
            400,
            "INVALID_VIDEO_DURATION",
            False,
        ),
        (
            "/api/video/generate",
            {"prompt": "x", "provider": "grok", "resolution": "4k"},
            400,
            "INVALID_VIDEO_RESOLUTION",
            False,
        ),
        (
            "/api/video/generate",
            {"prompt": "x", "provider": "grok", "aspectRatio": "5:1"},
            400,
            "INVALID_VIDEO_ASPECT_RATIO",
            False,
        ),
        (
            "/api/video/generate",
            {"prompt": "x", "provider": "grok", "referenceImages": ["QQ=="] * 8},
            400,
            "GROK_VIDEO_REF_TOO_MANY",
            False,
        ),
        ("/api/video/generate", {"prompt": "x", "provider": "grok"}, 503, "OAUTH_UNAVAILABLE", False),
    ],
)
def test_refused_before_anything_runs(
    client: httpx.Client, path: str, body: dict[str, Any], status: int, code: str, nested: bool
) -> None:
    before = client.get("/v1/runs").json()["data"]
    response = client.post(path, json=body)
    assert response.status_code == status, response.text
    answer = response.json()
    if nested:
        assert answer["error"]["code"] == code
        assert isinstance(answer["error"]["message"], str)
    else:
        assert answer["code"] == code
        assert isinstance(answer["error"], str)
    assert client.get("/v1/runs").json()["data"] == before


def test_moderation_error_has_no_code(client: httpx.Client) -> None:
    response = client.post("/api/generate", json={"prompt": "x", "moderation": "high"})
    assert (response.status_code, response.json()) == (400, {"error": "moderation must be one of: auto, low"})


@pytest.fixture
def fake_openai() -> Iterator[tuple[FakeOpenAI, str]]:
    with serve_fake_openai(FAKE_OPENAI_KEY) as served:
        yield served


def test_provider_api_runs_on_openai(
    settings: Settings, account: SeededAccount, fake_openai: tuple[FakeOpenAI, str]
) -> None:
    fake, url = fake_openai
    served = settings.model_copy(
        update={
            "openai_api_key": SecretStr(FAKE_OPENAI_KEY),
            "openai_base_url": url,
            "upstream_retry_budget_seconds": 5,
            "openai_partial_images": 2,
        }
    )
    grant(settings.resolved_database_url, account.workspace_id, 5000)
    server = start_server(served)
    try:
        with httpx.Client(base_url=server.url, headers=account.headers, timeout=120) as http:
            response = http.post(
                "/api/generate", json={"prompt": "a neon city", "provider": "api", "model": "gpt-5.4", "n": 2}
            )
            assert response.status_code == 200, response.text
            body = response.json()
            assert (body["provider"], body["model"], body["count"]) == ("api", "gpt-5.4", 2)
            # What OpenAI reported, as the run recorded it (tokens only; gpt-image-1 revises no prompt).
            usage = body["usage"]
            assert set(usage) == {"input_tokens", "output_tokens", "total_tokens"}
            assert usage["input_tokens"] > 0
            assert usage["input_tokens"] + usage["output_tokens"] == usage["total_tokens"]
            assert body["revisedPrompt"] is None
            assert all(png_of(item["image"]).getpixel((0, 0))[:3] == (30, 144, 255) for item in body["images"])
            (received,) = fake.requests("/v1/images/generations")
            assert received.json is not None
            assert (received.json["model"], received.json["prompt"], received.json["n"]) == (
                "gpt-image-1",
                "a neon city",
                2,
            )
            image = png_b64((64, 64))
            mask = png_b64((64, 64), "RGBA", (0, 0, 0, 0))
            edited = http.post(
                "/api/edit", json={"prompt": "add a moon", "image": image, "mask": mask, "provider": "api"}
            )
            assert edited.status_code == 200, edited.text
            assert edited.json()["warnings"] == []
            (edit,) = fake.requests("/v1/images/edits")
            assert [name for name, _ in edit.files] == ["image[]", "mask"] or "mask" in [n for n, _ in edit.files]
            assert FAKE_OPENAI_KEY not in response.text
            streamed = http.post(
                "/api/node/generate",
                json={"prompt": "a comet", "provider": "api", "references": [image]},
                headers={"Accept": "text/event-stream"},
            )
            events = sse_events(streamed)
            names = [name for name, _ in events]
            assert (names[0], names[-1], set(names[1:-1])) == ("phase", "done", {"partial"}), names
            partials = [data for name, data in events if name == "partial"]
            assert [p["index"] for p in partials] == list(range(len(partials)))
            assert partials
            assert all(p["image"].startswith("data:image/") for p in partials)
            assert events[-1][1]["refsCount"] == 1
            assert png_of(events[-1][1]["image"]).size[0] > 0
    finally:
        server.stop()


def test_anonymous_loopback_generates_for_the_operator(settings: Settings) -> None:
    operator = seed_account(settings.resolved_database_url, plan="operator", operator=True)
    grant(settings.resolved_database_url, operator.workspace_id, 5000)
    server = start_server(settings.model_copy(update={"anonymous_loopback": True}))
    try:
        with httpx.Client(base_url=server.url, timeout=120) as anonymous:
            body = anonymous.post("/api/generate", json={"prompt": "a kite", "size": "64x64"}).json()
            assert png_of(body["image"]).size == (64, 64)
            assert anonymous.get(f"/generated/{body['filename']}").status_code == 200
    finally:
        server.stop()


XAI_KEY = "xai-ima2-test-key-0123456789abcdef"


@pytest.fixture
def xai_client(settings: Settings, account: SeededAccount) -> Iterator[tuple[httpx.Client, FakeXAI]]:
    with serve_fake_xai(XAI_KEY) as (fake, url):
        fake.video_pending_polls = 1
        served = settings.model_copy(
            update={
                "xai_api_key": SecretStr(XAI_KEY),
                "xai_base_url": url,
                "xai_video_poll_seconds": 0.05,
                "upstream_retry_budget_seconds": 5,
            }
        )
        grant(settings.resolved_database_url, account.workspace_id, 5000)
        server = start_server(served)
        try:
            with httpx.Client(base_url=server.url, headers=account.headers, timeout=120) as http:
                yield http, fake
        finally:
            server.stop()


def test_grok_runs_on_xai_and_refuses_masks_and_extra_inputs(xai_client: tuple[httpx.Client, FakeXAI]) -> None:
    http, fake = xai_client
    response = http.post("/api/generate", json={"prompt": "a desert", "provider": "grok", "quality": "high"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["provider"], body["model"]) == ("grok", "grok-imagine-image-quality")
    assert body["filename"].endswith("_0.png")
    assert png_of(body["image"]).getpixel((0, 0))[:3] == XAI_COLOUR
    (received,) = fake.requests("/v1/images/generations")
    assert received.json is not None
    assert received.json["model"] == "grok-imagine-image-quality"
    image = png_b64((64, 64))
    mask = png_b64((64, 64), "RGBA", (0, 0, 0, 0))
    masked = http.post("/api/edit", json={"prompt": "x", "image": image, "mask": mask, "provider": "grok"})
    assert (masked.status_code, masked.json()["code"]) == (400, "GROK_MASK_UNSUPPORTED")
    refs = http.post("/api/generate", json={"prompt": "x", "provider": "grok-api", "references": [image] * 4})
    assert (refs.status_code, refs.json()["code"]) == (400, "GROK_REF_TOO_MANY")
    assert len(fake.requests("/v1/images/edits")) == 0


def test_video_generate_streams_then_frame_and_extend(xai_client: tuple[httpx.Client, FakeXAI]) -> None:
    http, fake = xai_client
    response = http.post(
        "/api/video/generate",
        json={
            "prompt": "a cat at a piano",
            "provider": "grok",
            "duration": 2,
            "resolution": "480p",
            "aspectRatio": "16:9",
        },
    )
    events = sse_events(response)
    assert [name for name, _ in events] == ["planning", "submitted", "done"], events
    done = events[-1][1]
    assert done["mediaType"] == "video"
    assert done["filename"].endswith(".mp4")
    assert done["url"] == f"/generated/{done['filename']}"
    assert (done["video"]["resolution"], done["video"]["aspectRatio"]) == ("480p", "16:9")
    served = http.get(done["url"])
    assert served.status_code == 200
    assert served.content[4:8] == b"ftyp"
    (started,) = fake.requests("/v1/videos/generations")
    assert started.json is not None
    assert (started.json["prompt"], started.json["duration"]) == ("a cat at a piano", 2)
    still = http.get("/api/video/frame", params={"file": done["filename"]})
    assert still.status_code == 200
    assert still.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(still.content)).format == "PNG"
    missing = http.get("/api/video/frame", params={"file": "nope.mp4"})
    assert (missing.status_code, missing.json()["code"]) == (404, "VIDEO_NOT_FOUND")
    extended = http.post(
        "/api/video/extend", json={"prompt": "camera pulls back", "videoUrl": done["filename"], "duration": 2}
    )
    assert extended.status_code == 200, extended.text
    joined = extended.json()
    assert joined["filename"] != done["filename"]
    assert joined["mediaType"] == "video"
    assert http.get(joined["url"]).content[4:8] == b"ftyp"
    second = fake.requests("/v1/videos/generations")[-1]
    assert second.json is not None
    assert "image" in second.json
    names = [item["filename"] for item in http.get("/api/history").json()["items"]]
    assert names == [joined["filename"], done["filename"]]  # the extension clip alone is in the trash
    bad = http.post("/api/video/extend", json={"prompt": "x", "videoUrl": done["filename"], "duration": 11})
    assert (bad.status_code, bad.json()["code"]) == (400, "INVALID_VIDEO_DURATION")
    queued = http.post(
        "/api/video/generate", json={"prompt": "rain", "provider": "grok-api", "async": True, "duration": 1}
    )
    assert queued.status_code == 202
    assert set(queued.json()) == {"requestId"}


def test_a_body_that_is_not_an_object_is_invalid_request(client: httpx.Client) -> None:
    response = client.post("/api/generate", json=["a fox"])
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_REQUEST"
    node = client.post("/api/node/generate", json="a fox")
    assert (node.status_code, node.json()["error"]["code"]) == (400, "INVALID_REQUEST")


def test_async_edit_and_multimode_answer_202(client: httpx.Client) -> None:
    edit = client.post("/api/edit", json={"prompt": "x", "image": png_b64((16, 16)), "async": True, "requestId": "e1"})
    assert (edit.status_code, edit.json()) == (202, {"requestId": "e1", "async": True})
    multi = client.post("/api/generate/multimode", json={"prompt": "x", "async": True, "requestId": "m1"})
    assert (multi.status_code, multi.json()) == (202, {"requestId": "m1"})


def test_an_upstream_refusal_answers_ima2s_flat_error(
    settings: Settings, account: SeededAccount, fake_openai: tuple[FakeOpenAI, str]
) -> None:
    fake, url = fake_openai
    refusal = error_body("Invalid value for size", "invalid_request_error", "invalid_value", "size")
    served = settings.model_copy(
        update={
            "openai_api_key": SecretStr(FAKE_OPENAI_KEY),
            "openai_base_url": url,
            "upstream_retry_budget_seconds": 1,
        }
    )
    grant(settings.resolved_database_url, account.workspace_id, 5000)
    server = start_server(served)
    try:
        with httpx.Client(base_url=server.url, headers=account.headers, timeout=120) as http:
            fake.fail_next(400, refusal)
            response = http.post("/api/generate", json={"prompt": "x", "provider": "api", "requestId": "freq_fail"})
            assert response.status_code == 400, response.text
            body = response.json()
            assert (body["code"], body["requestId"]) == ("INVALID_REQUEST", "freq_fail")
            assert isinstance(body["error"], str)
            assert FAKE_OPENAI_KEY not in response.text
            fake.fail_next(400, refusal)
            streamed = http.post(
                "/api/generate/multimode",
                json={"prompt": "y", "provider": "api", "maxImages": 2, "requestId": "m_fail"},
            )
            events = sse_events(streamed)
            assert [name for name, _ in events] == ["phase", "error"]
            assert (events[-1][1]["code"], events[-1][1]["status"], events[-1][1]["requestId"]) == (
                "INVALID_REQUEST",
                400,
                "m_fail",
            )
    finally:
        server.stop()


def file_count(database_url: str, workspace_id: str) -> int:
    async def work(db: Database) -> int:
        async with db.sessions() as session:
            found = await session.scalar(
                select(func.count()).select_from(File).where(File.workspace_id == workspace_id)
            )
        return int(found or 0)

    return with_db(database_url, work)


def test_without_credits_nothing_is_left_behind(live_server: LiveServer, settings: Settings) -> None:
    poor = seed_account(settings.resolved_database_url)
    with httpx.Client(base_url=live_server.url, headers=poor.headers, timeout=60) as http:
        response = http.post("/api/edit", json={"prompt": "x", "image": png_b64((16, 16))})
        assert response.status_code == 402, response.text
        assert response.json()["code"] == "INSUFFICIENT_CREDITS"
        assert file_count(settings.resolved_database_url, poor.workspace_id) == 0
        assert http.get("/v1/runs").json()["data"] == []
