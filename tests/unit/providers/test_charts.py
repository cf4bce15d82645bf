"""Charts rendered with matplotlib: exact sizes, decodable PNG, well-formed SVG, number formatting."""

from __future__ import annotations

import io
import threading
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

from pixelmill.providers.charts import ChartSpec, Series, format_value, render_chart, render_chart_image

MONTHS = ("Jan", "Feb", "Mar", "Apr")


def spec(kind: str, **overrides: object) -> ChartSpec:
    fields: dict[str, object] = {
        "kind": kind,
        "labels": MONTHS,
        "series": (Series("Sales", (3.0, 5.5, 2.0, 8.0)),),
        "title": "Quarterly sales",
        "width": 480,
        "height": 320,
    }
    fields.update(overrides)
    return ChartSpec(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["bar", "horizontal_bar", "line", "area", "pie", "donut", "stat_cards"])
def test_every_chart_type_renders_a_png_of_the_exact_size(kind: str) -> None:
    data = render_chart(spec(kind))
    with Image.open(io.BytesIO(data)) as picture:
        picture.load()
        assert picture.format == "PNG"
        assert picture.size == (480, 320)
        colours = picture.convert("RGB").getcolors(maxcolors=1 << 16)
    assert colours is not None
    assert len(colours) > 20


def test_bars_use_palette_colours() -> None:
    picture = render_chart_image(spec("bar", palette="vivid", value_labels=False))
    colours = {colour for _count, colour in picture.getcolors(maxcolors=1 << 16) or []}
    assert (0x4C, 0x6E, 0xF5) in colours  # the first vivid colour fills the first bar


def test_explicit_colours_win_over_the_palette() -> None:
    picture = render_chart_image(spec("bar", colors=("#123456",), value_labels=False))
    colours = {colour for _count, colour in picture.getcolors(maxcolors=1 << 16) or []}
    assert (0x12, 0x34, 0x56) in colours


def test_dark_theme_paints_a_dark_background() -> None:
    picture = render_chart_image(spec("line", theme="dark"))
    assert picture.getpixel((2, picture.height - 2)) == (0x1A, 0x1B, 0x1E)
    assert render_chart_image(spec("line")).getpixel((2, 2)) == (255, 255, 255)


def test_svg_output_is_well_formed_with_the_asked_size_and_text_as_paths() -> None:
    data = render_chart(spec("bar", series=(Series("A", (1, 2, 3, 4)), Series("B", (2, 1, 4, 3)))), "svg")
    root = ET.fromstring(data)  # noqa: S314 - our own renderer wrote it
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert (root.get("width"), root.get("height"), root.get("viewBox")) == ("480", "320", "0 0 345.6 230.4")
    assert b"<text" not in data  # glyphs are paths, so the chart looks the same without the font


def test_long_labels_stay_inside_the_picture() -> None:
    labels = ("A very long category name indeed", "Another rather long one", "Short", "x")
    picture = render_chart_image(spec("horizontal_bar", labels=labels, title=""))
    left_column = picture.crop((0, 0, 3, picture.height))
    assert left_column.getcolors() == [(3 * picture.height, (255, 255, 255))]  # nothing clipped at the edge


def test_charts_render_from_several_threads_at_once() -> None:
    results: list[tuple[int, int]] = []

    def draw(kind: str) -> None:
        results.append(render_chart_image(spec(kind)).size)

    threads = [threading.Thread(target=draw, args=(kind,)) for kind in ("bar", "pie", "line", "stat_cards")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [(480, 320)] * 4


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (1234, "1,234"),
        (12000, "12k"),
        (25400, "25.4k"),
        (3_400_000, "3.4M"),
        (2.5e9, "2.5B"),
        (0.25, "0.25"),
        (-1500.5, "-1,500.5"),
        (-45000, "-45k"),
    ],
)
def test_format_value_is_short_and_exact_enough(value: float, text: str) -> None:
    assert format_value(value) == text


def test_format_value_wraps_the_unit() -> None:
    assert format_value(12000, "$") == "$12k"
    assert format_value(42, suffix="%") == "42%"
