"""The files API over real HTTP: uploads validated from their bytes, workspace scoping, signed links."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from pixelmill.config import Settings
from pixelmill.storage.codecs import encode_image
from pixelmill.storage.signing import sign_path
from tests.support.accounts import SeededAccount, seed_account
from tests.support.images import photo_like
from tests.support.runs import grant

UPLOAD_LIMIT = 300_000


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"max_upload_bytes": UPLOAD_LIMIT, "max_image_pixels": 1_000_000})


@pytest.fixture
def png() -> bytes:
    return encode_image(photo_like(320, 240), "png")


def upload(api: httpx.Client, account: SeededAccount, data: bytes, content_type: str = "image/png") -> httpx.Response:
    return api.post("/v1/files", headers=account.headers, files={"file": ("picture.bin", data, content_type)})


def error_code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


def test_upload_sniffs_the_type_and_records_metadata(api: httpx.Client, account: SeededAccount, png: bytes) -> None:
    response = upload(api, account, png, content_type="text/plain")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["id"].startswith("file_")
    assert (body["mime"], body["size"], body["width"], body["height"]) == ("image/png", len(png), 320, 240)
    assert body["filename"] == "picture.bin"
    assert body["workspace_id"] == account.workspace_id
    fetched = api.get(f"/v1/files/{body['id']}", headers=account.headers)
    assert fetched.status_code == 200
    assert fetched.json()["sha256"] == body["sha256"]
    content = api.get(f"/v1/files/{body['id']}/content", headers=account.headers)
    assert content.status_code == 200
    assert content.headers["content-type"] == "image/png"
    assert content.content == png
    thumbnail = api.get(f"/v1/files/{body['id']}/thumbnail", headers=account.headers)
    assert thumbnail.headers["content-type"] == "image/jpeg"
    preview = Image.open(io.BytesIO(thumbnail.content))
    assert preview.size == (256, 192)


def test_raw_body_upload_takes_a_filename(api: httpx.Client, account: SeededAccount, png: bytes) -> None:
    response = api.post(
        "/v1/files",
        params={"filename": "astronaut.png"},
        content=png,
        headers={**account.headers, "Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["filename"] == "astronaut.png"


def test_uploads_over_the_limit_are_413(api: httpx.Client, account: SeededAccount) -> None:
    too_big = b"\x89PNG\r\n\x1a\n" + b"\x00" * UPLOAD_LIMIT
    raw = api.post("/v1/files", content=too_big, headers=account.headers)
    form = upload(api, account, too_big)

    def chunks() -> Iterator[bytes]:
        for _ in range(UPLOAD_LIMIT // 65536 + 2):
            yield b"\x00" * 65536

    streamed = api.post("/v1/files", content=chunks(), headers=account.headers)
    for response in (raw, form, streamed):
        assert response.status_code == 413
        assert error_code(response) == "PAYLOAD_TOO_LARGE"


def test_a_decompression_bomb_is_refused_before_decoding(api: httpx.Client, account: SeededAccount) -> None:
    bomb = encode_image(np.zeros((2000, 2000, 3), np.uint8), "png")  # 4 Mpx in a few kilobytes
    assert len(bomb) < UPLOAD_LIMIT
    response = upload(api, account, bomb)
    assert response.status_code == 422
    assert error_code(response) == "IMAGE_TOO_LARGE"
    assert response.json()["error"]["max_pixels"] == 1_000_000


def test_corrupt_and_unknown_content_is_refused(api: httpx.Client, account: SeededAccount, png: bytes) -> None:
    truncated = upload(api, account, png[: len(png) // 2])
    assert truncated.status_code == 422
    assert error_code(truncated) == "INVALID_IMAGE"
    unknown = upload(api, account, b"%PDF-1.7 not a picture")
    assert unknown.status_code == 415
    assert error_code(unknown) == "UNSUPPORTED_MEDIA_TYPE"


def test_heic_is_refused_with_a_hint_to_convert(api: httpx.Client, account: SeededAccount) -> None:
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 200
    response = upload(api, account, heic, content_type="image/heic")
    assert response.status_code == 415
    body = response.json()["error"]
    assert body["code"] == "UNSUPPORTED_IMAGE_FORMAT"
    assert "PNG or JPEG" in body["message"]


def test_files_of_another_workspace_are_not_found(
    api: httpx.Client, account: SeededAccount, settings: Settings, png: bytes
) -> None:
    file_id = upload(api, account, png).json()["id"]
    stranger = seed_account(settings.resolved_database_url)
    for path in (f"/v1/files/{file_id}", f"/v1/files/{file_id}/content", f"/v1/files/{file_id}/thumbnail"):
        response = api.get(path, headers=stranger.headers)
        assert response.status_code == 404
        assert error_code(response) == "NOT_FOUND"


def test_signed_links_work_without_a_credential_until_they_expire(
    api: httpx.Client, account: SeededAccount, settings: Settings, png: bytes
) -> None:
    body = upload(api, account, png).json()
    file_id = body["id"]
    assert api.get(body["url"]).content == png
    assert api.get(body["thumbnail_url"]).headers["content-type"] == "image/jpeg"
    assert api.get(f"/v1/files/{file_id}/content").status_code == 401
    expired = sign_path(settings.secret, f"/v1/files/{file_id}/content", -10)
    thumbnail_link = sign_path(settings.secret, f"/v1/files/{file_id}/thumbnail", 60)
    valid = sign_path(settings.secret, f"/v1/files/{file_id}/content", 60)
    forged = [
        f"/v1/files/{file_id}/content?expires={valid.expires}&sig={'0' * 64}",
        f"/v1/files/{file_id}/content?expires={valid.expires + 1}&sig={valid.sig}",
        f"/v1/files/{file_id}/content?expires={thumbnail_link.expires}&sig={thumbnail_link.sig}",
        f"/v1/files/{file_id}/content?sig={valid.sig}",
    ]
    # A link the server did not sign says no more than a file that does not exist.
    missing = api.get("/v1/files/file_01MISSING/content", headers=account.headers)
    assert missing.status_code == 404
    for link in forged:
        response = api.get(link)
        assert response.status_code == 404, link
        assert response.text.replace(file_id, "<id>") == missing.text.replace("file_01MISSING", "<id>"), link
    # A genuine link past its expiry says so: only the server could have made it.
    response = api.get(expired.relative)
    assert response.status_code == 403
    assert error_code(response) == "FORBIDDEN"
    assert "expired" in response.json()["error"]["message"]
    assert api.get(valid.relative).content == png


def test_the_model_catalogue_lists_the_local_providers(api: httpx.Client, account: SeededAccount) -> None:
    listing = api.get("/v1/models", headers=account.headers)
    assert listing.status_code == 200
    models = {model["id"]: model for model in listing.json()["data"]}
    procedural = models["local/procedural"]
    assert procedural["capabilities"] == ["text-to-image"]
    assert procedural["sandbox"] is True
    assert procedural["cost"] == 5
    assert procedural["limits"]["max_width"] == 4096
    assert "image-to-image" in models["local/cv"]["capabilities"]
    single = api.get("/v1/models/local/procedural", headers=account.headers)
    assert single.json()["id"] == "local/procedural"
    assert api.get("/v1/models/nope/none", headers=account.headers).status_code == 404
    assert api.get("/v1/models").status_code == 401


def test_the_file_list_offers_uploads_and_outputs_newest_first(
    api: httpx.Client, account: SeededAccount, settings: Settings, png: bytes
) -> None:
    grant(settings.resolved_database_url, account.workspace_id, 100)
    uploads = [upload(api, account, png).json()["id"] for _ in range(3)]
    made = api.post(
        "/v1/generations",
        json={"generation_type": "image", "prompt": "a quiet harbour", "settings": {"resolution": 512}},
        headers={**account.headers, "Prefer": "wait=30"},
    )
    assert made.json()["status"] == "completed", made.text

    def listed(**params: str | int) -> list[dict[str, Any]]:
        response = api.get("/v1/files", params=params, headers=account.headers)
        assert response.status_code == 200, response.text
        data: list[dict[str, Any]] = response.json()["data"]
        return data

    everything = listed(limit=100)
    outputs = [f for f in everything if f["run_id"] is not None]
    assert outputs
    assert outputs[0]["mime"].startswith("image/")
    assert [f["id"] for f in everything] == sorted((f["id"] for f in everything), reverse=True)
    assert [f["id"] for f in listed(source="upload")] == uploads[::-1]
    assert [f["id"] for f in listed(source="output")] == [f["id"] for f in outputs]
    assert listed(media="audio") == []
    assert httpx.get(outputs[0]["thumbnail_url"]).status_code == 200  # signed: a browser's <img> loads it

    first = api.get("/v1/files", params={"source": "upload", "limit": 2}, headers=account.headers).json()
    assert [f["id"] for f in first["data"]] == uploads[:0:-1]
    rest = api.get(
        "/v1/files", params={"source": "upload", "cursor": first["next_cursor"]}, headers=account.headers
    ).json()
    assert ([f["id"] for f in rest["data"]], rest["next_cursor"]) == ([uploads[0]], None)

    stranger = seed_account(settings.resolved_database_url)
    assert api.get("/v1/files", headers=stranger.headers).json()["data"] == []

    # A deleted run's outputs leave the list with it.
    run_id = outputs[0]["run_id"]
    assert api.delete(f"/v1/runs/{run_id}", headers=account.headers).status_code in (200, 204)
    assert all(f["run_id"] != run_id for f in listed(limit=100))
    assert api.get("/v1/files", params={"source": "movie"}, headers=account.headers).status_code == 422
