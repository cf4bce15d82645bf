"""Info cards: a title, bullet points and an optional picture laid out on a canvas with Pillow.

Text is set in DejaVu Sans, the font matplotlib ships in its data directory, so no system font
package is needed. Sizes are fitted, not fixed: the title and the bullets start large and
shrink until the wrapped text fits its box, so a card with two bullets and one with ten both
fill the canvas. Landscape canvases put the picture in a column on the right; portrait ones put
it under the title.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from PIL import Image, ImageDraw, ImageFont

from pixelmill.providers.charts import PALETTES, THEMES, Palette, Theme
from pixelmill.providers.media_deps import MATPLOTLIB_HINT, import_optional
from pixelmill.providers.video_motion import Fit, fit_image

FontWeight = Literal["regular", "bold"]
_FONT_FILES: dict[str, str] = {"regular": "DejaVuSans.ttf", "bold": "DejaVuSans-Bold.ttf"}


@dataclass(frozen=True, slots=True)
class CardSpec:
    title: str
    bullets: tuple[str, ...] = ()
    footer: str = ""
    width: int = 1200
    height: int = 675
    palette: Palette = "vivid"
    accent: str | None = None  # a colour "#RRGGBB"; default the palette's first
    theme: Theme = "light"
    image_fit: Fit = "cover"  # "contain" shows all of a chart or screenshot, letterboxed


def font_path(weight: FontWeight) -> Path:
    """DejaVu Sans from matplotlib's bundled fonts."""
    matplotlib = import_optional("matplotlib", MATPLOTLIB_HINT)
    return Path(matplotlib.get_data_path()) / "fonts" / "ttf" / _FONT_FILES[weight]


@functools.lru_cache(maxsize=64)
def _font(weight: FontWeight, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_path(weight)), size)


def wrap(text: str, font: ImageFont.FreeTypeFont, width: float) -> list[str]:
    """Greedy word wrap by rendered width; a word longer than a line is split by characters."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}" if line else word
            if font.getlength(candidate) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            while font.getlength(word) > width and len(word) > 1:
                cut = len(word) - 1
                while cut > 1 and font.getlength(word[:cut]) > width:
                    cut -= 1
                lines.append(word[:cut])
                word = word[cut:]
            line = word
        lines.append(line)
    return lines


def _line_height(font: ImageFont.FreeTypeFont) -> int:
    ascent, descent = font.getmetrics()
    return int((ascent + descent) * 1.2)


def _fit_text(
    items: tuple[str, ...], weight: FontWeight, start: int, width: float, height: float, indent: float = 0.0
) -> tuple[ImageFont.FreeTypeFont, list[list[str]]]:
    """The largest font (from ``start`` down) at which every item, wrapped, fits in width x height."""
    size = start
    while True:
        font = _font(weight, size)
        gap = _line_height(font) * 0.45 if len(items) > 1 else 0
        wrapped = [wrap(item, font, width - indent * size) for item in items]
        used = sum(len(lines) * _line_height(font) for lines in wrapped) + gap * (len(items) - 1)
        if used <= height or size <= 8:
            return font, wrapped
        size = max(8, int(size * 0.92))


def render_card(spec: CardSpec, image: Image.Image | None = None) -> Image.Image:
    """The card as an RGB image of ``spec.width`` x ``spec.height``."""
    theme = THEMES[spec.theme]
    accent = spec.accent or PALETTES[spec.palette][0]
    width, height = spec.width, spec.height
    canvas = Image.new("RGB", (width, height), theme["background"])
    draw = ImageDraw.Draw(canvas)
    margin = int(min(width, height) * 0.07)
    draw.rectangle((0, 0, max(6, margin // 5), height), fill=accent)

    landscape = width >= height
    text_left, text_right = margin + margin // 3, width - margin
    if image is not None and landscape:
        column = int(width * 0.4)
        picture = fit_image(image, (column - margin, height - 2 * margin), spec.image_fit)
        _paste_rounded(canvas, picture, (width - column, margin), radius=margin // 3)
        text_right = width - column - margin // 2

    text_width = text_right - text_left
    footer_start = max(10, int(min(width, height) * 0.03))
    footer_font, _ = _fit_text(
        (spec.footer,), "regular", footer_start, text_width, _line_height(_font("regular", footer_start))
    )
    footer_space = _line_height(footer_font) + margin // 3 if spec.footer else 0
    title_font, (title_lines,) = _fit_text(
        (spec.title,), "bold", int(min(width, height) * 0.1), text_width, height * 0.3
    )
    y = float(margin)
    for line in title_lines:
        draw.text((text_left, y), line, font=title_font, fill=theme["text"])
        y += _line_height(title_font)
    y += margin * 0.5
    draw.rectangle((text_left, y, text_left + margin * 1.2, y + max(3, margin // 12)), fill=accent)
    y += margin * 0.6

    if image is not None and not landscape:
        box_height = int((height - y - margin - footer_space) * (0.45 if spec.bullets else 1.0))
        picture = fit_image(image, (text_width, max(16, box_height)), spec.image_fit)
        _paste_rounded(canvas, picture, (text_left, int(y)), radius=margin // 3)
        y += box_height + margin * 0.5

    if spec.bullets:
        available = height - y - margin - footer_space
        body_font, wrapped = _fit_text(spec.bullets, "regular", int(title_font.size * 0.55), text_width, available, 1.4)
        line_height = _line_height(body_font)
        indent = body_font.size * 1.4
        for lines in wrapped:
            radius = body_font.size * 0.18
            cy = y + line_height / 2.4
            draw.ellipse((text_left, cy - radius, text_left + 2 * radius, cy + radius), fill=accent)
            for line in lines:
                draw.text((text_left + indent, y), line, font=body_font, fill=theme["text"])
                y += line_height
            y += line_height * 0.45
    if spec.footer:
        draw.text((text_left, height - margin - _line_height(footer_font) * 0.8), spec.footer, font=footer_font,
                  fill=theme["muted"])  # fmt: skip
    return canvas


def _paste_rounded(canvas: Image.Image, picture: Image.Image, at: tuple[int, int], radius: int) -> None:
    mask = Image.new("L", picture.size, 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, picture.width - 1, picture.height - 1), radius=radius, fill=255)
    canvas.paste(picture, at, mask)
