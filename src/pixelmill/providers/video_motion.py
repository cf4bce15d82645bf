"""Frames for videos made from stills: a camera gliding over an image (Ken Burns) and crossfaded slides.

Everything here is pure Pillow work that yields one frame at a time, so a long video never holds
more than a couple of frames; the encoder consumes them as they come. The camera is a rectangle
in source pixels, interpolated between a start and an end rectangle with an easing curve, and each
frame is one sub-pixel-accurate resample of that rectangle, which keeps slow motion free of jitter.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from PIL import Image

Easing = Literal["linear", "ease_in", "ease_out", "ease_in_out"]
Motion = Literal["zoom_in", "zoom_out", "pan_left", "pan_right", "pan_up", "pan_down", "none"]
AspectRatio = Literal["16:9", "9:16", "1:1", "4:3", "3:4"]
Resolution = Literal["360p", "480p", "720p", "1080p"]
Fit = Literal["cover", "contain"]

# The short side of the frame for each named resolution (720p is 1280x720 at 16:9, 720x1280 at 9:16).
SHORT_SIDE: dict[str, int] = {"360p": 360, "480p": 480, "720p": 720, "1080p": 1080}


def ease(kind: Easing, t: float) -> float:
    """Map linear progress 0..1 to eased progress 0..1; motion that starts or stops softly looks filmed."""
    t = min(1.0, max(0.0, t))
    if kind == "ease_in":
        return t * t * t
    if kind == "ease_out":
        return 1.0 - (1.0 - t) ** 3
    if kind == "ease_in_out":
        return 0.5 - 0.5 * math.cos(math.pi * t)
    return t


def frame_size(resolution: Resolution, aspect: AspectRatio) -> tuple[int, int]:
    """Width and height for a named resolution and aspect ratio, both even as yuv420p requires."""
    short = SHORT_SIDE[resolution]
    a, b = (int(part) for part in aspect.split(":"))
    long = 2 * round(short * max(a, b) / min(a, b) / 2)
    return (long, short) if a >= b else (short, long)


def even_size(width: int, height: int) -> tuple[int, int]:
    """The size rounded down to even numbers (H.264 in yuv420p needs both sides even)."""
    return max(2, width - width % 2), max(2, height - height % 2)


@dataclass(frozen=True, slots=True)
class Rect:
    """A rectangle in source pixels (floats: the camera moves by fractions of a pixel)."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    def lerp(self, other: Rect, t: float) -> Rect:
        return Rect(
            self.x0 + (other.x0 - self.x0) * t,
            self.y0 + (other.y0 - self.y0) * t,
            self.x1 + (other.x1 - self.x1) * t,
            self.y1 + (other.y1 - self.y1) * t,
        )

    def box(self) -> tuple[float, float, float, float]:
        return (self.x0, self.y0, self.x1, self.y1)


def _centred(src_w: float, src_h: float, width: float, height: float, cx: float, cy: float) -> Rect:
    """A width x height rectangle centred on (cx, cy), moved inside the source if it pokes out."""
    cx = min(max(cx, width / 2), src_w - width / 2)
    cy = min(max(cy, height / 2), src_h - height / 2)
    return Rect(cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2)


def cover_rect(src_w: float, src_h: float, out_aspect: float) -> Rect:
    """The largest centred rectangle of the output's aspect ratio that fits in the source."""
    if src_w / src_h > out_aspect:
        width, height = src_h * out_aspect, float(src_h)
    else:
        width, height = float(src_w), src_w / out_aspect
    return _centred(src_w, src_h, width, height, src_w / 2, src_h / 2)


def camera_path(
    src_size: tuple[int, int],
    out_size: tuple[int, int],
    motion: Motion,
    zoom: float,
    focus: tuple[float, float] = (0.5, 0.5),
) -> tuple[Rect, Rect]:
    """Start and end camera rectangles for a motion; ``zoom`` is the magnification of the tight shot.

    Zooms travel between the whole (cropped) picture and a ``zoom`` times closer view around
    ``focus`` (fractions of the source size); pans keep ``zoom`` and cross the picture edge to edge.
    """
    src_w, src_h = src_size
    base = cover_rect(src_w, src_h, out_size[0] / out_size[1])
    tight_w, tight_h = base.width / zoom, base.height / zoom
    fx, fy = focus[0] * src_w, focus[1] * src_h
    if motion in ("zoom_in", "zoom_out"):
        wide = base
        tight = _centred(src_w, src_h, tight_w, tight_h, fx, fy)
        return (wide, tight) if motion == "zoom_in" else (tight, wide)
    if motion in ("pan_left", "pan_right"):
        left = _centred(src_w, src_h, tight_w, tight_h, 0.0, fy)
        right = _centred(src_w, src_h, tight_w, tight_h, float(src_w), fy)
        # The camera moves right, so the picture appears to slide left, and vice versa.
        return (left, right) if motion == "pan_right" else (right, left)
    if motion in ("pan_up", "pan_down"):
        top = _centred(src_w, src_h, tight_w, tight_h, fx, 0.0)
        bottom = _centred(src_w, src_h, tight_w, tight_h, fx, float(src_h))
        return (top, bottom) if motion == "pan_down" else (bottom, top)
    return base, base


def to_rgb(image: Image.Image, background: tuple[int, int, int] = (0, 0, 0)) -> Image.Image:
    """An RGB copy of ``image``; transparent parts are laid over ``background``."""
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "P", "PA"):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, background)
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return image.convert("RGB")


