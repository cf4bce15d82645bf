"""Putting images together: layer one over another, add text, lay several out as a contact sheet."""

from __future__ import annotations

import math
from functools import lru_cache
from importlib import resources
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from pixelmill.imaging.arrays import RGB, Pixels
from pixelmill.imaging.geometry import resize

BlendMode = Literal["normal", "multiply", "screen", "overlay"]
Anchor = Literal["top_left", "top", "top_right", "left", "center", "right", "bottom_left", "bottom", "bottom_right"]
TextMode = Literal["caption", "overlay"]
TextPosition = Literal["top", "center", "bottom"]


@lru_cache(maxsize=32)
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """DejaVu Sans (bundled under assets/fonts, Bitstream Vera licence) at ``size`` px."""
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    with resources.as_file(resources.files("pixelmill") / "assets" / "fonts" / name) as path:
        return ImageFont.truetype(str(path), size)


def _anchor_offset(anchor: Anchor, free_w: int, free_h: int) -> tuple[int, int]:
    column = 0 if anchor.endswith("left") else 2 if anchor.endswith("right") else 1
    row = 0 if anchor.startswith("top") else 2 if anchor.startswith("bottom") else 1
    return (free_w * column) // 2, (free_h * row) // 2


def composite(
    base: Pixels,
    overlay: Pixels,
    *,
    anchor: Anchor = "center",
    x: int = 0,
    y: int = 0,
    scale: float = 1.0,
    opacity: float = 1.0,
    blend_mode: BlendMode = "normal",
) -> Pixels:
    """``overlay`` (its alpha respected) over ``base`` at an anchor plus an (x, y) offset; the result
    has the base's size and channels. Parts outside the base are clipped."""
    if scale != 1.0:
        width = max(1, round(overlay.shape[1] * scale))
        overlay = resize(overlay, width, max(1, round(overlay.shape[0] * scale)), mode="stretch")
    base_h, base_w = base.shape[:2]
    over_h, over_w = overlay.shape[:2]
    left, top = _anchor_offset(anchor, base_w - over_w, base_h - over_h)
    left, top = left + x, top + y
    x0, y0 = max(0, left), max(0, top)
    x1, y1 = min(base_w, left + over_w), min(base_h, top + over_h)
    out = base.copy()
    if x0 >= x1 or y0 >= y1:
        return out
    patch = overlay[y0 - top : y1 - top, x0 - left : x1 - left]
    below = base[y0:y1, x0:x1, :3].astype(np.float32) / 255.0
    above = patch[:, :, :3].astype(np.float32) / 255.0
    coverage = (
        patch[:, :, 3].astype(np.float32) / 255.0 if patch.shape[2] == 4 else np.ones(patch.shape[:2], np.float32)
    )
    coverage = coverage * opacity
    if blend_mode == "multiply":
        above = below * above
    elif blend_mode == "screen":
        above = 1.0 - (1.0 - below) * (1.0 - above)
    elif blend_mode == "overlay":
        above = np.where(below < 0.5, 2 * below * above, 1.0 - 2 * (1.0 - below) * (1.0 - above))
    mixed = below + (above - below) * coverage[:, :, None]
    out[y0:y1, x0:x1, :3] = np.clip(mixed * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if out.shape[2] == 4:
        base_alpha = base[y0:y1, x0:x1, 3].astype(np.float32) / 255.0
        out[y0:y1, x0:x1, 3] = np.clip((base_alpha + coverage * (1 - base_alpha)) * 255 + 0.5, 0, 255).astype(np.uint8)
    return out


def _wrap(draw: ImageDraw.ImageDraw, text: str, face: ImageFont.FreeTypeFont, max_width: int) -> list[str]:
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        words = paragraph.split(" ")
        current = ""
        for word in words:
            trial = f"{current} {word}".strip()
            if current and draw.textlength(trial, font=face) > max_width:
                lines.append(current)
                current = word
            else:
                current = trial
        lines.append(current)
    return lines


def draw_text(
    pixels: Pixels,
    text: str,
    *,
    mode: TextMode = "caption",
    position: TextPosition = "bottom",
    font_size: int = 0,
    color: RGB = (255, 255, 255),
    background: RGB = (20, 20, 24),
    background_opacity: float = 0.6,
    bold: bool = True,
) -> Pixels:
    """A caption bar added above or below the image, or text drawn over it on a translucent band.
    ``font_size`` 0 picks a size from the image width."""
    height, width = pixels.shape[:2]
    size = font_size or max(12, round(width / 22))
    face = font(size, bold)
    padding = max(6, size // 2)
    measure = ImageDraw.Draw(Image.new("L", (1, 1)))
    lines = _wrap(measure, text, face, width - 2 * padding)
    line_height = round(size * 1.25)
    block = line_height * len(lines) + 2 * padding - (line_height - size)
    channels = pixels.shape[2]
    if mode == "caption":
        bar = np.empty((block, width, channels), np.uint8)
        bar[:, :, :3] = background
        if channels == 4:
            bar[:, :, 3] = 255
        parts = [bar, pixels] if position == "top" else [pixels, bar]
        canvas = np.ascontiguousarray(np.vstack(parts))
        top = 0 if position == "top" else height
    else:
        canvas = pixels.copy()
        top = {"top": 0, "center": (height - block) // 2, "bottom": height - block}[position]
        top = max(0, top)
        band = canvas[top : top + block, :, :3].astype(np.float32)
        canvas[top : top + block, :, :3] = (
            band * (1 - background_opacity) + np.asarray(background, np.float32) * background_opacity
        ).astype(np.uint8)
    image = Image.fromarray(canvas)
    draw = ImageDraw.Draw(image)
    fill = (*color, 255) if channels == 4 else color
    for index, line in enumerate(lines):
        line_width = draw.textlength(line, font=face)
        draw.text(((width - line_width) / 2, top + padding + index * line_height), line, font=face, fill=fill)
    return np.asarray(image, dtype=np.uint8)


def contact_sheet(
    images: list[Pixels],
    *,
    columns: int = 0,
    cell_size: int = 256,
    gap: int = 8,
    background: RGB = (245, 245, 245),
    labels: list[str] | None = None,
) -> Pixels:
    """Images fitted into equal square cells, row by row; optional labels under each cell."""
    count = len(images)
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    label_height = round(cell_size * 0.12) if labels else 0
    width = columns * cell_size + (columns + 1) * gap
    height = rows * (cell_size + label_height) + (rows + 1) * gap
    sheet = np.empty((height, width, 3), np.uint8)
    sheet[:] = background
    for index, pixels in enumerate(images):
        fitted = resize(pixels, cell_size, cell_size, mode="fit", resample="area")
        if fitted.shape[2] == 4:
            alpha = fitted[:, :, 3:4].astype(np.float32) / 255.0
            fitted = (fitted[:, :, :3] * alpha + np.asarray(background, np.float32) * (1 - alpha)).astype(np.uint8)
        row, column = divmod(index, columns)
        cell_x = gap + column * (cell_size + gap)
        cell_y = gap + row * (cell_size + label_height + gap)
        fit_h, fit_w = fitted.shape[:2]
        x, y = cell_x + (cell_size - fit_w) // 2, cell_y + (cell_size - fit_h) // 2
        sheet[y : y + fit_h, x : x + fit_w] = fitted
    if labels:
        image = Image.fromarray(sheet)
        draw = ImageDraw.Draw(image)
        face = font(max(10, round(label_height * 0.7)))
        for index, label in enumerate(labels[:count]):
            row, column = divmod(index, columns)
            centre_x = gap + column * (cell_size + gap) + cell_size / 2
            text_y = gap + row * (cell_size + label_height + gap) + cell_size + label_height * 0.1
            draw.text((centre_x - draw.textlength(label, font=face) / 2, text_y), label, font=face, fill=(40, 40, 40))
        sheet = np.asarray(image, dtype=np.uint8)
    return sheet
