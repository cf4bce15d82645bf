"""InvokeAI's ``blank_image`` as a constant: the canvas is drawn when the batch is enqueued and
enters the graph through ``image.load`` as a PNG data URL, since pixelmill has no canvas node. Its
size is bounded here, since the drawing happens in the request. Pure functions.
"""

from __future__ import annotations

import base64
import functools
import io
from collections.abc import Mapping
from typing import Any

from PIL import Image

from pixelmill import errors
from pixelmill.api.dialects.invokeai.problems import graph_problem

# A blank canvas is drawn at enqueue time, so its size is bounded here (16 megapixels).
MAX_BLANK_PIXELS = 4096 * 4096


def blank_png(node_id: str, fields: Mapping[str, Any]) -> str:
    """InvokeAI's ``blank_image`` (width x height, mode RGB or RGBA, filled with ``color``) as a PNG data URL."""
    width, height = _side(node_id, "width", fields.get("width")), _side(node_id, "height", fields.get("height"))
    mode, color = fields.get("mode"), fields.get("color")
    if width * height > MAX_BLANK_PIXELS:
        raise graph_problem(
            errors.IMAGE_TOO_LARGE,
            f"Node {node_id!r}: a blank image has at most {MAX_BLANK_PIXELS} pixels",
            node_id,
            "width",
        )
    if mode not in ("RGB", "RGBA"):
        raise graph_problem(errors.INVALID_INPUT, f"Node {node_id!r}: mode must be RGB or RGBA", node_id, "mode")
    channels = [color.get(key, 255 if key == "a" else 0) if isinstance(color, dict) else None for key in "rgba"]
    if not all(isinstance(c, int) and not isinstance(c, bool) and 0 <= c <= 255 for c in channels):
        raise graph_problem(
            errors.INVALID_INPUT, f"Node {node_id!r}: color must be {{r, g, b, a}}, each 0-255", node_id, "color"
        )
    return _blank_png(width, height, str(mode), tuple(int(c) for c in channels if c is not None))


def _side(node_id: str, name: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise graph_problem(errors.INVALID_INPUT, f"Node {node_id!r}: {name} must be a positive integer", node_id, name)
    return value


@functools.lru_cache(maxsize=32)
def _blank_png(width: int, height: int, mode: str, rgba: tuple[int, ...]) -> str:
    """Every session of a batch draws the same canvas: encode it once."""
    canvas = Image.new(mode, (width, height), rgba if mode == "RGBA" else rgba[:3])
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
