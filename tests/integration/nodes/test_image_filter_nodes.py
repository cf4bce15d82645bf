"""The filter nodes through the real executor on real pictures, outputs decoded and checked."""

from __future__ import annotations

from collections.abc import AsyncIterator

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from pixelmill.runtime import Runtime
from tests.support.image_nodes import NodeEnv, open_node_env
from tests.support.images import photo_like

pytestmark = pytest.mark.anyio


@pytest.fixture
async def env(runtime: Runtime) -> AsyncIterator[NodeEnv]:
    async with open_node_env(runtime) as node_env:
        yield node_env


@pytest.fixture
def photo() -> NDArray[np.uint8]:
    return photo_like(128, 96)


def edge_energy(pixels: NDArray[np.uint8]) -> float:
    grey = cv2.cvtColor(np.ascontiguousarray(pixels[:, :, :3]), cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(np.abs(cv2.Laplacian(grey, cv2.CV_32F)).mean())


def with_hole(photo: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """The photo with a transparent right third."""
    rgba = np.dstack([photo, np.full(photo.shape[:2], 255, np.uint8)])
    rgba[:, 2 * photo.shape[1] // 3 :, 3] = 0
    rgba[:, 2 * photo.shape[1] // 3 :, :3] = 0
    return rgba


async def test_blur_lowers_edge_energy_more_with_a_larger_radius(env: NodeEnv, photo: NDArray[np.uint8]) -> None:
    image = {"file_id": await env.upload(photo)}
    small = await env.pixels((await env.single("image.blur", {"image": image, "radius": 1}))["image"])
    large = await env.pixels((await env.single("image.blur", {"image": image, "radius": 6, "kind": "box"}))["image"])
    assert small.shape == large.shape == photo.shape
    assert edge_energy(photo) > edge_energy(small) > edge_energy(large)
    assert abs(float(large.mean()) - float(photo.mean())) < 3  # a blur moves colour, it does not add any


async def test_scale_multiplies_both_sides(env: NodeEnv, photo: NDArray[np.uint8]) -> None:
    image = {"file_id": await env.upload(photo)}
    out = await env.single("image.scale", {"image": image, "factor": 0.5, "resample": "bilinear"})
    half = await env.pixels(out["image"])
    assert half.shape == (48, 64, 3)
    expected = cv2.resize(photo, (64, 48), interpolation=cv2.INTER_LINEAR)
    assert np.abs(half.astype(int) - expected.astype(int)).max() <= 1


async def test_color_mode_l_is_the_luma_and_channel_matches_numpy(env: NodeEnv, photo: NDArray[np.uint8]) -> None:
    image = {"file_id": await env.upload(photo)}
    grey = await env.pixels((await env.single("image.color_mode", {"image": image, "mode": "L"}))["image"])
    luma = photo[:, :, 0] * 0.299 + photo[:, :, 1] * 0.587 + photo[:, :, 2] * 0.114
    # decoded greyscale comes back as RGB with three equal channels
    assert np.array_equal(grey[:, :, 0], grey[:, :, 2])
    assert np.abs(grey[:, :, 0].astype(float) - luma).max() <= 1
    for index, name in enumerate("RGB"):
        out = await env.single("image.channel", {"image": image, "channel": name})
        assert np.array_equal((await env.pixels(out["image"]))[:, :, 0], photo[:, :, index]), name
    holed = {"file_id": await env.upload(with_hole(photo))}
    alpha = await env.pixels((await env.single("image.channel", {"image": holed}))["image"])
    assert np.array_equal(alpha[:, :, 0], with_hole(photo)[:, :, 3])


async def test_canny_finds_a_square_outline_and_nothing_else(env: NodeEnv) -> None:
    picture = np.zeros((64, 64, 3), np.uint8)
    picture[16:48, 16:48] = 255
    image = {"file_id": await env.upload(picture)}
    edges = await env.pixels((await env.single("image.canny", {"image": image}))["image"])
    assert set(np.unique(edges).tolist()) == {0, 255}
    on = edges[:, :, 0] == 255
    ys, xs = np.nonzero(on)
    assert 14 <= ys.min() <= 17
    assert 46 <= ys.max() <= 49
    assert 14 <= xs.min() <= 17
    assert 46 <= xs.max() <= 49
    assert not on[24:40, 24:40].any()  # the flat inside has no edges
    assert not on[:8].any()  # nor the flat outside
    assert not on[56:].any()


async def test_infill_fills_every_transparent_pixel(env: NodeEnv, photo: NDArray[np.uint8]) -> None:
    holed = with_hole(photo)
    image = {"file_id": await env.upload(holed)}
    hole = holed[:, :, 3] == 0
    color = await env.pixels(
        (await env.single("image.infill", {"image": image, "method": "color", "color": "#ff0000"}))["image"]
    )
    assert (color[:, :, 3] == 255).all()
    assert (color[hole][:, :3] == [255, 0, 0]).all()
    assert np.array_equal(color[~hole][:, :3], photo[~hole])
    telea = await env.pixels((await env.single("image.infill", {"image": image, "method": "telea"}))["image"])
    assert np.array_equal(telea[~hole][:, :3], photo[~hole])
    # the fill continues the picture: near the hole's edge it is close to the neighbouring column
    border = 2 * photo.shape[1] // 3
    assert np.abs(telea[:, border, :3].astype(int) - photo[:, border - 1].astype(int)).mean() < 25
    assert telea[hole][:, :3].std() > 5  # not a flat fill
    first = await env.single("image.infill", {"image": image, "method": "tile", "tile_size": 16, "seed": 3})
    again = await env.single("image.infill", {"image": image, "method": "tile", "tile_size": 16, "seed": 3})
    other = await env.single("image.infill", {"image": image, "method": "tile", "tile_size": 16, "seed": 4})
    tiled = await env.pixels(first["image"])
    assert first["image"]["sha256"] == again["image"]["sha256"] != other["image"]["sha256"]
    assert (tiled[:, :, 3] == 255).all()
    assert np.array_equal(tiled[~hole][:, :3], photo[~hole])
    # every filled tile is a piece of the opaque photo
    tile = tiled[0:16, 96:112, :3]
    opaque = photo[:, : photo.shape[1] * 2 // 3]
    found = cv2.matchTemplate(opaque, np.ascontiguousarray(tile), cv2.TM_SQDIFF)
    assert found.min() < 1e-3  # an exact match (float error only)


async def test_multiply_darkens_as_the_product_and_refuses_other_sizes(env: NodeEnv, photo: NDArray[np.uint8]) -> None:
    shade = np.full_like(photo, 255)
    shade[:, 64:] = 128  # white left half, mid-grey right half
    image, other = {"file_id": await env.upload(photo)}, {"file_id": await env.upload(shade)}
    product = await env.pixels((await env.single("image.multiply", {"image": image, "other": other}))["image"])
    assert np.array_equal(product[:, :64], photo[:, :64])  # white keeps the picture
    expected = photo[:, 64:].astype(int) * 128 / 255
    assert np.abs(product[:, 64:].astype(int) - expected).max() <= 1
    small = {"file_id": await env.upload(photo[:10, :10])}
    graph = {"nodes": [{"id": "n", "type": "image.multiply", "inputs": {"image": image, "other": small}}]}
    result = await env.run(graph)
    assert result.status == "failed"
    assert result.error is not None
    assert (result.error["code"], result.error["field"]) == ("INVALID_INPUT", "other")


async def test_levels_compresses_and_stretches_the_range(env: NodeEnv, photo: NDArray[np.uint8]) -> None:
    image = {"file_id": await env.upload(photo)}
    flat = await env.pixels(
        (await env.single("image.levels", {"image": image, "out_low": 64, "out_high": 192}))["image"]
    )
    assert flat.min() >= 64
    assert flat.max() <= 192
    assert np.abs(flat.astype(float) - (64 + photo * (128 / 255))).max() <= 0.5 + 1e-6
    inputs = {"image": image, "in_low": 64, "in_high": 192}
    stretched = await env.pixels((await env.single("image.levels", inputs))["image"])
    assert (stretched[photo <= 64] == 0).all()
    assert (stretched[photo >= 192] == 255).all()
