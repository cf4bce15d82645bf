"""The diffusers provider on the CPU, with a tiny random pipeline saved to disk as real weights are.

Every call runs the real diffusers pipeline code (text encoder, UNet, scheduler, VAE) for 2 steps
at 64x64; the images are noise, so the tests check what the provider promises: sizes, seeds,
caching, offline loading and errors.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from pixelmill import errors
from pixelmill.errors import PixelmillError
from pixelmill.providers.base import (
    ImageToImageProvider,
    ImageToImageRequest,
    InpaintingProvider,
    InpaintRequest,
    TextToImageProvider,
    TextToImageRequest,
)
from pixelmill.providers.registry import ProviderRegistry

pytest.importorskip("diffusers", reason="the diffusers extra is not installed")

from pixelmill.providers.diffusers_provider import DiffusersProvider, choose_device
from tests.support.tiny_diffusers import save_into_hub_cache, save_tiny_pipeline

MODEL = "diffusers/tiny"


@pytest.fixture(scope="module")
def pipeline_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_pipeline(tmp_path_factory.mktemp("tiny-sd"))


@pytest.fixture(scope="module")
def provider(pipeline_dir: Path) -> DiffusersProvider:
    return DiffusersProvider({"tiny": str(pipeline_dir)}, steps=2, guidance_scale=5.0)


def pixels(image: Image.Image) -> np.ndarray[Any, Any]:
    return np.asarray(image.convert("RGB"), dtype=np.int16)


def test_catalogue_lists_each_configured_pipeline_as_an_image_model(provider: DiffusersProvider) -> None:
    (info,) = provider.models()
    assert info.id == MODEL
    assert info.generation_type == "image"
    assert info.capabilities == ("text-to-image", "image-to-image", "inpainting")
    assert info.cost == 5
    assert not info.sandbox
    registry = ProviderRegistry([provider])
    assert isinstance(registry.text_to_image(MODEL), TextToImageProvider)
    assert isinstance(registry.image_to_image(MODEL), ImageToImageProvider)
    assert isinstance(registry.inpainting(MODEL), InpaintingProvider)


def test_provider_without_models_is_not_configured() -> None:
    assert not DiffusersProvider({}).is_configured()
    assert ProviderRegistry([DiffusersProvider({})]).models() == []


def test_cpu_host_gets_cpu_and_full_precision() -> None:
    import torch

    device, dtype = choose_device("auto")
    if torch.cuda.is_available():
        assert (device, dtype) == ("cuda", torch.float16)
    else:
        assert device in ("mps", "cpu")
        assert dtype == torch.float32
    assert choose_device("cpu") == ("cpu", torch.float32)


@pytest.mark.anyio
async def test_text_to_image_gives_the_requested_size_and_repeats_under_a_seed(provider: DiffusersProvider) -> None:
    request = TextToImageRequest(prompt="a red fox in snow", width=64, height=64, seed=7)
    first = await provider.text_to_image(MODEL, request)
    again = await provider.text_to_image(MODEL, request)
    other = await provider.text_to_image(
        MODEL, TextToImageRequest(prompt="a red fox in snow", width=64, height=64, seed=8)
    )
    assert [image.size for image in first] == [(64, 64)]
    assert first[0].mode == "RGB"
    assert np.array_equal(pixels(first[0]), pixels(again[0]))
    assert not np.array_equal(pixels(first[0]), pixels(other[0]))
    assert pixels(first[0]).std() > 0  # a real picture, not a blank canvas


@pytest.mark.anyio
async def test_each_of_n_images_has_its_own_seed(provider: DiffusersProvider) -> None:
    pair = await provider.text_to_image(MODEL, TextToImageRequest(prompt="a kite", width=64, height=64, seed=3, n=2))
    single = await provider.text_to_image(MODEL, TextToImageRequest(prompt="a kite", width=64, height=64, seed=3))
    assert len(pair) == 2
    assert not np.array_equal(pixels(pair[0]), pixels(pair[1]))
    assert np.abs(pixels(pair[0]) - pixels(single[0])).max() <= 2  # batched vs single: same noise


@pytest.mark.anyio
async def test_a_size_off_the_vae_grid_is_rendered_on_it_then_resized(provider: DiffusersProvider) -> None:
    (image,) = await provider.text_to_image(MODEL, TextToImageRequest(prompt="a boat", width=70, height=66, seed=1))
    assert image.size == (70, 66)


@pytest.mark.anyio
async def test_concurrent_calls_on_one_pipeline_take_turns(provider: DiffusersProvider) -> None:
    request = TextToImageRequest(prompt="a lighthouse", width=64, height=64, seed=11)
    alone = await provider.text_to_image(MODEL, request)
    together = await asyncio.gather(provider.text_to_image(MODEL, request), provider.text_to_image(MODEL, request))
    for result in together:
        assert np.array_equal(pixels(result[0]), pixels(alone[0]))


@pytest.mark.anyio
async def test_image_to_image_keeps_the_source_size_and_repeats_under_a_seed(provider: DiffusersProvider) -> None:
    source = Image.new("RGB", (64, 64), (200, 60, 30))
    request = ImageToImageRequest(
        image=source, operation="img2img", prompt="a sunset", seed=5, params={"strength": 0.9}
    )
    first = await provider.image_to_image(MODEL, request)
    again = await provider.image_to_image(MODEL, request)
    assert [image.size for image in first] == [(64, 64)]
    assert np.array_equal(pixels(first[0]), pixels(again[0]))


@pytest.mark.anyio
async def test_inpaint_repaints_under_a_mask_and_repeats_under_a_seed(provider: DiffusersProvider) -> None:
    source = Image.new("RGB", (64, 64), (20, 120, 220))
    small = Image.new("L", (64, 64), 0)
    small.paste(255, (16, 16, 48, 48))
    whole = Image.new("L", (64, 64), 255)
    first = await provider.inpaint(MODEL, InpaintRequest(image=source, mask=small, prompt="a moon", seed=9))
    again = await provider.inpaint(MODEL, InpaintRequest(image=source, mask=small, prompt="a moon", seed=9))
    unmasked = await provider.inpaint(MODEL, InpaintRequest(image=source, mask=whole, prompt="a moon", seed=9))
    assert first[0].size == (64, 64)
    assert np.array_equal(pixels(first[0]), pixels(again[0]))
    assert not np.array_equal(pixels(first[0]), pixels(unmasked[0]))


def test_pipelines_are_cached_per_task_and_share_one_set_of_weights(provider: DiffusersProvider) -> None:
    text_to_image = provider.pipeline(MODEL, "text-to-image")
    inpainting = provider.pipeline(MODEL, "inpainting")
    assert provider.pipeline(MODEL, "text-to-image") is text_to_image
    assert type(inpainting).__name__ == "StableDiffusionInpaintPipeline"
    assert inpainting.unet is text_to_image.unet


@pytest.mark.anyio
async def test_a_repo_id_loads_from_the_hugging_face_cache_offline(pipeline_dir: Path, tmp_path: Path) -> None:
    save_into_hub_cache(pipeline_dir, tmp_path / "hub", "pixelmill-tests/tiny-sd")
    cached = DiffusersProvider({"hub": "pixelmill-tests/tiny-sd"}, steps=2, cache_dir=tmp_path / "hub")
    direct = DiffusersProvider({"hub": str(pipeline_dir)}, steps=2)
    request = TextToImageRequest(prompt="a castle", width=64, height=64, seed=2)
    (from_cache,) = await cached.text_to_image("diffusers/hub", request)
    (from_dir,) = await direct.text_to_image("diffusers/hub", request)
    assert np.array_equal(pixels(from_cache), pixels(from_dir))


def test_weights_missing_from_disk_and_cache_are_reported_not_downloaded(tmp_path: Path) -> None:
    provider = DiffusersProvider(
        {"gone": str(tmp_path / "no-such-dir"), "uncached": "pixelmill-tests/not-in-cache"},
        steps=2,
        cache_dir=tmp_path / "empty-hub",
    )
    request = TextToImageRequest(prompt="x", width=64, height=64, seed=0)
    for model in ("diffusers/gone", "diffusers/uncached"):
        with pytest.raises(PixelmillError) as caught:
            provider.text_to_image_blocking(model, request)
        assert caught.value.code == errors.DEPENDENCY_MISSING.code
        assert "save_pretrained" in caught.value.message


def test_bad_requests_name_the_field(provider: DiffusersProvider) -> None:
    source = Image.new("RGB", (64, 64))
    cases: list[tuple[Any, str]] = [
        (lambda: provider.text_to_image_blocking("diffusers/other", TextToImageRequest("x", 64, 64, 0)), "model"),
        (lambda: provider.text_to_image_blocking(MODEL, TextToImageRequest("x", 32, 64, 0)), "width"),
        (lambda: provider.text_to_image_blocking(MODEL, TextToImageRequest("x", 64, 4096, 0)), "height"),
        (lambda: provider.text_to_image_blocking(MODEL, TextToImageRequest("x", 64, 64, 0, n=5)), "n"),
        (lambda: provider.image_to_image_blocking(MODEL, ImageToImageRequest(source, "cartoon")), "operation"),
        (
            lambda: provider.image_to_image_blocking(MODEL, ImageToImageRequest(source, "img2img", {"strength": 0})),
            "strength",
        ),
    ]
    for call, field in cases:
        with pytest.raises(PixelmillError) as caught:
            call()
        assert caught.value.code == errors.INVALID_INPUT.code
        assert caught.value.extra.get("field") == field
