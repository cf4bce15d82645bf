"""Image nodes against the bare OpenCV/Pillow work they wrap, on a 1024x1024 photograph.

    .venv/bin/python benchmarks/image_ops.py [--repeat 5] [--only style_cartoon,resize]

For each operation, measured in the same run and interleaved (median of ``--repeat``):
- node: ``await node.run(ctx)`` with the real RunMediaStore over a migrated SQLite file and a blob
  directory: look the input file up, read and decode it, do the work in a worker thread, encode the
  PNG, hash and store it with its thumbnail, insert the File row;
- bare: the same decode (OpenCV), the same operation and the same PNG encode (OpenCV), nothing else.
The ratio node / bare is the node's overhead; the target is <= 1.15.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import cv2
import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel

import pixelmill.nodes  # noqa: F401 - registers the node types
from pixelmill.config import Settings
from pixelmill.db.migrate import upgrade
from pixelmill.db.models import Workspace
from pixelmill.engine.node import BaseNode, default_registry
from pixelmill.ids import new_id
from pixelmill.imaging.background import remove_background, replace_background
from pixelmill.imaging.compose import composite, contact_sheet, draw_text
from pixelmill.imaging.enhance import enhance
from pixelmill.imaging.geometry import reframe_crop, reframe_pad, upscale
from pixelmill.imaging.styles import apply_style
from pixelmill.providers.procedural import render
from pixelmill.runtime import Runtime
from pixelmill.services.files import FileService
from pixelmill.storage.media_store import RunMediaStore
from pixelmill.storage.pixels import pixels_of

T = TypeVar("T")
Pixels = NDArray[np.uint8]
SIZE = 1024


class BenchContext:
    """A NodeContext for one node of one run (the executor's parts a node uses, nothing more)."""

    def __init__(self, runtime: Runtime, workspace_id: str, pool: ThreadPoolExecutor) -> None:
        self.run_id = new_id("run")
        self.workspace_id = workspace_id
        self.node_id = "bench"
        self.test_mode = False
        self.settings = runtime.settings
        self.providers = runtime.providers
        self.media = RunMediaStore(
            db=runtime.db, blobs=runtime.blobs, settings=runtime.settings, workspace_id=workspace_id, run_id=self.run_id
        )
        self._pool = pool

    @property
    def cancelled(self) -> bool:
        return False

    def raise_if_cancelled(self) -> None:
        return None

    def report_progress(self, fraction: float, message: str | None = None) -> None:
        return None

    async def run_blocking(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, lambda: fn(*args, **kwargs))


def decode(data: bytes) -> Pixels:
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    code = cv2.COLOR_BGRA2RGBA if bgr.shape[2] == 4 else cv2.COLOR_BGR2RGB
    return np.ascontiguousarray(cv2.cvtColor(bgr, code))


def encode(pixels: Pixels, ext: str = ".png", params: list[int] | None = None) -> bytes:
    code = cv2.COLOR_RGBA2BGRA if pixels.shape[2] == 4 else cv2.COLOR_RGB2BGR
    ok, buffer = cv2.imencode(ext, cv2.cvtColor(pixels, code), params or [])
    assert ok
    return bytes(buffer)


def two_variants(pixels: Pixels) -> bytes:
    return b"".join(encode(apply_style(pixels, style, seed=i)) for i, style in enumerate(["cartoon", "vintage"]))


@dataclass
class Operation:
    name: str
    node_type: str
    inputs: dict[str, Any]  # besides the image
    bare: Callable[[bytes], bytes]  # input PNG bytes -> output bytes
    repeat_scale: float = 1.0  # slow operations are measured fewer times


def operations(overlay_png: bytes) -> list[Operation]:
    return [
        Operation(
            "style_cartoon", "image.style", {"style": "cartoon"}, lambda d: encode(apply_style(decode(d), "cartoon"))
        ),
        Operation(
            "style_oil_paint",
            "image.style",
            {"style": "oil_paint"},
            lambda d: encode(apply_style(decode(d), "oil_paint")),
            0.5,
        ),
        Operation(
            "style_vintage", "image.style", {"style": "vintage"}, lambda d: encode(apply_style(decode(d), "vintage"))
        ),
        Operation("enhance", "image.enhance", {}, lambda d: encode(enhance(decode(d)))),
        Operation(
            "reframe_crop",
            "image.reframe",
            {"aspect_ratio": "16:9"},
            lambda d: encode(reframe_crop(decode(d), (16, 9))),
        ),
        Operation(
            "reframe_pad",
            "image.reframe",
            {"aspect_ratio": "9:16", "mode": "pad"},
            lambda d: encode(reframe_pad(decode(d), (9, 16))),
        ),
        Operation(
            "resize",
            "image.resize",
            {"width": 512, "height": 512},
            lambda d: encode(cv2.resize(decode(d), (512, 512), interpolation=cv2.INTER_AREA)),
        ),
        Operation(
            "crop",
            "image.crop",
            {"x": 100, "y": 100, "width": 800, "height": 600},
            lambda d: encode(np.ascontiguousarray(decode(d)[100:700, 100:900])),
        ),
        Operation("upscale_2x", "image.upscale", {"factor": 2}, lambda d: encode(upscale(decode(d), 2)), 0.5),
        Operation(
            "remove_background", "image.remove_background", {}, lambda d: encode(remove_background(decode(d))), 0.5
        ),
        Operation(
            "replace_background", "image.replace_background", {}, lambda d: encode(replace_background(decode(d))), 0.5
        ),
        Operation("text", "image.text", {"text": "Summer sale"}, lambda d: encode(draw_text(decode(d), "Summer sale"))),
        Operation(
            "convert_jpeg",
            "image.convert",
            {"format": "jpeg", "quality": 90},
            lambda d: encode(decode(d), ".jpg", [cv2.IMWRITE_JPEG_QUALITY, 90]),
        ),
        Operation(
            "composite",
            "image.composite",
            {"overlay": "OVERLAY"},
            lambda d: encode(composite(decode(d), decode(overlay_png))),
        ),
        Operation(
            "grid",
            "image.grid",
            {"images": ["IMAGE", "IMAGE", "IMAGE", "IMAGE"]},
            lambda d: encode(contact_sheet([decode(d)] * 4)),
        ),
        Operation(
            "variations_x2",
            "image.variations",
            {"count": 2, "styles": ["cartoon", "vintage"], "strength": 1.0},
            lambda d: two_variants(decode(d)),
            0.5,
        ),
        Operation(
            "generate",
            "image.generate",
            {"prompt": "mountain lake at sunset", "size": f"{SIZE}x{SIZE}"},
            lambda _d: encode(pixels_of(render("mountain lake at sunset", SIZE, SIZE, 0))),
        ),
    ]


def build_node(op: Operation, file_id: str, overlay_id: str) -> BaseNode:
    cls = default_registry.get(op.node_type)
    assert cls is not None
    image = {"file_id": file_id}
    inputs: dict[str, Any] = {}
    for key, value in op.inputs.items():
        if value == "OVERLAY":
            value = {"file_id": overlay_id}
        elif isinstance(value, list) and value and value[0] == "IMAGE":
            value = [image] * len(value)
        inputs[key] = value
    if op.node_type == "image.composite":
        inputs["base"] = image
    elif op.node_type not in ("image.grid", "image.generate"):
        inputs["image"] = image
    return cls.model_validate(inputs)


async def measure(
    op: Operation,
    runtime: Runtime,
    workspace_id: str,
    file_id: str,
    overlay_id: str,
    source: bytes,
    repeat: int,
    pool: ThreadPoolExecutor,
) -> tuple[float, float]:
    node = build_node(op, file_id, overlay_id)
    node_times: list[float] = []
    bare_times: list[float] = []
    rounds = max(2, round(repeat * op.repeat_scale))
    for index in range(rounds + 1):  # the first round warms caches and is dropped
        started = time.perf_counter()
        result: BaseModel = await node.run(BenchContext(runtime, workspace_id, pool))
        node_elapsed = time.perf_counter() - started
        started = time.perf_counter()
        await asyncio.get_running_loop().run_in_executor(pool, op.bare, source)
        bare_elapsed = time.perf_counter() - started
        assert result is not None
        if index:
            node_times.append(node_elapsed)
            bare_times.append(bare_elapsed)
    return statistics.median(node_times) * 1000, statistics.median(bare_times) * 1000


async def main(repeat: int, only: set[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="pixelmill-bench-") as directory:
        data_dir = Path(directory)
        database_url = f"sqlite+aiosqlite:///{data_dir / 'bench.db'}"
        upgrade(database_url)
        settings = Settings(data_dir=data_dir, database_url=database_url, secret_key="b" * 48, log_format="text")  # type: ignore[arg-type]
        runtime = Runtime.create(settings)
        try:
            from skimage import data as samples

            photo = np.ascontiguousarray(cv2.resize(samples.astronaut(), (SIZE, SIZE), interpolation=cv2.INTER_CUBIC))
            source = encode(photo)
            overlay = np.dstack([cv2.resize(samples.coffee(), (300, 200)), np.full((200, 300), 200, np.uint8)])
            workspace_id = new_id("ws")
            async with runtime.db.session() as session:
                session.add(Workspace(id=workspace_id, name="bench", kind="team", plan="pro"))
            async with runtime.db.session() as session:
                files = FileService(session, runtime.blobs, settings)
                file_id = (await files.create(workspace_id, source)).id
                overlay_id = (await files.create(workspace_id, encode(overlay))).id
            print(f"input: {SIZE}x{SIZE} PNG photo ({len(source) / 1e6:.2f} MB), outputs PNG unless noted")
            print(f"{'operation':20s} {'node ms':>9s} {'bare ms':>9s} {'ratio':>6s}")
            worst = 0.0
            with ThreadPoolExecutor(max_workers=4) as pool:
                for op in operations(encode(overlay)):
                    if only and op.name not in only:
                        continue
                    node_ms, bare_ms = await measure(
                        op, runtime, workspace_id, file_id, overlay_id, source, repeat, pool
                    )
                    ratio = node_ms / bare_ms
                    worst = max(worst, ratio)
                    print(f"{op.name:20s} {node_ms:9.1f} {bare_ms:9.1f} {ratio:6.2f}")
            print(f"worst ratio: {worst:.2f} (target <= 1.15)")
        finally:
            await runtime.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", default="", help="comma-separated operation names")
    args = parser.parse_args()
    asyncio.run(main(args.repeat, {name for name in args.only.split(",") if name}))
