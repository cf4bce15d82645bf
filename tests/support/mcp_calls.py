"""Reading MCP tool results in tests: the JSON summary, the error message, the inline images."""

from __future__ import annotations

import base64
import io
from typing import Any

from mcp import types
from PIL import Image


def message(result: types.CallToolResult) -> str:
    """The text of a result (a failed call's error message)."""
    return "\n".join(block.text for block in result.content if isinstance(block, types.TextContent))


def summary(result: types.CallToolResult) -> dict[str, Any]:
    assert not result.is_error, message(result)
    assert isinstance(result.structured_content, dict), result
    return result.structured_content


def images(result: types.CallToolResult) -> list[Image.Image]:
    """The inline images, decoded (which fails the test for anything that is not a real image)."""
    assert not result.is_error, message(result)
    decoded = []
    for block in result.content:
        if isinstance(block, types.ImageContent):
            picture = Image.open(io.BytesIO(base64.b64decode(block.data, validate=True)))
            picture.load()
            assert Image.MIME[picture.format or ""] == block.mime_type
            decoded.append(picture)
    return decoded
