"""H.264 MP4 writing and reading with PyAV: a streaming writer, a probe, frame extraction, resampling.

The writer takes frames one at a time and hands them straight to libx264, so memory stays flat
however long the video. MP4s are written "fast start" (the ``moov`` index before the ``mdat``
payload) so a browser can play them while they download; FFmpeg's mp4 muxer does that by rewriting
the finished file, which needs a real file, hence the temporary directory.
"""

from __future__ import annotations

import contextlib
import io
import math
import queue
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from PIL import Image

from pixelmill.providers.media_deps import require_av
from pixelmill.providers.video_motion import Fit, fit_image

_PIPELINE_DEPTH = 4
_END = object()  # marks the end of the frames a producer thread hands over

# Decoding bigger frames than 4K is refused: they cost memory for every frame and no output needs them.
MAX_INPUT_PIXELS = 3840 * 2160


class VideoDecodeError(ValueError):
    """The bytes are not a video this build can decode (or the video is too large)."""


class FrameTimeError(VideoDecodeError):
    """The video has no frame at the time asked for (it is shorter)."""


@dataclass(frozen=True, slots=True)
class VideoProbe:
    """What a stored video is: its size, timing, codec and a poster picture for thumbnails."""

    width: int
    height: int
    duration_seconds: float
    fps: float
    frame_count: int
    codec: str
    poster: Image.Image


