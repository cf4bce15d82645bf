"""Every image node through the real executor on real pictures, outputs decoded and checked."""

from __future__ import annotations

import base64
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from pixelmill.config import Settings
from pixelmill.imaging.styles import STYLES
from pixelmill.runtime import Runtime
from pixelmill.storage.codecs import encode_image
from tests.support.image_nodes import NodeEnv, new_workspace, open_node_env
from tests.support.images import photo_like, product_shot

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Small enough that a 4x upscale of the 192x160 test photo crosses it.
    return settings.model_copy(update={"max_image_pixels": 200_000})


@pytest.fixture
async def env(runtime: Runtime) -> AsyncIterator[NodeEnv]:
    async with open_node_env(runtime) as node_env:
        yield node_env


@pytest.fixture
def photo() -> NDArray[np.uint8]:
    return photo_like(192, 160)


def mean_difference(a: NDArray[np.uint8], b: NDArray[np.uint8]) -> float:
    return float(np.abs(a[:, :, :3].astype(np.int16) - b[:, :, :3].astype(np.int16)).mean())


def file_ref(file_id: str) -> dict[str, str]:
    return {"file_id": file_id}


async def test_generate_is_deterministic_per_seed_and_sized(env: NodeEnv) -> None:
    node = {"id": "g", "type": "image.generate", "use_cache": False}
    inputs = {"prompt": "a lake at sunset", "size": "128x96", "seed": 7, "n": 2}
    first = await env.run({"nodes": [{**node, "inputs": inputs}], "edges": []})
    again = await env.run({"nodes": [{**node, "inputs": inputs}], "edges": []})
    other = await env.run({"nodes": [{**node, "inputs": {**inputs, "seed": 8}}], "edges": []})
    images = first.outputs["g"].value
    assert first.outputs["g"].type == "images"
    assert len(images) == 2
    assert first.nodes["g"].cost == 10
    assert [i["sha256"] for i in images] == [i["sha256"] for i in again.outputs["g"].value]
    assert images[0]["sha256"] != images[1]["sha256"]
    assert images[0]["sha256"] != other.outputs["g"].value[0]["sha256"]
    assert await env.blob(images[0]) == await env.blob(again.outputs["g"].value[0])
    pixels = await env.pixels(images[0])
    assert pixels.shape == (96, 128, 3)
    assert pixels.std() > 10  # a picture, not a flat fill


async def test_generate_uses_aspect_ratio_and_resolution(env: NodeEnv) -> None:
    out = await env.single(
        "image.generate", {"prompt": "city skyline at night", "aspect_ratio": "16:9", "resolution": 256}
    )
    assert (out["image"]["width"], out["image"]["height"]) == (256, 144)


async def test_generate_works_for_test_keys_with_the_sandbox_model(env: NodeEnv) -> None:
    out = await env.single("image.generate", {"prompt": "dunes", "size": "64x64"}, test_mode=True)
    assert out["image"]["mime"] == "image/png"


async def test_generate_refuses_sizes_beyond_the_model(env: NodeEnv) -> None:
    graph = {
        "nodes": [{"id": "g", "type": "image.generate", "inputs": {"prompt": "x", "size": "8000x64"}}],
        "edges": [],
    }
    result = await env.run(graph)
    assert result.status == "failed"
    assert result.error is not None
    assert (result.error["code"], result.error["field"]) == ("INVALID_INPUT", "size")


async def test_every_style_changes_the_image_and_keeps_its_size(env: NodeEnv, photo: NDArray[np.uint8]) -> None:
    file_id = await env.upload(photo)
    nodes = [
        {"id": name, "type": "image.style", "inputs": {"image": file_ref(file_id), "style": name}} for name in STYLES
    ]
    result = await env.run({"nodes": nodes, "edges": []})
    assert result.status == "completed", result.errors
    for name in STYLES:
        styled = await env.pixels(result.outputs[name].value)
        assert styled.shape == photo.shape, name
        assert mean_difference(styled, photo) > 6, name


async def test_style_strength_zero_keeps_the_original(env: NodeEnv, photo: NDArray[np.uint8]) -> None:
    file_id = await env.upload(photo)
    out = await env.single("image.style", {"image": file_ref(file_id), "style": "cartoon", "strength": 0})
    assert np.array_equal(await env.pixels(out["image"]), photo)


async def test_enhance_sharpens_and_saturates(env: NodeEnv, photo: NDArray[np.uint8]) -> None:
    file_id = await env.upload(photo)
    out = await env.single("image.enhance", {"image": file_ref(file_id), "sharpen": 1.0, "saturation": 1.5})
    enhanced = await env.pixels(out["image"])
    assert enhanced.shape == photo.shape
    laplacian = np.abs(np.diff(enhanced.astype(np.int16), axis=1)).mean()
    assert laplacian > np.abs(np.diff(photo.astype(np.int16), axis=1)).mean()


