"""Edge typing rules and run-output types, straight from annotations."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pytest
from pydantic import Field

from pixelmill.engine.compat import edge_conversion, output_type_for, type_label
from pixelmill.engine.values import AudioRef, ImageRef, MediaRef, VideoRef


@pytest.mark.parametrize(
    ("source", "target", "expected"),
    [
        (float, float, "direct"),
        (int, float, "direct"),
        (str, str, "direct"),
        (ImageRef, ImageRef, "direct"),
        (ImageRef, MediaRef, "direct"),
        (Annotated[float, Field(ge=0)], float, "direct"),
        (float, Any, "direct"),
        (Any, ImageRef, "direct"),
        (Literal["png", "jpeg"], str, "direct"),
        (Literal["png"], Literal["png", "jpeg"], "direct"),
        (ImageRef, list[ImageRef], "wrap"),
        (int, list[float], "wrap"),
        (ImageRef, list[ImageRef] | None, "wrap"),
        (list[ImageRef], list[ImageRef], "direct"),
        (list[int], list[float], "direct"),
        (dict[str, int], dict[str, float], "direct"),
        (float, float | None, "direct"),
        (int, str | int | float | bool | None, "direct"),
        (float, int, None),
        (bool, int, None),
        (int, bool, None),
        (str, float, None),
        (float | None, float, None),
        (int | list[int], list[int], None),
        (MediaRef, ImageRef, None),
        (VideoRef, ImageRef, None),
        (str, Literal["png"], None),
        (Literal["gif"], Literal["png", "jpeg"], None),
        (list[ImageRef], ImageRef, None),
        (list[float], list[int], None),
        (list[ImageRef], list[list[ImageRef]], None),
    ],
)
def test_edge_conversion(source: Any, target: Any, expected: str | None) -> None:
    assert edge_conversion(source, target) == expected


@pytest.mark.parametrize(
    ("annotation", "expected"),
    [
        (ImageRef, "image"),
        (ImageRef | None, "image"),
        (list[ImageRef], "images"),
        (VideoRef, "video"),
        (AudioRef, "audio"),
        (str, "text"),
        (float, "json"),
        (dict[str, Any], "json"),
        (list[str], "json"),
    ],
)
def test_output_type_for(annotation: Any, expected: str) -> None:
    assert output_type_for(annotation) == expected


@pytest.mark.parametrize(
    ("annotation", "expected"),
    [
        (list[ImageRef], "list[image]"),
        (float | None, "float | null"),
        (Literal["png", "jpeg"], "literal['png', 'jpeg']"),
        (dict[str, Any], "dict[str, any]"),
        (Annotated[int, Field(ge=1)], "int"),
    ],
)
def test_type_label(annotation: Any, expected: str) -> None:
    assert type_label(annotation) == expected
