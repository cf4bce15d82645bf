"""InvokeAI's image routes against pixelmill served on loopback (SQLite and PostgreSQL): an upload
and a run's output, fetched by name as InvokeAI's clients do, decoded; another workspace sees none."""

from __future__ import annotations

import io
import json
import re
import time
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
from PIL import Image

from pixelmill.api.dialects.invokeai.items import QueueIdentity
from pixelmill.api.dialects.invokeai.names import file_id_of, image_name_of_ref
from pixelmill.config import Settings
from pixelmill.db.models import NodeExecution
from pixelmill.db.session import Database
from tests.support.accounts import SeededAccount, seed_account
from tests.support.images import photo_like
from tests.support.plans import unthrottled_plans
from tests.support.runs import grant, with_db
from tests.support.server import LiveServer

TIMESTAMP = r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"plans": unthrottled_plans(), "dispatch_poll_seconds": 0.2})


@pytest.fixture
def base(live_server: LiveServer) -> str:
    return f"{live_server.url}/api/v1/images"


def jpeg(width: int, height: int) -> tuple[bytes, np.ndarray]:
    pixels = photo_like(width, height)  # RGB
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    data = bytes(encoded)
    return data, np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def upload(base: str, account: SeededAccount, data: bytes, **query: str) -> httpx.Response:
    params = {"image_category": "user", "is_intermediate": "false", **query}
    files = {"file": ("astronaut.jpg", data, "image/jpeg")}
    return httpx.post(f"{base}/upload", params=params, files=files, headers=account.headers, timeout=30)


def test_an_upload_is_an_image_by_name_with_its_dto_full_png_and_webp_thumbnail(
    base: str, account: SeededAccount
) -> None:
    data, sent = jpeg(320, 200)
    answer = upload(base, account, data, board_id="none")
    assert answer.status_code == 201, answer.text
    dto = answer.json()
    name = dto["image_name"]
    assert file_id_of(name) is not None
    assert name.endswith(".png")  # stored as PNG, as InvokeAI stores uploads
    assert dto["image_url"] == f"api/v1/images/i/{name}/full"
    assert dto["thumbnail_url"] == f"api/v1/images/i/{name}/thumbnail"
    assert answer.headers["location"] == dto["image_url"]
    assert (dto["width"], dto["height"]) == (320, 200)
    assert (dto["image_origin"], dto["image_category"], dto["is_intermediate"]) == ("external", "user", False)
    assert (dto["starred"], dto["has_workflow"], dto["image_subfolder"]) == (False, False, "")
    assert dto["session_id"] is None
    assert dto["node_id"] is None
    assert dto["created_at"] == dto["updated_at"]
    assert re.match(TIMESTAMP, dto["created_at"])

    assert httpx.get(f"{base}/i/{name}", headers=account.headers).json() == dto

    full = httpx.get(f"{base}/i/{name}/full", headers=account.headers)
    assert full.status_code == 200
    assert full.headers["content-type"] == "image/png"
    assert full.headers["content-disposition"] == f'inline; filename="{name}"'
    with Image.open(io.BytesIO(full.content)) as image:
        assert image.format == "PNG"
        decoded = np.asarray(image.convert("RGB"))
    assert decoded.shape == sent.shape
    # The JPEG decoded by OpenCV at upload and by Pillow here: the same picture within rounding.
    assert float(np.abs(decoded.astype(int) - sent.astype(int)).mean()) < 2.0
    head = httpx.head(f"{base}/i/{name}/full", headers=account.headers)
    assert (head.status_code, head.headers["content-type"]) == (200, "image/png")

    thumb = httpx.get(f"{base}/i/{name}/thumbnail", headers=account.headers)
    assert thumb.headers["content-type"] == "image/webp"
    with Image.open(io.BytesIO(thumb.content)) as image:
        assert image.format == "WEBP"
        assert max(image.size) <= 320
        assert abs(image.size[0] / image.size[1] - 320 / 200) < 0.05

    assert httpx.get(f"{base}/i/{name}/urls", headers=account.headers).json() == {
        "image_name": name,
        "image_url": dto["image_url"],
        "thumbnail_url": dto["thumbnail_url"],
    }
    metadata = httpx.get(f"{base}/i/{name}/metadata", headers=account.headers)
    assert (metadata.status_code, metadata.json()) == (200, None)