@pytest.mark.parametrize(("ratio", "mode"), [("16:9", "crop"), ("9:16", "crop"), ("4:5", "pad"), ("21:9", "pad")])
async def test_reframe_hits_the_exact_aspect_ratio(
    env: NodeEnv, photo: NDArray[np.uint8], ratio: str, mode: str
) -> None:
    file_id = await env.upload(photo)
    out = await env.single("image.reframe", {"image": file_ref(file_id), "aspect_ratio": ratio, "mode": mode})
    across, down = (int(part) for part in ratio.split(":"))
    pixels = await env.pixels(out["image"])
    height, width = pixels.shape[:2]
    assert width * down == height * across
    if mode == "crop":
        assert width <= photo.shape[1]
        assert height <= photo.shape[0]
    else:
        assert width >= photo.shape[1]
        assert height >= photo.shape[0]


async def test_resize_modes_and_crop(env: NodeEnv, photo: NDArray[np.uint8]) -> None:
    image = file_ref(await env.upload(photo))
    fit = await env.single("image.resize", {"image": image, "width": 100, "height": 100, "mode": "fit"})
    fill = await env.single("image.resize", {"image": image, "width": 100, "height": 50, "mode": "fill"})
    one_side = await env.single("image.resize", {"image": image, "width": 96})
    cropped = await env.single("image.crop", {"image": image, "x": 10, "y": 20, "width": 50, "height": 40})
    assert (fit["image"]["width"], fit["image"]["height"]) == (100, 83)
    assert (fill["image"]["width"], fill["image"]["height"]) == (100, 50)
    assert (one_side["image"]["width"], one_side["image"]["height"]) == (96, 80)
    assert np.array_equal(await env.pixels(cropped["image"]), photo[20:60, 10:60])


async def test_crop_outside_the_image_is_refused(env: NodeEnv, photo: NDArray[np.uint8]) -> None:
    image = file_ref(await env.upload(photo))
    graph = {
        "nodes": [{"id": "c", "type": "image.crop", "inputs": {"image": image, "x": 150, "width": 100, "height": 10}}]
    }
    result = await env.run({**graph, "edges": []})
    assert result.status == "failed"
    assert result.error is not None
    assert result.error["code"] == "INVALID_INPUT"


async def test_upscale_doubles_and_refuses_beyond_the_pixel_limit(env: NodeEnv, photo: NDArray[np.uint8]) -> None:
    image = file_ref(await env.upload(photo))
    out = await env.single("image.upscale", {"image": image, "factor": 2})
    assert (await env.pixels(out["image"])).shape == (320, 384, 3)
    result = await env.run(
        {"nodes": [{"id": "u", "type": "image.upscale", "inputs": {"image": image, "factor": 4}}], "edges": []}
    )
    assert result.error is not None
    assert result.error["code"] == "IMAGE_TOO_LARGE"


async def test_remove_background_separates_the_subject(env: NodeEnv) -> None:
    shot = product_shot(160)
    out = await env.single("image.remove_background", {"image": file_ref(await env.upload(shot))})
    cut = await env.pixels(out["image"])
    assert cut.shape == (160, 160, 4)
    alpha = cut[:, :, 3]
    ys, xs = np.mgrid[0:160, 0:160]
    distance = np.hypot(xs - 80, ys - 80)
    assert alpha[distance < 30].mean() > 240  # the disc is kept
    assert alpha[distance > 50].mean() < 15  # the backdrop is gone


async def test_replace_background_puts_the_subject_on_a_studio_colour(env: NodeEnv) -> None:
    shot = product_shot(160)
    out = await env.single(
        "image.replace_background", {"image": file_ref(await env.upload(shot)), "color": "#2050c0", "shadow": 0}
    )
    placed = await env.pixels(out["image"])
    assert placed.shape == (160, 160, 3)
    assert np.abs(placed[5, 5].astype(int) - [0x20, 0x50, 0xC0]).max() <= 2
    assert np.abs(placed[80, 80].astype(int) - shot[80, 80].astype(int)).max() <= 3


