"""Chart and card nodes through the executor and the real MediaStore; outputs decoded and checked."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from typing import Any

import pytest
from PIL import Image

from pixelmill.engine.validation import GraphValidationError
from pixelmill.runtime import Runtime
from tests.support.media_nodes import MediaEnv, one_node, open_media_env

SALES = {"labels": ["North", "South", "East", "West"], "values": [12.5, 8.0, 15.25, 4.0]}


@pytest.fixture
async def media(runtime: Runtime) -> AsyncIterator[MediaEnv]:
    async with open_media_env(runtime) as env:
        yield env


async def png_of(media: MediaEnv, ref: dict[str, Any]) -> Image.Image:
    with Image.open(io.BytesIO(await media.blob(ref))) as picture:
        assert picture.format == "PNG"
        return picture.convert("RGB")


@pytest.mark.anyio
@pytest.mark.parametrize("chart_type", ["bar", "horizontal_bar", "line", "area", "pie", "donut", "stat_cards"])
async def test_chart_types_render_png_of_the_asked_size(media: MediaEnv, chart_type: str) -> None:
    graph = one_node(
        "infographic.chart", chart_type=chart_type, title="Sales by region", width=640, height=400, **SALES
    )
    result = await media.run(graph)
    assert result.status == "completed", result.errors
    output = result.outputs["n"]
    assert (output.type, result.total_cost) == ("image", 10)
    assert (output.value["mime"], output.value["width"], output.value["height"]) == ("image/png", 640, 400)
    picture = await png_of(media, output.value)
    assert picture.size == (640, 400)
    assert len(picture.getcolors(maxcolors=1 << 20) or []) > 20


@pytest.mark.anyio
async def test_chart_with_several_series_and_explicit_colours(media: MediaEnv) -> None:
    series = [{"name": "2025", "values": [1, 2, 3, 4]}, {"name": "2026", "values": [2, 3, 4, 5]}]
    graph = one_node(
        "infographic.chart", labels=SALES["labels"], series=series, colors=["#FF0000", "#0000FF"], value_labels=False
    )
    picture = await png_of(media, (await media.run(graph)).outputs["n"].value)
    colours = {colour for _count, colour in picture.getcolors(maxcolors=1 << 20) or []}
    assert {(255, 0, 0), (0, 0, 255)} <= colours


@pytest.mark.anyio
async def test_chart_as_svg_is_stored_as_svg(media: MediaEnv) -> None:
    result = await media.run(one_node("infographic.chart", format="svg", width=600, height=400, **SALES))
    assert result.status == "completed", result.errors
    ref = result.outputs["n"].value
    assert (ref["mime"], ref["width"], ref["height"]) == ("image/svg+xml", 600, 400)
    root = ET.fromstring(await media.blob(ref))  # noqa: S314 - the node's own output
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert (root.get("width"), root.get("height")) == ("600", "400")


@pytest.mark.anyio
async def test_card_lays_out_title_bullets_and_picture(media: MediaEnv) -> None:
    picture = await media.upload(Image.new("RGB", (200, 200), (10, 200, 10)))
    graph = one_node(
        "infographic.card",
        title="Three reasons",
        bullets=["Fast", "Offline", "Yours"],
        image=picture,
        width=800,
        height=450,
    )
    result = await media.run(graph)
    assert result.status == "completed", result.errors
    assert result.total_cost == 10
    card = await png_of(media, result.outputs["n"].value)
    assert card.size == (800, 450)
    right = card.crop((480, 0, 800, 450)).getcolors(maxcolors=1 << 20) or []
    assert max(right)[1] == (10, 200, 10)  # the picture fills the right column


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("inputs", "field"),
    [
        ({"labels": ["a", "b"], "values": [1]}, "values"),
        ({"labels": ["a", "b"], "series": [{"name": "s", "values": [1, 2, 3]}]}, "series"),
        ({"chart_type": "pie", "labels": ["a"], "series": [{"values": [1]}, {"values": [2]}]}, "series"),
        ({"chart_type": "radar", **SALES}, "chart_type"),
        ({"width": 10, **SALES}, "width"),
        ({"format": "gif", **SALES}, "format"),
        ({"colors": ["red"], **SALES}, "colors"),
        ({"labels": [], "values": []}, "labels"),
        ({"deltas": [1.0], **SALES}, "deltas"),
    ],
)
async def test_invalid_chart_parameters_are_refused_before_the_run(
    media: MediaEnv, inputs: dict[str, Any], field: str
) -> None:
    with pytest.raises(GraphValidationError) as caught:
        await media.run(one_node("infographic.chart", **inputs))
    assert caught.value.status == 422
    assert (caught.value.code, caught.value.extra["field"]) == ("INVALID_INPUT", field)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("inputs", "field"),
    [({"labels": ["a", "b"]}, "values"), ({"chart_type": "pie", "labels": ["a", "b"], "values": [-1, 3]}, "values")],
)
async def test_chart_data_problems_found_at_run_time_name_the_field(
    media: MediaEnv, inputs: dict[str, Any], field: str
) -> None:
    result = await media.run(one_node("infographic.chart", **inputs))
    assert result.status == "failed"
    assert result.error is not None
    assert (result.error["code"], result.error["field"], result.error["node_id"]) == ("INVALID_INPUT", field, "n")


@pytest.mark.anyio
async def test_invalid_card_parameters_are_refused(media: MediaEnv) -> None:
    with pytest.raises(GraphValidationError) as caught:
        await media.run(one_node("infographic.card", title="t", bullets=["x"] * 13))
    assert caught.value.extra["field"] == "bullets"
