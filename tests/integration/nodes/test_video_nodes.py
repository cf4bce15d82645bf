"""Video nodes through the executor and the real MediaStore; every output decoded with PyAV."""

from __future__ import annotations

import io
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import av
import pytest
from PIL import Image
from sqlalchemy import func, select

from pixelmill.db.models import File
from pixelmill.engine.cancellation import CancelToken
from pixelmill.engine.events import NodeEvent
from pixelmill.engine.validation import GraphValidationError
from pixelmill.runtime import Runtime
from tests.support.media_nodes import MediaEnv, one_node, open_media_env

RED, BLUE = (230, 30, 30), (30, 30, 230)


@pytest.fixture
async def media(runtime: Runtime) -> AsyncIterator[MediaEnv]:
    async with open_media_env(runtime) as env:
        yield env


def decoded(data: bytes) -> dict[str, Any]:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        frames = [frame.to_image() for frame in container.decode(stream)]
        return {
            "codec": stream.codec_context.name,
            "pix_fmt": stream.codec_context.pix_fmt,
            "size": (stream.codec_context.width, stream.codec_context.height),
            "fps": float(stream.average_rate),
            "duration": float(stream.duration * stream.time_base),
            "frames": frames,
        }


def moov_before_mdat(data: bytes) -> bool:
    boxes, offset = [], 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        boxes.append(data[offset + 4 : offset + 8])
        offset += max(size, 8)
    return boxes.index(b"moov") < boxes.index(b"mdat")


def near(pixel: Any, colour: tuple[int, int, int], tolerance: int = 30) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=False))


def scene() -> Image.Image:
    picture = Image.new("RGB", (800, 600), BLUE)
    picture.paste(RED, (300, 200, 500, 400))
    return picture


@pytest.mark.anyio
async def test_from_image_makes_a_fast_start_h264_mp4_with_exact_timing(media: MediaEnv) -> None:
    image = await media.upload(scene())
    graph = one_node("video.from_image", image=image, duration_seconds=1.5, fps=12, resolution="360p")
    result = await media.run(graph)
    assert result.status == "completed", result.errors
    output = result.outputs["n"]
    assert (output.type, result.total_cost) == ("video", 15)
    data = await media.blob(output.value)
    video = decoded(data)
    assert (video["codec"], video["pix_fmt"], video["size"], video["fps"]) == ("h264", "yuv420p", (640, 360), 12.0)
    assert len(video["frames"]) == 18
    assert video["duration"] == pytest.approx(1.5)
    assert moov_before_mdat(data)
    record = await media.file(output.value)
    assert (record.mime, record.width, record.height) == ("video/mp4", 640, 360)
    assert record.duration_seconds == pytest.approx(1.5, abs=0.05)
    assert output.value["duration_seconds"] == pytest.approx(1.5, abs=0.05)


@pytest.mark.anyio
async def test_video_output_gets_a_poster_thumbnail(media: MediaEnv) -> None:
    image = await media.upload(scene())
    result = await media.run(one_node("video.from_image", image=image, duration_seconds=1, fps=8, resolution="360p"))
    assert result.status == "completed", result.errors
    record = await media.file(result.outputs["n"].value)
    assert record.thumbnail_sha256 is not None
    poster = Image.open(io.BytesIO(await media.blob({"sha256": record.thumbnail_sha256})))
    assert max(poster.size) <= 256
    assert poster.size[0] > poster.size[1]  # the 16:9 frame, not a square placeholder


@pytest.mark.anyio
async def test_zoom_in_ends_close_on_the_focus(media: MediaEnv) -> None:
    image = await media.upload(scene())
    graph = one_node(
        "video.from_image", image=image, duration_seconds=1, fps=6, resolution="360p", aspect_ratio="1:1", zoom=3.0
    )
    result = await media.run(graph)
    frames = decoded(await media.blob(result.outputs["n"].value))["frames"]
    assert frames[0].size == (360, 360)
    assert near(frames[0].getpixel((10, 10)), BLUE)
    assert near(frames[-1].getpixel((10, 10)), RED)  # the red square fills the frame at 3x


@pytest.mark.anyio
async def test_frame_node_extracts_the_last_frame_of_a_video_as_png(media: MediaEnv) -> None:
    image = await media.upload(scene())
    graph = {
        "nodes": [
            {
                "id": "clip",
                "type": "video.from_image",
                "inputs": {"image": image, "duration_seconds": 1, "fps": 8, "resolution": "360p", "zoom": 3.0},
            },
            {"id": "still", "type": "video.frame", "inputs": {"time": "last"}},
        ],
        "edges": [
            {"source": {"node_id": "clip", "field": "video"}, "destination": {"node_id": "still", "field": "video"}}
        ],
    }
    result = await media.run(graph)
    assert result.status == "completed", result.errors
    still = result.outputs["still"]
    assert (still.type, still.value["mime"], still.value["width"], still.value["height"]) == (
        "image",
        "image/png",
        640,
        360,
    )
    with Image.open(io.BytesIO(await media.blob(still.value))) as picture:
        assert picture.format == "PNG"
        assert near(picture.convert("RGB").getpixel((320, 180)), RED)


