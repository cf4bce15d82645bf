"""The procedural renderer: deterministic, steered by the prompt's words, within its limits."""

from __future__ import annotations

import numpy as np
import pytest

from pixelmill.errors import PixelmillError
from pixelmill.providers.base import TextToImageRequest
from pixelmill.providers.procedural import ProceduralProvider, plan_scene, render
from pixelmill.storage.pixels import image_of, pixels_of

pytestmark = pytest.mark.anyio


def pixels(prompt: str, seed: int = 1, width: int = 160, height: int = 120, negative: str = "") -> np.ndarray:
    return pixels_of(render(prompt, width, height, seed, negative))


def test_same_prompt_and_seed_give_the_same_pixels() -> None:
    assert np.array_equal(pixels("a lake at dawn"), pixels("a lake at dawn"))
    assert not np.array_equal(pixels("a lake at dawn"), pixels("a lake at dawn", seed=2))
    assert not np.array_equal(pixels("a lake at dawn"), pixels("a city at dawn"))


def test_any_size_within_limits() -> None:
    assert pixels("hills", width=333, height=77).shape == (77, 333, 3)


def test_words_choose_the_scene() -> None:
    night, _ = plan_scene("starry night over the mountains", "", 3)
    assert (night.time_of_day, night.ground, night.clouds) == ("night", "mountains", 0.0)
    city, _ = plan_scene("neon city skyline", "", 3)
    assert city.ground == "city"
    dry, _ = plan_scene("a lake in the hills", "water, lake", 3)
    assert not dry.water
    assert pixels("starry night").mean() < pixels("sunny day").mean()


def test_pictures_are_layered_not_flat() -> None:
    picture = pixels("mountain lake at sunset", width=256, height=256).astype(np.float32)
    rows = picture.mean(axis=(1, 2))
    assert picture.std() > 20
    assert np.abs(np.diff(rows)).max() > 2  # horizon, ridges, water: the rows differ


def test_reference_images_lend_their_colours() -> None:
    green = image_of(np.full((32, 32, 3), (20, 200, 40), np.uint8))
    plain, _ = plan_scene("hills", "", 5)
    tinted, _ = plan_scene("hills", "", 5, (green,))
    assert tinted.palette.near != plain.palette.near
    assert tinted.palette.far[1] > plain.palette.far[1]


async def test_the_provider_makes_n_images_and_refuses_sizes_beyond_its_limits() -> None:
    provider = ProceduralProvider()
    [info] = provider.models()
    assert (info.id, info.sandbox, info.cost) == ("local/procedural", True, 5)
    assert "not AI" in info.description
    images = await provider.text_to_image(info.id, TextToImageRequest(prompt="dunes", width=96, height=64, seed=1, n=3))
    assert [image.size for image in images] == [(96, 64)] * 3
    assert len({pixels_of(image).tobytes() for image in images}) == 3
    for request in (
        TextToImageRequest(prompt="x", width=8192, height=64, seed=0),
        TextToImageRequest(prompt="x", width=64, height=64, seed=0, n=9),
    ):
        with pytest.raises(PixelmillError) as caught:
            await provider.text_to_image(info.id, request)
        assert caught.value.code == "INVALID_INPUT"
