"""What a blob is: its type sniffed from the bytes (never the client's word) and its metadata.

Images are refused before they are decoded when their header declares more pixels than the
operator allows (a decompression bomb is a small file that declares a huge canvas), and refused
after a full decode when the data is corrupt or truncated. HEIC/HEIF is named explicitly so the
client learns to convert it instead of seeing a generic failure.
"""

from __future__ import annotations

import io
import warnings
import wave
from dataclasses import dataclass
from typing import Literal
from xml.etree import ElementTree

import numpy as np
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError

from pixelmill import errors
from pixelmill.errors import PixelmillError

MediaKind = Literal["image", "video", "audio"]

_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}
_MP4_BRANDS = {b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"dash", b"M4V ", b"M4VP"}
_M4A_BRANDS = {b"M4A ", b"M4B "}

IMAGE_MIMES = frozenset({"image/png", "image/jpeg", "image/webp", "image/gif", "image/bmp", "image/tiff", "image/avif"})
HEIF_MIMES = frozenset({"image/heic", "image/heif"})


@dataclass(frozen=True, slots=True)
class MediaInfo:
    """Sniffed type and metadata of one blob."""

    kind: MediaKind
    mime: str
    width: int | None = None
    height: int | None = None
    duration_seconds: float | None = None


def _iso_bmff_mime(data: bytes) -> str | None:
    size = int.from_bytes(data[0:4], "big")
    brands = {data[8:12]}
    end = min(max(size, 16), len(data), 256)
    brands.update(data[i : i + 4] for i in range(16, end - 3, 4))
    if brands & _AVIF_BRANDS:
        return "image/avif"
    if brands & _HEIF_BRANDS:
        return "image/heic" if data[8:12] in {b"heic", b"heix", b"hevc", b"hevx"} else "image/heif"
    if data[8:12] == b"qt  ":
        return "video/quicktime"
    if brands & _M4A_BRANDS:
        return "audio/mp4"
    if brands & _MP4_BRANDS:
        return "video/mp4"
    return None


def sniff_mime(data: bytes) -> str | None:
    """The media type from the first bytes, or None when it is not a format pixelmill stores."""
    head = data[:32]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head.startswith(b"RIFF") and len(head) >= 12:
        return {b"WEBP": "image/webp", b"WAVE": "audio/wav", b"AVI ": "video/x-msvideo"}.get(head[8:12])
    if head.startswith(b"BM") and len(head) >= 26:
        return "image/bmp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return _iso_bmff_mime(data)
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"fLaC"):
        return "audio/flac"
    if head.startswith(b"ID3") or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    return None


def check_pixel_count(width: int, height: int, max_pixels: int, setting: str = "max_image_pixels") -> None:
    """Refuse a canvas over the operator's pixel limit (IMAGE_TOO_LARGE), naming the setting."""
    if width * height > max_pixels:
        raise PixelmillError(
            errors.IMAGE_TOO_LARGE,
            f"The image is {width}x{height} ({width * height} pixels); the limit is {max_pixels} pixels "
            f"(setting {setting})",
            width=width,
            height=height,
            max_pixels=max_pixels,
            limit_setting=setting,
        )


def _bomb(max_pixels: int) -> PixelmillError:
    """IMAGE_TOO_LARGE for a canvas Pillow itself refuses to open (over twice its own limit): the
    message states the operator's limit, the one that applies, not Pillow's."""
    return PixelmillError(
        errors.IMAGE_TOO_LARGE,
        f"The image declares a canvas of far more than {max_pixels} pixels; the limit is {max_pixels} pixels",
        max_pixels=max_pixels,
    )


