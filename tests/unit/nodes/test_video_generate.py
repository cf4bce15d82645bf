"""video.generate's pure parts: what it charges, the frame it asks for, and what a model's catalogue
limits refuse before a run is queued."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from pixelmill.errors import PixelmillError
from pixelmill.nodes.video_generate import VideoGenerate, billed_seconds, frame_size, model_resolution
from pixelmill.providers.base import ModelInfo
from pixelmill.providers.local_media import LocalMediaProvider
from pixelmill.providers.xai_video import video_model_info

XAI = video_model_info()
OPEN = ModelInfo(
    id="fal/fal-ai/some-video",
    provider="fal",
    generation_type="video",
    capabilities=("video",),
    cost=4,
    description="a video model that publishes no limits",
)
KEN_BURNS = next(m for m in LocalMediaProvider().models() if m.id == "local/ken-burns")


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [({}, 15), ({"duration_seconds": 1}, 3), ({"duration_seconds": 6.2}, 21), ({"duration_seconds": "x"}, 15)],
)
def test_it_charges_three_credits_a_second_rounded_up(inputs: dict[str, Any], expected: int) -> None:
    assert VideoGenerate.cost(inputs) == expected


def test_the_operators_price_of_a_video_model_is_per_second() -> None:
    prices = {"xai/grok-imagine-video": 10}
    assert VideoGenerate.priced_cost({"model": "xai/grok-imagine-video", "duration_seconds": 8}, prices) == 80
    assert VideoGenerate.priced_cost({"model": "fal/other", "duration_seconds": 8}, prices) == 24
    assert billed_seconds({"duration_seconds": 15.0}) == 15


@pytest.mark.parametrize(
    ("resolution", "aspect", "still", "expected"),
    [
        ("720p", None, None, (1280, 720)),
        ("720p", "9:16", None, (720, 1280)),
        ("480p", "1:1", None, (480, 480)),
        ("480p", "3:2", None, (720, 480)),
        ("720p", None, (300, 400), (720, 960)),  # the still's shape
        ("720p", "16:9", (300, 400), (1280, 720)),  # an explicit shape wins
    ],
)
def test_the_frame_asked_for(
    resolution: str, aspect: str | None, still: tuple[int, int] | None, expected: tuple[int, int]
) -> None:
    assert frame_size(resolution, aspect, still) == expected


def test_the_default_resolution_is_720p_or_the_largest_the_model_makes_below_it() -> None:
    assert model_resolution(XAI) == "720p"
    assert model_resolution(OPEN) == "720p"
    only_big = ModelInfo(
        id="x/big",
        provider="x",
        generation_type="video",
        capabilities=("video",),
        cost=1,
        description="",
        limits={"resolutions": ["1080p"]},
    )
    below = ModelInfo(
        id="x/small",
        provider="x",
        generation_type="video",
        capabilities=("video",),
        cost=1,
        description="",
        limits={"resolutions": ["360p", "480p", "1080p"]},
    )
    assert (model_resolution(only_big), model_resolution(below)) == ("1080p", "480p")


def refused(inputs: dict[str, Any], info: ModelInfo = XAI) -> tuple[str, str]:
    with pytest.raises(PixelmillError) as caught:
        VideoGenerate.check_model({"prompt": "p", "model": info.id, **inputs}, info)
    assert caught.value.status == 422
    return caught.value.code, caught.value.extra["field"]


def test_what_xai_makes_passes() -> None:
    VideoGenerate.check_model({"prompt": "p", "duration_seconds": 15, "resolution": "480p", "aspect_ratio": "2:3"}, XAI)
    VideoGenerate.check_model({"prompt": "p", "image": {"file_id": "f"}}, XAI)
    VideoGenerate.check_model({"prompt": "p", "duration_seconds": 42.5, "resolution": "1080p"}, OPEN)


@pytest.mark.parametrize(
    ("inputs", "field"),
    [
        ({"duration_seconds": 16}, "duration_seconds"),
        ({"duration_seconds": 0.5}, "duration_seconds"),
        ({"duration_seconds": 2.5}, "duration_seconds"),  # whole seconds only
        ({"resolution": "1080p"}, "resolution"),
        ({"resolution": "360p"}, "resolution"),
    ],
)
def test_what_xai_cannot_make_is_refused_naming_the_input(inputs: dict[str, Any], field: str) -> None:
    assert refused(inputs) == ("INVALID_INPUT", field)


def test_a_model_without_image_to_video_refuses_an_image_and_local_models_point_to_their_nodes() -> None:
    text_only = dataclasses.replace(OPEN, limits={"image_to_video": False})
    assert refused({"image": {"file_id": "f"}}, text_only) == ("INVALID_INPUT", "image")
    with pytest.raises(PixelmillError, match=r"video\.from_image"):
        VideoGenerate.check_model({"prompt": "p"}, KEN_BURNS)
    image_model = ModelInfo(
        id="x/img", provider="x", generation_type="image", capabilities=("text-to-image",), cost=1, description=""
    )
    assert refused({}, image_model) == ("INVALID_INPUT", "model")