def test_what_the_upload_says_about_the_image_reads_back(base: str, account: SeededAccount) -> None:
    """Category, intermediate flag, session and metadata are kept; ``resize_to`` resizes."""
    metadata = {"positive_prompt": "an astronaut", "seed": 7, "loras": [{"weight": 0.5}]}
    answer = httpx.post(
        f"{base}/upload",
        params={"image_category": "mask", "is_intermediate": "true", "session_id": "s-42"},
        data={"metadata": json.dumps(metadata), "resize_to": "[80, 40]"},
        files={"file": ("a.jpg", jpeg(160, 100)[0], "image/jpeg")},
        headers=account.headers,
    )
    assert answer.status_code == 201, answer.text
    dto = answer.json()
    assert (dto["image_category"], dto["is_intermediate"], dto["session_id"]) == ("mask", True, "s-42")
    assert (dto["width"], dto["height"]) == (80, 40)
    name = dto["image_name"]
    assert httpx.get(f"{base}/i/{name}", headers=account.headers).json() == dto
    assert httpx.get(f"{base}/i/{name}/metadata", headers=account.headers).json() == metadata
    with Image.open(io.BytesIO(httpx.get(f"{base}/i/{name}/full", headers=account.headers).content)) as image:
        assert image.size == (80, 40)

    for field, value in (
        ("metadata", "[1, 2]"),
        ("metadata", "{not json"),
        ("resize_to", "[0, 10]"),
        ("resize_to", "80x40"),
    ):
        refused = httpx.post(
            f"{base}/upload",
            params={"image_category": "user", "is_intermediate": "false"},
            data={field: value},
            files={"file": ("a.jpg", jpeg(16, 16)[0], "image/jpeg")},
            headers=account.headers,
        )
        assert refused.status_code == 422, (field, value, refused.text)
        assert [problem["loc"] for problem in refused.json()["detail"]] == [[field]]


def test_another_workspaces_image_answers_like_an_unknown_name(
    base: str, account: SeededAccount, settings: Settings
) -> None:
    other = seed_account(settings.resolved_database_url)
    name = upload(base, account, jpeg(64, 64)[0]).json()["image_name"]
    unknown = "file_01J9ZZZZZZZZZZZZZZZZZZZZZZ.png"
    for candidate, who in ((name, other), (unknown, account), ("abc123.png", account), (name[:-4] + ".jpg", account)):
        for suffix in ("", "/full", "/thumbnail", "/metadata", "/urls"):
            answer = httpx.get(f"{base}/i/{candidate}{suffix}", headers=who.headers)
            assert answer.status_code == 404, (candidate, suffix)
            assert answer.json() == {"detail": "Not Found"}
    assert httpx.get(f"{base}/i/{name}", headers=account.headers).status_code == 200


def test_what_is_not_an_image_is_415_and_a_missing_category_is_422(base: str, account: SeededAccount) -> None:
    refused = httpx.post(
        f"{base}/upload",
        params={"image_category": "user", "is_intermediate": "false"},
        files={"file": ("notes.txt", b"just some text, not pixels", "text/plain")},
        headers=account.headers,
    )
    assert refused.status_code == 415
    assert isinstance(refused.json()["detail"], str)
    missing = httpx.post(
        f"{base}/upload",
        params={"is_intermediate": "false"},
        files={"file": ("a.jpg", jpeg(32, 32)[0], "image/jpeg")},
        headers=account.headers,
    )
    assert missing.status_code == 422
    assert any("image_category" in problem["loc"] for problem in missing.json()["detail"])
    wrong = upload(base, account, jpeg(32, 32)[0], image_category="selfie")
    assert wrong.status_code == 422
    assert httpx.get(f"{base}/i/x.png").status_code == 401  # no credential, not single-user mode


def wait_run(api: str, account: SeededAccount, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        run: dict[str, Any] = httpx.get(f"{api}/v1/runs/{run_id}", headers=account.headers).json()
        if run["status"] in ("completed", "failed", "cancelled"):
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not finish")


def output_ref(database_url: str, run_id: str, node_id: str) -> Any:
    async def work(db: Database) -> Any:
        async with db.sessions() as session:
            execution = await session.get(NodeExecution, (run_id, node_id))
            assert execution is not None
            return (execution.outputs or {}).get("image")

    return with_db(database_url, work)


def test_a_runs_output_is_an_internal_image_of_its_queue_session_and_node(
    live_server: LiveServer, base: str, account: SeededAccount, settings: Settings
) -> None:
    grant(settings.resolved_database_url, account.workspace_id, 100)
    source = upload(base, account, jpeg(200, 100)[0]).json()
    identity = QueueIdentity(
        queue_id="default",
        batch_id="b-1",
        session_id="s-1",
        source_prepared_mapping={"resize": ["resize"]},
        prepared_source_mapping={"resize": "resize"},
        node_types={"resize": "img_resize"},
    )
    graph = {
        "nodes": [
            {
                "id": "resize",
                "type": "image.resize",
                "inputs": {"image": {"file_id": file_id_of(source["image_name"])}, "width": 50, "height": 25},
            }
        ],
        "edges": [],
    }
    created = httpx.post(
        f"{live_server.url}/v1/runs",
        json={"graph": graph, "metadata": identity.to_metadata()},
        headers=account.headers,
    )
    assert created.status_code in (200, 201, 202), created.text
    run = wait_run(live_server.url, account, created.json()["run_id"])
    assert run["status"] == "completed", run
    # The name the queue's session.results shows: the output file's, from the node's stored result.
    name = image_name_of_ref(output_ref(settings.resolved_database_url, run["run_id"], "resize"))
    assert name is not None
    dto = httpx.get(f"{base}/i/{name}", headers=account.headers).json()
    assert (dto["image_origin"], dto["image_category"]) == ("internal", "general")
    assert (dto["session_id"], dto["node_id"]) == ("s-1", "resize")
    assert (dto["width"], dto["height"]) == (50, 25)
    with Image.open(io.BytesIO(httpx.get(f"{base}/i/{name}/full", headers=account.headers).content)) as image:
        assert image.size == (50, 25)
