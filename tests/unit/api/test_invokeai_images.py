"""Pixelmill files as InvokeAI ImageDTOs: the pure translation, without HTTP or a database."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from PIL import Image

from pixelmill.api.dialects.invokeai.images import Provenance, holds_file, image_dto, image_urls, webp_thumbnail
from pixelmill.db.models import File, InvokeAIImage

AT = datetime(2026, 8, 19, 9, 5, 1, 250000, tzinfo=UTC)
FILE_ID = "file_01J9ZZZZZZZZZZZZZZZZZZZZZZ"


def file(run_id: str | None = None, mime: str = "image/png") -> File:
    return File(
        id=FILE_ID,
        workspace_id="ws_1",
        sha256="ab" * 32,
        mime=mime,
        size=10,
        width=64,
        height=48,
        run_id=run_id,
        created_at=AT,
    )


def test_urls_are_relative_without_a_leading_slash() -> None:
    assert image_urls("x.png").model_dump() == {
        "image_name": "x.png",
        "image_url": "api/v1/images/i/x.png/full",
        "thumbnail_url": "api/v1/images/i/x.png/thumbnail",
    }


def test_an_upload_is_external_with_what_its_upload_said() -> None:
    upload = InvokeAIImage(file_id=FILE_ID, image_category="control", is_intermediate=True, session_id="s-9")
    dto = image_dto(file(), Provenance(), upload)
    assert dto.image_name == f"{FILE_ID}.png"
    assert (dto.image_origin, dto.image_category, dto.is_intermediate, dto.session_id) == (
        "external",
        "control",
        True,
        "s-9",
    )
    assert (dto.width, dto.height, dto.created_at, dto.updated_at) == (
        64,
        48,
        "2026-08-19 09:05:01.250",
        dto.created_at,
    )
    plain = image_dto(file(mime="image/jpeg"), Provenance())  # uploaded through /v1/files
    assert (plain.image_name, plain.image_category, plain.is_intermediate) == (f"{FILE_ID}.jpg", "user", False)


def test_a_run_output_is_internal_with_its_session_and_node() -> None:
    dto = image_dto(file(run_id="run_1"), Provenance(session_id="s-1", node_id="n-1"))
    assert (dto.image_origin, dto.image_category, dto.session_id, dto.node_id) == ("internal", "general", "s-1", "n-1")


def test_an_output_names_a_file_anywhere_inside_it() -> None:
    ref = {"kind": "image", "file_id": FILE_ID}
    assert holds_file({"image": ref}, FILE_ID)
    assert holds_file({"images": [{"kind": "image", "file_id": "file_other"}, ref]}, FILE_ID)
    assert not holds_file({"image": {"kind": "image", "file_id": "file_other"}, "value": FILE_ID}, FILE_ID)
    assert not holds_file(None, FILE_ID)


def test_a_jpeg_preview_becomes_webp_and_a_webp_one_is_kept() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (30, 20), "orange").save(buffer, "JPEG")
    webp = webp_thumbnail(buffer.getvalue())
    with Image.open(io.BytesIO(webp)) as image:
        assert (image.format, image.size) == ("WEBP", (30, 20))
    assert webp_thumbnail(webp) == webp
