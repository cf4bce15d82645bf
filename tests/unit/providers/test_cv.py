from __future__ import annotations

import numpy as np
import pytest

from pixelmill.config import Settings
from pixelmill.errors import PixelmillError
from pixelmill.providers.base import ImageToImageRequest
from pixelmill.providers.builtin import build_provider_registry
from pixelmill.providers.cv import CvProvider
from pixelmill.storage.pixels import image_of, pixels_of
from tests.support.images import photo_like, product_shot

pytestmark = pytest.mark.anyio


async def edit(operation: str, params: dict[str, object], picture: np.ndarray | None = None) -> np.ndarray:
    source = image_of(picture if picture is not None else photo_like(96, 80))
    [result] = await CvProvider().image_to_image("local/cv", ImageToImageRequest(source, operation, params))
    return pixels_of(result)


async def test_operations_run_through_the_provider() -> None:
    photo = photo_like(96, 80)
    assert np.abs(await edit("style", {"style": "sketch"}) - photo.astype(np.int16)).mean() > 10
    assert (await edit("reframe", {"aspect_ratio": "16:9"})).shape == (54, 96, 3)
    assert (await edit("upscale", {"factor": 2})).shape == (160, 192, 3)
    assert (await edit("remove_background", {}, product_shot(96))).shape == (96, 96, 4)
    assert (await edit("resize", {"width": 48})).shape == (40, 48, 3)


async def test_unknown_operations_and_bad_parameters_are_invalid_input() -> None:
    for operation, params in (("melt", {}), ("style", {"style": "cubism"}), ("upscale", {"factor": 3}), ("crop", {})):
        with pytest.raises(PixelmillError) as caught:
            await edit(operation, params)
        assert caught.value.code == "INVALID_INPUT"


def test_the_builtin_registry_serves_both_local_models(tmp_path: object) -> None:
    registry = build_provider_registry(Settings(secret_key="x" * 40))  # type: ignore[arg-type]
    assert {model.id for model in registry.models()} >= {"local/procedural", "local/cv"}
    assert registry.text_to_image("local/procedural").id == "local-procedural"
    assert registry.image_to_image("local/cv").id == "local-cv"
    with pytest.raises(PixelmillError):
        registry.image_to_image("local/procedural")
