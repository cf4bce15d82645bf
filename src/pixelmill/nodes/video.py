"""Video nodes: a still brought to life (Ken Burns), a crossfaded slideshow, joining clips, taking a frame.

All output is H.264 in MP4 (yuv420p, index first so browsers start playing at once), encoded with
PyAV on the CPU. Frames are made and encoded a chunk at a time in the worker pool; between chunks
the node reports progress and stops promptly if the run was cancelled, and no more than a couple of
frames are ever held in memory.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Annotated, ClassVar, Literal

from PIL import Image
from pydantic import BaseModel, Field, ValidationInfo, field_validator

from pixelmill import errors
from pixelmill.engine.context import NodeContext
from pixelmill.engine.node import BaseNode, node
from pixelmill.engine.values import ImageRef, VideoRef
from pixelmill.errors import PixelmillError
from pixelmill.nodes.image_memory import BYTES_PER_PIXEL, VIDEO_BASE_MEMORY
from pixelmill.providers.local_media import MAX_SLIDES, MAX_VIDEO_SECONDS
from pixelmill.providers.video_encode import (
    FrameTimeError,
    Mp4Writer,
    VideoDecodeError,
    VideoProbe,
    extract_frame,
    probe_video,
    resampled_frames,
)
from pixelmill.providers.video_motion import (
    SHORT_SIDE,
    AspectRatio,
    Easing,
    Fit,
    KenBurns,
    Motion,
    Resolution,
    Slideshow,
    even_size,
    frame_size,
)

# Frames encoded per trip to the worker pool: progress and cancellation are checked between trips.
CHUNK_FRAMES = 12
MAX_SLIDESHOW_SECONDS = 300.0
MAX_CONCAT_SECONDS = 600.0
MAX_CLIPS = 20


class VideoOutput(BaseModel):
    video: VideoRef = Field(description="The H.264 MP4")


class FrameOutput(BaseModel):
    image: ImageRef = Field(description="The frame as a PNG")


async def encode_frames(
    ctx: NodeContext, frames: Iterator[Image.Image], *, total: int, size: tuple[int, int], fps: int
) -> VideoRef:
    """Encode ``frames`` (about ``total`` of them) into a stored MP4, chunk by chunk."""
    writer = await ctx.run_blocking(Mp4Writer, size, fps)
    try:
        done = 0
        while True:
            ctx.raise_if_cancelled()
            wrote = await ctx.run_blocking(writer.write_from, frames, CHUNK_FRAMES)
            done += wrote
            ctx.report_progress(min(0.95, done / max(1, total)), "encoding")
            if wrote < CHUNK_FRAMES:
                break
        data = await ctx.run_blocking(writer.finish)
    finally:
        # After finish() this is a no-op; after a cancel or failure it frees the encoder and temp file.
        writer.close()
    if done == 0:
        raise PixelmillError(errors.NODE_FAILED, "No frames were produced", node_id=ctx.node_id)
    video = await ctx.media.save_video(data, mime="video/mp4")
    ctx.report_progress(1.0)
    return video


def _decode_problem(ctx: NodeContext, field: str, exc: VideoDecodeError) -> PixelmillError:
    return PixelmillError(errors.INVALID_INPUT, str(exc), field=field, node_id=ctx.node_id)


@node("video.from_image", version="1.0.0", category="video")
class VideoFromImage(BaseNode):
    """Turn a still image into a video with a slow camera move (Ken Burns): zoom in or out, or pan
    across it, with easing. H.264 MP4 at the chosen resolution, aspect ratio and frame rate."""

    edits_pixels: ClassVar[bool] = True
    base_memory: ClassVar[int] = VIDEO_BASE_MEMORY
    bytes_per_pixel: ClassVar[float] = BYTES_PER_PIXEL["video.from_image"]

    image: ImageRef = Field(description="The picture to animate")
    duration_seconds: float = Field(default=5.0, gt=0, le=MAX_VIDEO_SECONDS, description="Length of the video")
    fps: int = Field(default=24, ge=1, le=60, description="Frames per second")
    resolution: Resolution = Field(default="720p", description="Short side of the frame: 360p … 1080p")
    aspect_ratio: AspectRatio = Field(default="16:9", description="Frame shape; the image is cropped to fill it")
    motion: Motion = Field(default="zoom_in", description="Where the camera goes")
    zoom: float = Field(default=1.25, ge=1.0, le=3.0, description="Magnification of the closest shot")
    easing: Easing = Field(default="ease_in_out", description="How the motion starts and stops")
    focus_x: float = Field(default=0.5, ge=0, le=1, description="Horizontal point to zoom towards (0 left, 1 right)")
    focus_y: float = Field(default=0.5, ge=0, le=1, description="Vertical point to zoom towards (0 top, 1 bottom)")

    base_cost: ClassVar[int] = 15

    async def run(self, ctx: NodeContext) -> VideoOutput:
        picture = await ctx.media.load_image(self.image)
        size = frame_size(self.resolution, self.aspect_ratio)
        camera = await ctx.run_blocking(
            KenBurns,
            picture,
            out_size=size,
            duration_seconds=self.duration_seconds,
            fps=self.fps,
            motion=self.motion,
            zoom=self.zoom,
            easing=self.easing,
            focus=(self.focus_x, self.focus_y),
        )
        video = await encode_frames(ctx, iter(camera), total=camera.frame_count, size=size, fps=self.fps)
        return VideoOutput(video=video)


@node("video.slideshow", version="1.0.0", category="video")
class VideoSlideshow(BaseNode):
    """Make a video of several images shown one after another with crossfades, optionally drifting
    slowly. It lasts images x seconds_per_image - (images - 1) x transition_seconds."""

    edits_pixels: ClassVar[bool] = True
    base_memory: ClassVar[int] = VIDEO_BASE_MEMORY
    bytes_per_pixel: ClassVar[float] = BYTES_PER_PIXEL["video.from_image"]

    images: list[ImageRef] = Field(min_length=1, max_length=MAX_SLIDES, description="The pictures, in order")
    seconds_per_image: float = Field(default=3.0, ge=0.25, le=30, description="How long each image is on screen")
    transition_seconds: float = Field(default=0.75, ge=0, le=5, description="Crossfade length between images")
    fps: int = Field(default=24, ge=1, le=60, description="Frames per second")
    resolution: Resolution = Field(default="720p", description="Short side of the frame: 360p … 1080p")
    aspect_ratio: AspectRatio = Field(default="16:9", description="Frame shape")
    fit: Fit = Field(default="cover", description="cover crops each image to fill the frame; contain letterboxes")
    motion: bool = Field(default=True, description="Drift each image slowly in or out")

    base_cost: ClassVar[int] = 15

    @field_validator("transition_seconds")
    @classmethod
    def _shorter_than_slide(cls, value: float, info: ValidationInfo) -> float:
        hold = info.data.get("seconds_per_image")
        if hold is not None and value >= hold:
            raise ValueError("must be shorter than seconds_per_image")
        return value

    async def run(self, ctx: NodeContext) -> VideoOutput:
        total_seconds = len(self.images) * self.seconds_per_image - (len(self.images) - 1) * self.transition_seconds
        if total_seconds > MAX_SLIDESHOW_SECONDS:
            raise PixelmillError(
                errors.INVALID_INPUT,
                f"The slideshow would last {total_seconds:.0f} s; at most {MAX_SLIDESHOW_SECONDS:.0f} s",
                field="seconds_per_image",
                node_id=ctx.node_id,
            )
        pictures = [await ctx.media.load_image(ref) for ref in self.images]
        size = frame_size(self.resolution, self.aspect_ratio)
        show = Slideshow(
            pictures,
            out_size=size,
            fps=self.fps,
            seconds_per_image=self.seconds_per_image,
            transition_seconds=self.transition_seconds,
            fit=self.fit,
            motion=self.motion,
        )
        video = await encode_frames(ctx, iter(show), total=show.frame_count, size=size, fps=self.fps)
        return VideoOutput(video=video)


FrameTime = Annotated[float, Field(ge=0)] | Literal["last"]


@node("video.frame", version="1.0.0", category="video")
class VideoFrame(BaseNode):
    """Take one frame of a video as a PNG image: the frame on screen at a time in seconds, or the last."""

    video: VideoRef = Field(description="The video")
    time: FrameTime = Field(default=0.0, description='Seconds from the start, or "last"')

    base_cost: ClassVar[int] = 1

    async def run(self, ctx: NodeContext) -> FrameOutput:
        data = await ctx.media.load_bytes(self.video)
        try:
            picture = await ctx.run_blocking(extract_frame, data, self.time)
        except FrameTimeError as exc:
            raise _decode_problem(ctx, "time", exc) from exc
        except VideoDecodeError as exc:
            raise _decode_problem(ctx, "video", exc) from exc
        return FrameOutput(image=await ctx.media.save_image(picture, format="png"))


ConcatSize = Literal["first", "360p", "480p", "720p", "1080p"]


def concat_size(first: VideoProbe, resolution: ConcatSize) -> tuple[int, int]:
    """The output frame: the first clip's size, or a named short side with the first clip's shape."""
    if resolution == "first":
        return even_size(first.width, first.height)
    scale = SHORT_SIDE[resolution] / min(first.width, first.height)
    return 2 * round(first.width * scale / 2), 2 * round(first.height * scale / 2)


@node("video.concat", version="1.0.0", category="video")
class VideoConcat(BaseNode):
    """Join videos end to end into one MP4. Clips of another size are scaled to fit (letterboxed or
    cropped) and other frame rates are converted; sound tracks are not carried over."""

    videos: list[VideoRef] = Field(min_length=2, max_length=MAX_CLIPS, description="The clips, in order")
    resolution: ConcatSize = Field(default="first", description='Output size; "first" keeps the first clip\'s')
    fps: int | None = Field(default=None, ge=1, le=60, description="Frames per second; default the first clip's")
    fit: Fit = Field(default="contain", description="contain letterboxes other shapes; cover crops them")

    base_cost: ClassVar[int] = 5

    async def run(self, ctx: NodeContext) -> VideoOutput:
        clips = [await ctx.media.load_bytes(ref) for ref in self.videos]
        probes: list[VideoProbe] = []
        for index, data in enumerate(clips):
            try:
                probes.append(await ctx.run_blocking(probe_video, data))
            except VideoDecodeError as exc:
                raise _decode_problem(ctx, f"videos.{index}", exc) from exc
        total_seconds = sum(probe.duration_seconds for probe in probes)
        if total_seconds > MAX_CONCAT_SECONDS:
            raise PixelmillError(
                errors.INVALID_INPUT,
                f"The clips last {total_seconds:.0f} s together; at most {MAX_CONCAT_SECONDS:.0f} s",
                field="videos",
                node_id=ctx.node_id,
            )
        fps = self.fps or max(1, min(60, round(probes[0].fps or 24)))
        size = concat_size(probes[0], self.resolution)
        frames = itertools.chain.from_iterable(resampled_frames(data, fps, size, self.fit) for data in clips)
        video = await encode_frames(ctx, frames, total=round(total_seconds * fps), size=size, fps=fps)
        return VideoOutput(video=video)