class Mp4Writer:
    """Encode RGB frames to an H.264 (yuv420p) MP4 with the index first; use as a context manager.

    Calls may come from different worker threads one after another; a lock makes ``close`` (from a
    cancelled run) wait for a chunk still being encoded instead of tearing the encoder down under it.
    """

    def __init__(self, size: tuple[int, int], fps: int, *, crf: int = 20, preset: str = "veryfast") -> None:
        av = require_av()
        if size[0] % 2 or size[1] % 2:
            raise ValueError(f"H.264 in yuv420p needs even sides, got {size[0]}x{size[1]}")
        self.size = size
        self.fps = fps
        self.frames_written = 0
        self._lock = threading.Lock()
        self._closed = False
        self._time_base = Fraction(1, fps)
        self._workdir = tempfile.TemporaryDirectory(prefix="pixelmill-video-")
        self._path = Path(self._workdir.name) / "out.mp4"
        self._container: Any = av.open(str(self._path), mode="w", format="mp4", options={"movflags": "+faststart"})
        stream = self._container.add_stream("libx264", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = self._time_base
        stream.options = {"crf": str(crf), "preset": preset}
        # BT.709 in limited range, said in the stream: players assume it for HD anyway, and tagging
        # it keeps colours right at every size instead of drifting where a player would guess BT.601.
        context = stream.codec_context
        context.colorspace, context.color_primaries, context.color_trc, context.color_range = 1, 1, 1, 1
        self._stream: Any = stream
        self._frame_type: Any = av.VideoFrame

    def write(self, image: Image.Image) -> None:
        """Encode one frame; frames of another size are scaled to the video's size."""
        with self._lock:
            self._encode(self._prepare(image))

    def _prepare(self, image: Image.Image) -> Any:
        """The picture as a yuv420p frame of the video's size (no writer state: any thread may call it)."""
        if image.mode != "RGB":
            image = image.convert("RGB")
        if image.size != self.size:
            image = image.resize(self.size, Image.Resampling.BICUBIC)
        return self._frame_type.from_image(image).reformat(
            format="yuv420p", dst_colorspace="ITU709", dst_color_range="MPEG", dst_color_trc=1, dst_color_primaries=1
        )

    def _encode(self, frame: Any) -> None:
        if self._closed:
            raise ValueError("the video was already finished or closed")
        frame.pts = self.frames_written
        frame.time_base = self._time_base
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.frames_written += 1

    def write_from(self, frames: Iterator[Image.Image], limit: int) -> int:
        """Encode up to ``limit`` frames from ``frames``; return how many there were (fewer at the end).

        A helper thread draws and converts the next frames while this one encodes, the overlap a
        pipe into the ffmpeg program gets for free; Pillow, swscale and x264 all release the GIL.
        At most ``_PIPELINE_DEPTH`` frames wait between the two.
        """
        handoff: queue.Queue[Any] = queue.Queue(maxsize=_PIPELINE_DEPTH)
        stop = threading.Event()
        failures: list[BaseException] = []

        def produce() -> None:
            try:
                for _, image in zip(range(limit), frames, strict=False):
                    if stop.is_set():
                        break
                    handoff.put(self._prepare(image))
            except BaseException as exc:  # re-raised in the encoding thread below
                failures.append(exc)
            finally:
                handoff.put(_END)

        written = 0
        with self._lock:
            producer = threading.Thread(target=produce, name="pixelmill-frames", daemon=True)
            producer.start()
            ended = False
            try:
                while (frame := handoff.get()) is not _END:
                    self._encode(frame)
                    written += 1
                ended = True
            finally:
                stop.set()
                while not ended:  # the encoder failed: let the producer finish and drop its frames
                    ended = handoff.get() is _END
                producer.join()
        if failures:
            raise failures[0]
        return written

    def finish(self) -> bytes:
        """Flush the encoder, close the file (moving the index to the front) and return its bytes."""
        with self._lock:
            if self._closed:
                raise ValueError("the video was already finished or closed")
            self._closed = True
            try:
                for packet in self._stream.encode(None):
                    self._container.mux(packet)
                self._container.close()
                return self._path.read_bytes()
            finally:
                self._workdir.cleanup()

    def close(self) -> None:
        """Abandon the video (cancelled or failed run) and remove its temporary file; safe to repeat."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            # A half-written file is deleted next, so an error from its muxer is moot.
            with contextlib.suppress(Exception):
                self._container.close()
            self._workdir.cleanup()

    def __enter__(self) -> Mp4Writer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _open(data: bytes) -> tuple[Any, Any]:
    """Open ``data`` for decoding: the container and its first video stream."""
    av = require_av()
    try:
        container = av.open(io.BytesIO(data), mode="r")
    except (av.error.FFmpegError, ValueError) as exc:
        raise VideoDecodeError("The video could not be decoded") from exc
    if not container.streams.video:
        container.close()
        raise VideoDecodeError("The file has no video stream")
    stream = container.streams.video[0]
    width, height = stream.codec_context.width, stream.codec_context.height
    if width * height > MAX_INPUT_PIXELS:
        container.close()
        raise VideoDecodeError(f"The video is {width}x{height}; at most {MAX_INPUT_PIXELS} pixels a frame are read")
    stream.thread_type = "AUTO"
    return container, stream


def _decoded(container: Any, stream: Any) -> Iterator[tuple[float, Image.Image]]:
    """(seconds from the first frame, RGB picture) for each frame, decoded lazily."""
    av = require_av()
    origin: float | None = None
    try:
        for frame in container.decode(stream):
            seconds = float(frame.time) if frame.time is not None else 0.0
            origin = seconds if origin is None else origin
            yield seconds - origin, frame.to_image()
    except av.error.FFmpegError as exc:
        raise VideoDecodeError("The video could not be decoded") from exc


def _duration(container: Any, stream: Any) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return float(container.duration) / 1_000_000
    return 0.0


def probe_video(data: bytes) -> VideoProbe:
    """Size, duration, frame rate, codec and a poster (the frame a tenth of the way in, at most 1 s)."""
    container, stream = _open(data)
    with container:
        duration = _duration(container, stream)
        rate = stream.average_rate or stream.guessed_rate
        fps = float(rate) if rate else 0.0
        frames = int(stream.frames) or round(duration * fps)
        wanted = min(1.0, duration / 10)
        poster: Image.Image | None = None
        for seconds, picture in _decoded(container, stream):
            poster = picture
            if seconds >= wanted:
                break
        if poster is None:
            raise VideoDecodeError("The video has no frames")
        if duration <= 0 and fps:
            duration = frames / fps
        return VideoProbe(
            width=stream.codec_context.width,
            height=stream.codec_context.height,
            duration_seconds=duration,
            fps=fps,
            frame_count=frames,
            codec=stream.codec_context.name,
            poster=poster,
        )


def extract_frame(data: bytes, at: float | Literal["last"]) -> Image.Image:
    """The picture on screen at ``at`` seconds (or the last one).

    Seeks to the keyframe before the target, then decodes forward: cost is one GOP, not the
    whole video. A time past the end is an error rather than silently the last frame.
    """
    container, stream = _open(data)
    with container:
        duration = _duration(container, stream)
        rate = stream.average_rate or stream.guessed_rate
        frame_seconds = 1 / float(rate) if rate else 0.0
        if at != "last" and duration and at >= duration + frame_seconds / 2:
            raise FrameTimeError(f"The video lasts {duration:.3f} s; there is no frame at {at} s")
        target = math.inf if at == "last" else float(at)
        seek_to = max(0.0, duration - 1.0) if at == "last" else float(at)
        start = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
        if seek_to > 0:
            container.seek(int((start + seek_to) / stream.time_base), stream=stream, backward=True)
        shown: Image.Image | None = None
        for frame in container.decode(stream):
            seconds = float(frame.time) - start if frame.time is not None else 0.0
            if shown is not None and seconds > target + 1e-6:
                break
            shown = frame.to_image()
        if shown is None:
            raise VideoDecodeError("The video has no frames")
        return shown


def resampled_frames(data: bytes, fps: int, out_size: tuple[int, int], fit: Fit = "contain") -> Iterator[Image.Image]:
    """The video's frames at ``fps`` and ``out_size``: each output frame is the source frame on screen then.

    Dropping or repeating frames (rather than blending) keeps motion sharp when rates differ, and
    only two decoded frames are ever held.
    """
    container, stream = _open(data)
    with container:
        duration = _duration(container, stream)
        decoded = _decoded(container, stream)
        first = next(decoded, None)
        if first is None:
            raise VideoDecodeError("The video has no frames")
        if duration <= 0:
            duration = 1 / fps
        current, upcoming = first, next(decoded, None)
        fitted: Image.Image | None = None
        for index in range(max(1, round(duration * fps))):
            seconds = index / fps
            while upcoming is not None and upcoming[0] <= seconds + 1e-6:
                current, upcoming, fitted = upcoming, next(decoded, None), None
            if fitted is None:
                fitted = fit_image(current[1], out_size, fit)
            yield fitted
