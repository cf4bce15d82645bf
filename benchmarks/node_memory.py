"""Peak working memory of image and video nodes per input pixel: where ``bytes_per_pixel`` comes from.

    .venv/bin/python benchmarks/node_memory.py [--megapixels 1 2 4] [--only image.style:oil_paint]

Each measurement is a fresh process (Linux): a migrated SQLite file and a blob directory, the real
GraphExecutor and RunMediaStore, one stored photograph of the given size (a PNG made by the parent
process and recorded as a file without decoding it here, so no freed decode buffers lie around for
the node to reuse unseen). Then the process collects garbage, returns freed heap to the system
(``malloc_trim``), reads its resident set (VmRSS), and resets its peak (``/proc/self/clear_refs``,
5); then it executes a one-node graph and reads the peak (VmHWM). The peak minus the resident set
before is the node's working set: the decode, the work, the PNG encode, the thumbnail, the stored
output, the pool threads' arenas.

Printed per node: the working set at each size, and a least-squares line through them,
``fixed + per_pixel x pixels`` where ``pixels`` counts every input image (two for a composite or a
grid of two); ``per_pixel`` is the node's ``bytes_per_pixel`` (rounded up) and ``fixed`` its
``base_memory``.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import gc
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

# label -> (node type, inputs besides the image input, the image input's name, it takes a list)
NODES: dict[str, tuple[str, dict[str, Any], str, bool]] = {
    "image.style:oil_paint": ("image.style", {"style": "oil_paint"}, "image", False),
    "image.style:watercolor": ("image.style", {"style": "watercolor"}, "image", False),
    "image.style:cartoon": ("image.style", {"style": "cartoon"}, "image", False),
    "image.style:anime": ("image.style", {"style": "anime"}, "image", False),
    "image.style:soft_3d": ("image.style", {"style": "soft_3d"}, "image", False),
    "image.style:sketch": ("image.style", {"style": "sketch"}, "image", False),
    "image.style:pixel_art": ("image.style", {"style": "pixel_art"}, "image", False),
    "image.style:vintage": ("image.style", {"style": "vintage"}, "image", False),
    "image.style:duotone": ("image.style", {"style": "duotone"}, "image", False),
    "image.style:noir": ("image.style", {"style": "noir"}, "image", False),
    "image.enhance": ("image.enhance", {"denoise": 0.0}, "image", False),
    "image.upscale:2": ("image.upscale", {"factor": 2}, "image", False),
    "image.variations:2": ("image.variations", {"count": 2, "styles": ["oil_paint", "watercolor"]}, "image", False),
    "image.resize": ("image.resize", {"width": 512, "height": 512}, "image", False),
    "image.crop": ("image.crop", {"x": 0, "y": 0, "width": 256, "height": 256}, "image", False),
    "image.reframe": ("image.reframe", {"aspect_ratio": "16:9"}, "image", False),
    "image.convert:jpeg": ("image.convert", {"format": "jpeg"}, "image", False),
    "image.remove_background": ("image.remove_background", {}, "image", False),
    "image.replace_background": ("image.replace_background", {}, "image", False),
    "image.text": ("image.text", {"text": "Summer sale"}, "image", False),
    "image.composite": ("image.composite", {"overlay": "IMAGE"}, "base", False),
    "image.grid:2": ("image.grid", {}, "images", True),
    "video.from_image": ("video.from_image", {"duration_seconds": 1.0, "fps": 12}, "image", False),
}


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} is not in /proc/self/status")


def _settle() -> int:
    """Collect garbage, hand freed heap back, reset the peak; the resident set in bytes."""
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    resident = _status_kib("VmRSS") * 1024
    Path("/proc/self/clear_refs").write_text("5")
    return resident


def photo_png(megapixels: float, directory: Path) -> Path:
    """A real photograph (scikit-image's astronaut) at about ``megapixels``, 4:3, as a PNG file."""
    import cv2
    from skimage import data

    width = round((megapixels * 1e6 * 4 / 3) ** 0.5)
    path = directory / f"photo-{megapixels}.png"
    if not path.exists():
        photo = cv2.resize(np.asarray(data.astronaut()), (width, round(width * 3 / 4)))
        path.write_bytes(cv2.imencode(".png", cv2.cvtColor(photo, cv2.COLOR_RGB2BGR))[1].tobytes())
    return path


async def measure_one(label: str, png: Path, directory: Path) -> dict[str, Any]:
    from PIL import Image

    import pixelmill.nodes  # noqa: F401 - registers the node types
    from pixelmill.config import Settings
    from pixelmill.db.migrate import upgrade
    from pixelmill.db.models import File, Run, Workspace
    from pixelmill.engine.executor import GraphExecutor
    from pixelmill.engine.node import default_registry
    from pixelmill.engine.results_sql import SqlResultStore
    from pixelmill.engine.run_context import RunScope
    from pixelmill.engine.validation import validate_graph
    from pixelmill.ids import new_id
    from pixelmill.runtime import Runtime
    from pixelmill.storage.media_store import RunMediaStore, store_blob

    node_type, inputs, image_field, as_list = NODES[label]
    url = f"sqlite+aiosqlite:///{directory / 'bench.db'}"
    upgrade(url)
    huge = 1 << 40
    settings = Settings(
        data_dir=directory / "data",
        database_url=url,
        max_image_pixels=1 << 31,
        max_edit_pixels=1 << 31,
        memory_budget_bytes=huge,
        max_upload_bytes=1 << 31,
    )
    runtime = Runtime.create(settings)
    with Image.open(png) as header:
        width, height = header.size
    blob = await store_blob(runtime.blobs, await asyncio.to_thread(png.read_bytes))
    workspace_id, file_id = new_id("ws"), new_id("file")
    async with runtime.db.session() as session:
        session.add(Workspace(id=workspace_id, name="bench", kind="team", plan="pro"))
    async with runtime.db.session() as session:
        session.add(
            File(
                id=file_id,
                workspace_id=workspace_id,
                sha256=blob.sha256,
                mime="image/png",
                size=blob.size,
                width=width,
                height=height,
            )
        )
    image = {"file_id": file_id}
    node_inputs = {key: (image if value == "IMAGE" else value) for key, value in inputs.items()}
    node_inputs[image_field] = [image, image] if as_list else image
    graph = {"nodes": [{"id": "n", "type": node_type, "inputs": node_inputs, "use_cache": False}], "edges": []}
    run_id = new_id("run")
    async with runtime.db.session() as session:
        session.add(Run(id=run_id, workspace_id=workspace_id, status="running", graph=graph))
    validated = validate_graph(graph, default_registry, settings)

    def media(scope: RunScope) -> RunMediaStore:
        return RunMediaStore(
            db=runtime.db, blobs=runtime.blobs, settings=settings, workspace_id=scope.workspace_id, run_id=scope.run_id
        )

    executor = GraphExecutor(settings=settings, store=SqlResultStore(runtime.db), media_factory=media)
    before = _settle()
    result = await executor.execute(validated, RunScope(run_id, workspace_id))
    peak = _status_kib("VmHWM") * 1024
    assert result.status == "completed", result.errors
    executor.close()
    await runtime.close()
    images = (2 if as_list else 1) + sum(1 for value in inputs.values() if value == "IMAGE")
    return {"node": label, "pixels": images * width * height, "working_set": peak - before}


def fit(points: list[tuple[int, int]]) -> tuple[float, float]:
    """Least squares ``bytes = fixed + per_pixel x pixels``."""
    pixels = np.array([p for p, _ in points], dtype=np.float64)
    used = np.array([b for _, b in points], dtype=np.float64)
    per_pixel, fixed = np.polyfit(pixels, used, 1)
    return float(fixed), float(per_pixel)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megapixels", type=float, nargs="+", default=[1.0, 2.0, 4.0])
    parser.add_argument("--only", nargs="*", default=None, help="node labels (see NODES)")
    parser.add_argument("--one", nargs=2, metavar=("LABEL", "PNG"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        with tempfile.TemporaryDirectory() as directory:
            print(json.dumps(asyncio.run(measure_one(args.one[0], Path(args.one[1]), Path(directory)))))
        return
    print(f"{'node':28} " + " ".join(f"{mp:>7.1f} Mpx" for mp in args.megapixels) + "   fixed MiB  bytes/pixel")
    with tempfile.TemporaryDirectory() as photos:
        for label in args.only or list(NODES):
            points: list[tuple[int, int]] = []
            for megapixels in args.megapixels:
                png = photo_png(megapixels, Path(photos))
                out = subprocess.run(
                    [sys.executable, __file__, "--one", label, str(png)],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                row = json.loads(out.strip().splitlines()[-1])
                points.append((row["pixels"], row["working_set"]))
            fixed, per_pixel = fit(points)
            sizes = " ".join(f"{used / 2**20:7.0f} MiB" for _, used in points)
            print(f"{label:28} {sizes}   {fixed / 2**20:9.1f}  {per_pixel:11.1f}", flush=True)


if __name__ == "__main__":
    main()