@pytest.mark.anyio
async def test_frame_after_the_end_fails_naming_the_time_field(media: MediaEnv) -> None:
    image = await media.upload(scene())
    clip = await media.run(one_node("video.from_image", image=image, duration_seconds=1, fps=5, resolution="360p"))
    video = clip.outputs["n"].value
    result = await media.run(one_node("video.frame", video={"file_id": video["file_id"]}, time=5))
    assert result.status == "failed"
    assert result.error is not None
    assert (result.error["code"], result.error["field"]) == ("INVALID_INPUT", "time")


@pytest.mark.anyio
async def test_slideshow_crossfades_images_for_the_computed_length(media: MediaEnv) -> None:
    red = await media.upload(Image.new("RGB", (320, 180), RED))
    blue = await media.upload(Image.new("RGB", (320, 180), BLUE))
    graph = one_node(
        "video.slideshow",
        images=[red, blue],
        seconds_per_image=1.0,
        transition_seconds=0.5,
        fps=10,
        resolution="360p",
        motion=False,
    )
    result = await media.run(graph)
    assert result.status == "completed", result.errors
    video = decoded(await media.blob(result.outputs["n"].value))
    assert len(video["frames"]) == 15
    assert video["duration"] == pytest.approx(1.5)
    centre = (320, 180)
    assert near(video["frames"][1].getpixel(centre), RED)
    middle = video["frames"][7].getpixel(centre)  # 0.7 s: 40% into the fade
    assert 60 < middle[0] < 200
    assert 60 < middle[2] < 200
    assert near(video["frames"][-1].getpixel(centre), BLUE)


@pytest.mark.anyio
async def test_concat_joins_clips_of_different_sizes_and_rates(media: MediaEnv) -> None:
    image = await media.upload(scene())
    wide = await media.run(one_node("video.from_image", image=image, duration_seconds=1, fps=10, resolution="360p"))
    square = await media.run(
        one_node("video.from_image", image=image, duration_seconds=0.5, fps=20, resolution="480p", aspect_ratio="1:1")
    )
    clips = [{"file_id": wide.outputs["n"].value["file_id"]}, {"file_id": square.outputs["n"].value["file_id"]}]
    result = await media.run(one_node("video.concat", videos=clips))
    assert result.status == "completed", result.errors
    video = decoded(await media.blob(result.outputs["n"].value))
    assert (video["size"], video["fps"]) == ((640, 360), 10.0)  # the first clip's
    assert len(video["frames"]) == 15
    assert video["duration"] == pytest.approx(1.5)
    letterboxed = video["frames"][-1]
    assert near(letterboxed.getpixel((20, 180)), (0, 0, 0), 12)  # the square clip sits between black bars


@pytest.mark.anyio
async def test_cancel_stops_encoding_between_chunks_and_stores_nothing(media: MediaEnv) -> None:
    image = await media.upload(scene())
    token = CancelToken()

    async def cancel_on_progress(event: NodeEvent) -> None:
        if event.kind == "node_progress":
            token.cancel()

    graph = one_node("video.from_image", image=image, duration_seconds=60, fps=30, resolution="360p")
    started = time.monotonic()
    result = await media.run(graph, cancel=token, listener=cancel_on_progress)
    assert result.status == "cancelled"
    assert time.monotonic() - started < 10  # 1,800 frames would take far longer
    async with media.runtime.db.session() as session:
        videos = await session.scalar(select(func.count()).select_from(File).where(File.mime == "video/mp4"))
    assert videos == 0


@pytest.mark.anyio
async def test_missing_pyav_fails_the_run_with_dependency_missing(
    media: MediaEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = await media.upload(scene())
    monkeypatch.setitem(sys.modules, "av", None)  # a host installed without the media extra
    result = await media.run(one_node("video.from_image", image=image, duration_seconds=1, resolution="360p"))
    assert result.status == "failed"
    assert result.error is not None
    assert (result.error["code"], result.error["dependency"]) == ("DEPENDENCY_MISSING", "av")
    assert "pip install 'pixelmill[media]'" in result.error["message"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("node_type", "inputs", "field"),
    [
        ("video.from_image", {"resolution": "4k"}, "resolution"),
        ("video.from_image", {"duration_seconds": 0}, "duration_seconds"),
        ("video.from_image", {"fps": 240}, "fps"),
        ("video.from_image", {"zoom": 0.5}, "zoom"),
        ("video.slideshow", {"seconds_per_image": 1.0, "transition_seconds": 1.0}, "transition_seconds"),
        ("video.frame", {"time": "middle"}, "time"),
        ("video.concat", {"videos": [{"file_id": "file_x"}]}, "videos"),
    ],
)
async def test_invalid_parameters_are_refused_before_the_run_naming_the_field(
    media: MediaEnv, node_type: str, inputs: dict[str, Any], field: str
) -> None:
    image = await media.upload(Image.new("RGB", (16, 16)))
    required: dict[str, Any] = {
        "video.from_image": {"image": image},
        "video.slideshow": {"images": [image]},
        "video.frame": {"video": {"file_id": "file_x"}},
        "video.concat": {},
    }[node_type]
    with pytest.raises(GraphValidationError) as caught:
        await media.run(one_node(node_type, **{**required, **inputs}))
    assert caught.value.status == 422
    assert (caught.value.code, caught.value.extra["field"]) == ("INVALID_INPUT", field)