def fit_image(image: Image.Image, out_size: tuple[int, int], fit: Fit) -> Image.Image:
    """Scale an image to exactly ``out_size``: ``cover`` crops the overflow, ``contain`` letterboxes."""
    rgb = to_rgb(image)
    out_w, out_h = out_size
    if fit == "cover":
        box = cover_rect(rgb.width, rgb.height, out_w / out_h).box()
        return rgb.resize(out_size, Image.Resampling.LANCZOS, box=box)
    scale = min(out_w / rgb.width, out_h / rgb.height)
    inner = (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale)))
    canvas = Image.new("RGB", out_size, (0, 0, 0))
    canvas.paste(rgb.resize(inner, Image.Resampling.LANCZOS), ((out_w - inner[0]) // 2, (out_h - inner[1]) // 2))
    return canvas


class KenBurns:
    """The frames of a camera moving over one still image, made one at a time on demand."""

    def __init__(
        self,
        image: Image.Image,
        *,
        out_size: tuple[int, int],
        duration_seconds: float,
        fps: int,
        motion: Motion = "zoom_in",
        zoom: float = 1.3,
        easing: Easing = "ease_in_out",
        focus: tuple[float, float] = (0.5, 0.5),
    ) -> None:
        self.out_size = out_size
        self.frame_count = max(1, round(duration_seconds * fps))
        source = to_rgb(image)
        # Shrink a large source once so that even the tightest shot maps about one source pixel to
        # one output pixel: every frame then resamples a small image instead of a huge one.
        base = cover_rect(source.width, source.height, out_size[0] / out_size[1])
        scale = min(1.0, out_size[0] * max(zoom, 1.0) / base.width)
        if scale < 1.0:
            size = (max(1, round(source.width * scale)), max(1, round(source.height * scale)))
            source = source.resize(size, Image.Resampling.LANCZOS)
        self._source = source
        self._easing: Easing = easing
        self._start, self._end = camera_path(source.size, out_size, motion, zoom, focus)

    def rect(self, index: int) -> Rect:
        """The camera rectangle (in the possibly shrunk source) of frame ``index``."""
        t = index / (self.frame_count - 1) if self.frame_count > 1 else 0.0
        return self._start.lerp(self._end, ease(self._easing, t))

    def frame(self, index: int) -> Image.Image:
        # Bilinear (which Pillow widens when shrinking, so it still antialiases) is half the cost of
        # bicubic per frame, and the difference does not show in moving H.264.
        return self._source.resize(self.out_size, Image.Resampling.BILINEAR, box=self.rect(index).box())

    def __iter__(self) -> Iterator[Image.Image]:
        for index in range(self.frame_count):
            yield self.frame(index)


class Slideshow:
    """Several images, each shown for a while, crossfading into the next.

    Slide ``i`` starts at ``i * (seconds_per_image - transition_seconds)`` and lasts
    ``seconds_per_image``, so neighbours overlap by the transition and the whole show lasts
    ``n * seconds_per_image - (n - 1) * transition_seconds``. With ``motion`` each slide also
    drifts slowly, alternating in and out, which keeps still pictures from looking frozen.
    """

    DRIFT_ZOOM = 1.08

    def __init__(
        self,
        images: Sequence[Image.Image],
        *,
        out_size: tuple[int, int],
        fps: int,
        seconds_per_image: float,
        transition_seconds: float,
        fit: Fit = "cover",
        motion: bool = False,
    ) -> None:
        if not images:
            raise ValueError("a slideshow needs at least one image")
        if transition_seconds >= seconds_per_image:
            raise ValueError("the transition must be shorter than the time each image is shown")
        self.out_size = out_size
        self.fps = fps
        self._images = images
        self._hold = seconds_per_image
        self._step = seconds_per_image - transition_seconds
        self._transition = transition_seconds
        self._fit: Fit = fit
        self._motion = motion
        self.duration_seconds = len(images) * seconds_per_image - (len(images) - 1) * transition_seconds
        self.frame_count = max(1, round(self.duration_seconds * fps))
        self._cache: dict[int, KenBurns] = {}

    def _slide(self, index: int) -> KenBurns:
        """Slide ``index`` fitted to the frame; only the slides on screen are kept."""
        found = self._cache.get(index)
        if found is None:
            for stale in [key for key in self._cache if key < index - 1]:
                del self._cache[stale]
            canvas = fit_image(self._images[index], self.out_size, self._fit)
            motion: Motion = ("zoom_in" if index % 2 == 0 else "zoom_out") if self._motion else "none"
            found = KenBurns(
                canvas,
                out_size=self.out_size,
                duration_seconds=self._hold,
                fps=self.fps,
                motion=motion,
                zoom=self.DRIFT_ZOOM,
                easing="linear",
            )
            self._cache[index] = found
        return found

    def _slide_frame(self, index: int, seconds: float) -> Image.Image:
        slide = self._slide(index)
        local = seconds - index * self._step
        return slide.frame(min(slide.frame_count - 1, max(0, round(local * self.fps))))

    def frame_at(self, seconds: float) -> Image.Image:
        """The picture at ``seconds``: one slide, or the previous one fading into it."""
        index = min(len(self._images) - 1, int(seconds // self._step))
        current = self._slide_frame(index, seconds)
        into = seconds - index * self._step
        if index > 0 and into < self._transition:
            return Image.blend(self._slide_frame(index - 1, seconds), current, into / self._transition)
        return current

    def __iter__(self) -> Iterator[Image.Image]:
        for frame_index in range(self.frame_count):
            yield self.frame_at(frame_index / self.fps)