async def test_composite_text_and_grid(env: NodeEnv, photo: NDArray[np.uint8]) -> None:
    base = file_ref(await env.upload(photo))
    logo = np.zeros((40, 40, 4), np.uint8)
    logo[10:30, 10:30] = (255, 255, 0, 255)
    overlay = file_ref(await env.upload(logo))
    layered = await env.single(
        "image.composite", {"base": base, "overlay": overlay, "anchor": "top_left", "x": 5, "y": 5}
    )
    mixed = await env.pixels(layered["image"])
    assert mixed.shape == photo.shape
    assert tuple(mixed[20, 20]) == (255, 255, 0)
    assert np.array_equal(mixed[100:, 100:], photo[100:, 100:])
    caption = await env.single("image.text", {"image": base, "text": "Hello pixelmill", "mode": "caption"})
    overlaid = await env.single("image.text", {"image": base, "text": "Sale", "mode": "overlay", "position": "center"})
    assert caption["image"]["width"] == 192
    assert caption["image"]["height"] > 160
    assert mean_difference(await env.pixels(overlaid["image"]), photo) > 1
    sheet = await env.single(
        "image.grid", {"images": [base, base, overlay], "cell_size": 64, "gap": 4, "labels": ["a", "b", "c"]}
    )
    assert sheet["image"]["width"] == 2 * 64 + 3 * 4


async def test_variations_make_distinct_styled_images(env: NodeEnv, photo: NDArray[np.uint8]) -> None:
    image = file_ref(await env.upload(photo))
    result = await env.run(
        {"nodes": [{"id": "v", "type": "image.variations", "inputs": {"image": image, "count": 3}}], "edges": []}
    )
    assert result.status == "completed", result.errors
    variants = result.outputs["v"].value
    assert result.outputs["v"].type == "images"
    assert result.nodes["v"].cost == 6
    assert len({v["sha256"] for v in variants}) == 3
    for variant in variants:
        assert mean_difference(await env.pixels(variant), photo) > 6


async def test_a_chain_of_nodes_passes_images_along_edges(env: NodeEnv, photo: NDArray[np.uint8]) -> None:
    file_id = await env.upload(photo)
    graph = {
        "nodes": [
            {"id": "load", "type": "image.load", "inputs": {"file_id": file_id}},
            {"id": "style", "type": "image.style", "inputs": {"style": "watercolor"}, "is_intermediate": True},
            {"id": "frame", "type": "image.reframe", "inputs": {"aspect_ratio": "1:1"}, "is_intermediate": True},
            {"id": "out", "type": "image.convert", "inputs": {"format": "jpeg", "quality": 80}},
        ],
        "edges": [
            {"source": {"node_id": "load", "field": "image"}, "destination": {"node_id": "style", "field": "image"}},
            {"source": {"node_id": "style", "field": "image"}, "destination": {"node_id": "frame", "field": "image"}},
            {"source": {"node_id": "frame", "field": "image"}, "destination": {"node_id": "out", "field": "image"}},
        ],
    }
    result = await env.run(graph)
    assert result.status == "completed", result.errors
    loaded = result.outputs["load"].value
    assert loaded["file_id"] == file_id
    assert (loaded["width"], loaded["height"]) == (192, 160)
    final = result.outputs["out"].value
    assert final["mime"] == "image/jpeg"
    assert (await env.blob(final))[:3] == b"\xff\xd8\xff"
    assert (await env.pixels(final)).shape == (160, 160, 3)


async def test_load_from_base64_and_convert_to_webp(env: NodeEnv, photo: NDArray[np.uint8]) -> None:
    data_url = "data:image/png;base64," + base64.b64encode(encode_image(photo, "png")).decode()
    loaded = await env.single("image.load", {"data": data_url})
    assert np.array_equal(await env.pixels(loaded["image"]), photo)
    webp = await env.single("image.convert", {"image": loaded["image"], "format": "webp", "quality": 70})
    assert webp["image"]["mime"] == "image/webp"
    assert (await env.blob(webp["image"]))[8:12] == b"WEBP"


async def test_load_refuses_heic_and_files_of_other_workspaces(env: NodeEnv, photo: NDArray[np.uint8]) -> None:
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
    result = await env.run(
        {"nodes": [{"id": "l", "type": "image.load", "inputs": {"data": base64.b64encode(heic).decode()}}], "edges": []}
    )
    assert result.error is not None
    assert result.error["code"] == "UNSUPPORTED_IMAGE_FORMAT"
    foreign = await env.upload(photo, workspace_id=await new_workspace(env.runtime))
    for inputs in ({"image": file_ref(foreign)}, {"image": {"sha256": "0" * 64}}):
        node = {"id": "s", "type": "image.style", "inputs": {**inputs, "style": "noir"}}
        result = await env.run({"nodes": [node], "edges": []})
        assert result.error is not None
        assert result.error["code"] == "NOT_FOUND"


class _PictureHandler(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def picture_server(photo: NDArray[np.uint8]) -> Iterator[str]:
    handler = type("Handler", (_PictureHandler,), {"body": encode_image(photo, "png")})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/photo.png"
    server.shutdown()
    server.server_close()


async def test_load_fetches_a_url_when_the_operator_allows_private_addresses(
    env: NodeEnv, photo: NDArray[np.uint8], picture_server: str
) -> None:
    loaded = await env.single("image.load", {"url": picture_server})
    assert np.array_equal(await env.pixels(loaded["image"]), photo)
