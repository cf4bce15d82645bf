"""Images in and out of tool calls: image arguments become uploaded files, image outputs come back inline.

An assistant names an image as a file id (``file_…``), a URL that an earlier tool result gave it, or
base64 data (optionally a ``data:`` URL). URLs are only ever fetched from the pixelmill server the
client talks to, by path: the mounted endpoint runs inside the API server, and fetching any URL a
caller names from there would let callers probe the server's network.

Images up to ``INLINE_IMAGE_MAX_BYTES`` come back as MCP image content (base64), at most
``INLINE_IMAGE_MAX_COUNT`` per result; bigger or more images are given by URL only. The bound keeps
a result well inside what assistants accept in one message while covering typical web-sized images.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import urlsplit

from mcp import types

from pixelmill.client import AsyncClient, ClientError, PixelmillAPIError
from pixelmill.mcp.errors import ToolError

INLINE_IMAGE_MAX_BYTES = 512 * 1024
INLINE_IMAGE_MAX_COUNT = 4
# Largest image an argument may carry inline as base64 (the server's upload limit still applies).
ARGUMENT_IMAGE_MAX_BYTES = 32 * 1024 * 1024
# Statuses of an upload refused for its content (invalid, too large, not an image): the argument's fault.
REJECTED_UPLOAD = frozenset({400, 413, 415, 422})


def server_path(client: AsyncClient, url: str) -> str | None:
    """The path (and query) of ``url`` on the client's server; None for a URL elsewhere."""
    if url.startswith("/"):
        return url
    parts, base = urlsplit(url), urlsplit(client.base_url)
    if parts.scheme not in ("http", "https"):
        return None
    if (parts.scheme, parts.netloc) != (base.scheme, base.netloc) and not parts.path.startswith("/v1/"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


async def fetch_bounded(client: AsyncClient, path: str, limit: int) -> tuple[bytes, str] | None:
    """The body and content type at ``path`` on the server, or None when it is larger than ``limit``."""
    response = await client.send(client.build("GET", path), stream=True)
    try:
        declared = response.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return None
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body.extend(chunk)
            if len(body) > limit:
                return None
        return bytes(body), response.headers.get("content-type", "").split(";")[0].strip()
    finally:
        await response.aclose()


async def image_file_id(client: AsyncClient, argument: str, value: object) -> str:
    """A file id for an image argument: a file id as given, else the image uploaded as a new file."""
    if not isinstance(value, str) or not value.strip():
        raise ToolError(f"Invalid argument `{argument}`: give a file id, an image URL or base64 image data")
    text = value.strip()
    if text.startswith("file_"):
        return text
    if text.startswith(("http://", "https://", "/")):
        path = server_path(client, text)
        if path is None:
            raise ToolError(
                f"Invalid argument `{argument}`: only URLs on this pixelmill server ({client.base_url}) are "
                "accepted; pass other images as base64 data"
            )
        try:
            fetched = await fetch_bounded(client, path, ARGUMENT_IMAGE_MAX_BYTES)
        except PixelmillAPIError as exc:
            raise ToolError(f"Invalid argument `{argument}`: cannot read {text}: {exc.message}") from None
        if fetched is None:
            raise ToolError(f"Invalid argument `{argument}`: {text} is over {ARGUMENT_IMAGE_MAX_BYTES} bytes")
        content = fetched[0]
    else:
        content = _decode_base64(argument, text)
    try:
        uploaded = await client.files.upload(content, filename=argument)
    except PixelmillAPIError as exc:
        if exc.status not in REJECTED_UPLOAD:
            raise
        raise ToolError(f"Invalid argument `{argument}`: {exc.message}") from None
    return uploaded.id


def _decode_base64(argument: str, text: str) -> bytes:
    if text.startswith("data:"):
        _, _, text = text.partition(",")
    try:
        content = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ToolError(
            f"Invalid argument `{argument}`: not a file id (file_…), an image URL of this server, nor base64 data"
        ) from None
    if not content:
        raise ToolError(f"Invalid argument `{argument}`: the base64 data is empty")
    return content


async def inline_images(client: AsyncClient, urls: list[str]) -> list[types.ImageContent]:
    """Image content for the first images small enough to inline (see the module docstring)."""
    blocks: list[types.ImageContent] = []
    for url in urls:
        if len(blocks) >= INLINE_IMAGE_MAX_COUNT:
            break
        path = server_path(client, url)
        if path is None:
            continue
        try:
            fetched = await fetch_bounded(client, path, INLINE_IMAGE_MAX_BYTES)
        except ClientError:
            continue  # the URL is in the result anyway; a failed preview must not fail the call
        if fetched is None or not fetched[1].startswith("image/"):
            continue
        body, mime = fetched
        blocks.append(types.ImageContent(data=base64.b64encode(body).decode("ascii"), mime_type=mime))
    return blocks
