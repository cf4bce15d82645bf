"""The image parts of a chat request stored as files of the workspace before the run is created.

A run reads its inputs from storage, never from a client's URL, so it is reproducible and its
inputs are bounded like any upload: a ``data:`` URL is decoded under ``max_upload_bytes``; an
http(s) URL is checked by the outbound-URL policy (private addresses refused unless the operator
allows them) and fetched under ``fetch_max_bytes``; either must be an image of at most
``max_edit_pixels`` pixels. Every error names the part (``messages[i].content[j]``).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from PIL import Image, UnidentifiedImageError

from pixelmill import errors
from pixelmill.api.dialects.openai import schemas, translate
from pixelmill.errors import PixelmillError
from pixelmill.net import fetch_bytes
from pixelmill.outbound_urls import UrlPolicy, check_outbound_url
from pixelmill.runtime import Runtime
from pixelmill.services.files import FileService
from pixelmill.services.principal import Principal


async def store_images(
    runtime: Runtime, principal: Principal, messages: Sequence[schemas.ChatMessage]
) -> dict[str, str]:
    """Each image part's parameter -> the id of the file it was stored as."""
    stored: dict[str, str] = {}
    for param, image_url in translate.image_parts(messages):
        try:
            data = await _image_bytes(runtime, image_url.url, param)
            _check_pixels(data, runtime.settings.max_edit_pixels, param)
            stored[param] = await _store(runtime, principal, data, param)
        except PixelmillError as exc:
            exc.extra["field"] = param
            raise
    return stored


async def _image_bytes(runtime: Runtime, url: str, param: str) -> bytes:
    settings = runtime.settings
    scheme = url.split(":", 1)[0].lower()
    if scheme == "data":
        return translate.data_url_bytes(url, param, settings.max_upload_bytes)
    if scheme not in ("http", "https"):
        raise translate.invalid("An image part's url is a data: URL or an http(s) URL", param)
    await check_outbound_url(url, UrlPolicy.from_settings(settings), field=param)
    return (await fetch_bytes(url, settings)).content


def _check_pixels(data: bytes, limit: int, param: str) -> None:
    """IMAGE_TOO_LARGE before anything is stored; only the header is read."""
    try:
        with Image.open(io.BytesIO(data)) as picture:
            width, height = picture.size
    except Image.DecompressionBombError:  # Pillow's own bound, far above any sensible max_edit_pixels
        raise _too_large("The image has more pixels than Pillow opens", limit, param) from None
    except (UnidentifiedImageError, OSError):
        raise PixelmillError(errors.UNSUPPORTED_IMAGE_FORMAT, f"{param} is not an image", field=param) from None
    if width * height > limit:
        raise _too_large(f"The image is {width}x{height}", limit, param)


def _too_large(what: str, limit: int, param: str) -> PixelmillError:
    return PixelmillError(
        errors.IMAGE_TOO_LARGE,
        f"{what}; images of at most {limit} pixels are read (setting max_edit_pixels)",
        field=param,
        limit_setting="max_edit_pixels",
    )


async def _store(runtime: Runtime, principal: Principal, data: bytes, param: str) -> str:
    principal.require_scope("runs")
    async with runtime.db.session() as session:
        row = await FileService(session, runtime.blobs, runtime.settings).create(principal.workspace_id, data)
    if not row.mime.startswith("image/"):
        raise PixelmillError(errors.UNSUPPORTED_IMAGE_FORMAT, f"{param} is {row.mime}, not an image", field=param)
    return row.id