def open_image_header(data: bytes, max_pixels: int) -> Image.Image:
    """Open an image lazily (header only) and enforce the pixel limit before any decoding."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise _bomb(max_pixels) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise PixelmillError(errors.INVALID_IMAGE, f"The image could not be decoded: {exc}") from None
    check_pixel_count(image.width, image.height, max_pixels)
    return image


def image_header_size(data: bytes, max_pixels: int) -> tuple[int, int]:
    """``(width, height)`` from the header alone; IMAGE_TOO_LARGE over ``max_pixels``."""
    image = open_image_header(data, max_pixels)
    return image.width, image.height


def refuse_heif(mime: str) -> None:
    if mime in HEIF_MIMES:
        raise PixelmillError(
            errors.UNSUPPORTED_IMAGE_FORMAT,
            "HEIC/HEIF images are not supported; convert the image to PNG or JPEG and upload it again",
            mime=mime,
            hint="convert to PNG or JPEG",
        )


def inspect_image(data: bytes, mime: str, max_pixels: int) -> MediaInfo:
    """Validate an image completely (header, pixel limit, full decode) and return its metadata."""
    refuse_heif(mime)
    image = open_image_header(data, max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image.load()
    except Image.DecompressionBombError:
        raise _bomb(max_pixels) from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise PixelmillError(errors.INVALID_IMAGE, f"The image could not be decoded: {exc}") from None
    return MediaInfo(kind="image", mime=mime, width=image.width, height=image.height)


def _inspect_wav(data: bytes) -> MediaInfo:
    try:
        with wave.open(io.BytesIO(data)) as reader:
            frames, rate = reader.getnframes(), reader.getframerate()
    except (wave.Error, EOFError) as exc:
        raise PixelmillError(errors.UNSUPPORTED_MEDIA_TYPE, f"The WAV file could not be read: {exc}") from None
    return MediaInfo(kind="audio", mime="audio/wav", duration_seconds=frames / rate if rate else None)


def _inspect_container(data: bytes, mime: str, kind: MediaKind) -> MediaInfo:
    """Duration and frame size of video/audio through PyAV when it is installed (the media extra)."""
    try:
        import av
    except ImportError:
        return MediaInfo(kind=kind, mime=mime)
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            duration = container.duration / 1_000_000 if container.duration else None
            video = container.streams.video[0] if container.streams.video else None
            width = video.codec_context.width if video is not None else None
            height = video.codec_context.height if video is not None else None
    except (av.FFmpegError, ValueError, IndexError) as exc:
        raise PixelmillError(errors.UNSUPPORTED_MEDIA_TYPE, f"The {kind} file could not be read: {exc}") from None
    return MediaInfo(kind=kind, mime=mime, width=width or None, height=height or None, duration_seconds=duration)


def inspect_media(data: bytes, max_pixels: int) -> MediaInfo:
    """Sniff and validate any stored media; unknown formats are UNSUPPORTED_MEDIA_TYPE."""
    mime = sniff_mime(data)
    if mime is None:
        raise PixelmillError(
            errors.UNSUPPORTED_MEDIA_TYPE,
            "The content is not a supported image, video or audio format",
            supported=sorted(IMAGE_MIMES | {"video/mp4", "video/webm", "audio/wav", "audio/mpeg"}),
        )
    if mime.startswith("image/"):
        return inspect_image(data, mime, max_pixels)
    if mime == "audio/wav":
        return _inspect_wav(data)
    return _inspect_container(data, mime, "audio" if mime.startswith("audio/") else "video")


def inspect_svg(data: bytes) -> MediaInfo:
    """An SVG document a node produced: confirm the root element and read its pixel size.

    SVG is accepted only from nodes that declare it (charts), never sniffed from uploads: an
    uploaded SVG served from this origin could carry script.
    """
    try:
        root = ElementTree.fromstring(data)  # noqa: S314 - expat refuses entity expansion bombs
    except ElementTree.ParseError as exc:
        raise PixelmillError(errors.UNSUPPORTED_MEDIA_TYPE, f"The SVG could not be parsed: {exc}") from None
    if root.tag not in ("svg", "{http://www.w3.org/2000/svg}svg"):
        raise PixelmillError(errors.UNSUPPORTED_MEDIA_TYPE, "The document is not SVG")

    def pixels(attribute: str) -> int | None:
        value = (root.get(attribute) or "").removesuffix("px")
        try:
            return round(float(value))
        except ValueError:
            return None

    return MediaInfo(kind="image", mime="image/svg+xml", width=pixels("width"), height=pixels("height"))


def video_poster(data: bytes) -> NDArray[np.uint8] | None:
    """RGB pixels of the frame a tenth of the way into a video (at most 1 s in), for its thumbnail."""
    try:
        import av
    except ImportError:
        return None
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.video:
                return None
            stream = container.streams.video[0]
            duration = container.duration / 1_000_000 if container.duration else 0.0
            wanted = min(1.0, duration / 10)
            poster: NDArray[np.uint8] | None = None
            for frame in container.decode(stream):
                poster = np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8)
                if frame.time is None or frame.time >= wanted:
                    break
            return poster
    except (av.FFmpegError, ValueError) as exc:
        raise PixelmillError(errors.UNSUPPORTED_MEDIA_TYPE, f"The video could not be decoded: {exc}") from None
