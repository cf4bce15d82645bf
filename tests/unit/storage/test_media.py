"""Sniffing and validating media from bytes."""

from __future__ import annotations

import io
import struct
import wave
import zlib

import numpy as np
import pytest
from PIL import Image

from pixelmill.errors import PixelmillError
from pixelmill.storage.codecs import decode_image, encode_image, flatten_alpha, thumbnail
from pixelmill.storage.media import inspect_media, sniff_mime


def picture(width: int = 40, height: int = 30, alpha: bool = False) -> np.ndarray:
    rng = np.random.default_rng(1)
    return rng.integers(0, 256, (height, width, 4 if alpha else 3), dtype=np.uint8)


def png_with_declared_size(width: int, height: int) -> bytes:
    """A structurally valid PNG whose header declares a huge canvas (a decompression bomb's shape)."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "image/png"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 20, "image/jpeg"),
        (b"GIF89a" + b"\x00" * 20, "image/gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 20, "image/webp"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt " + b"\x00" * 20, "audio/wav"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "image/heic"),
        (b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1heix", "image/heif"),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf", "image/avif"),
        (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2", "video/mp4"),
        (b"\x1a\x45\xdf\xa3" + b"\x00" * 20, "video/webm"),
        (b"ID3\x04" + b"\x00" * 20, "audio/mpeg"),
        (b"%PDF-1.7", None),
        (b"", None),
    ],
)
def test_sniffing_reads_the_bytes(data: bytes, mime: str | None) -> None:
    assert sniff_mime(data) == mime


def test_an_image_is_inspected_after_a_full_decode() -> None:
    info = inspect_media(encode_image(picture(), "png"), max_pixels=10_000)
    assert (info.kind, info.mime, info.width, info.height) == ("image", "image/png", 40, 30)


def test_a_declared_canvas_over_the_limit_is_refused_before_decoding() -> None:
    with pytest.raises(PixelmillError) as caught:
        inspect_media(png_with_declared_size(100_000, 100_000), max_pixels=50_000_000)
    assert caught.value.code == "IMAGE_TOO_LARGE"
    with pytest.raises(PixelmillError) as caught:
        decode_image(png_with_declared_size(100_000, 100_000), max_pixels=50_000_000)
    assert caught.value.code == "IMAGE_TOO_LARGE"


@pytest.mark.parametrize(("width", "height"), [(100_000, 100_000), (8_000, 8_000)])
def test_image_too_large_states_the_limit_that_applied(width: int, height: int) -> None:
    # 10 Gpx is past Pillow's own bomb limit, 64 Mpx only past the operator's: the answer is the same.
    for refuse in (inspect_media, decode_image):
        with pytest.raises(PixelmillError) as caught:
            refuse(png_with_declared_size(width, height), max_pixels=50_000_000)
        assert caught.value.code == "IMAGE_TOO_LARGE"
        assert caught.value.extra["max_pixels"] == 50_000_000
        assert "the limit is 50000000 pixels" in caught.value.message
        assert str(Image.MAX_IMAGE_PIXELS * 2) not in caught.value.message


def test_truncated_and_garbled_images_are_invalid() -> None:
    data = encode_image(picture(200, 200), "png")
    for broken in (data[: len(data) // 2], data[:40] + b"\x00" * 200):
        with pytest.raises(PixelmillError) as caught:
            inspect_media(broken, max_pixels=1_000_000)
        assert caught.value.code == "INVALID_IMAGE"


def test_heic_is_unsupported_with_a_hint() -> None:
    with pytest.raises(PixelmillError) as caught:
        inspect_media(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 40, max_pixels=1_000)
    assert caught.value.code == "UNSUPPORTED_IMAGE_FORMAT"
    assert "PNG or JPEG" in caught.value.message


def test_wav_duration_is_read() -> None:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(8000)
        writer.writeframes(b"\x00\x00" * 4000)
    info = inspect_media(buffer.getvalue(), max_pixels=1)
    assert (info.kind, info.mime, info.duration_seconds) == ("audio", "audio/wav", 0.5)


@pytest.mark.parametrize("format", ["png", "jpeg", "webp"])
def test_encode_decode_round_trip(format: str) -> None:
    pixels = picture(64, 48)
    decoded = decode_image(encode_image(pixels, format, 95), max_pixels=10_000)  # type: ignore[arg-type]
    assert decoded.shape == (48, 64, 3)
    if format == "png":
        assert np.array_equal(decoded, pixels)


def test_alpha_survives_png_and_is_flattened_for_jpeg() -> None:
    pixels = picture(16, 16, alpha=True)
    assert np.array_equal(decode_image(encode_image(pixels, "png"), 1_000), pixels)
    flat = flatten_alpha(np.dstack([np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), np.uint8)]))
    assert (flat == 255).all()


def test_grey_and_palette_images_decode_to_rgb() -> None:
    for mode in ("L", "P", "LA"):
        buffer = io.BytesIO()
        Image.new(mode, (10, 8)).save(buffer, "PNG")
        decoded = decode_image(buffer.getvalue(), 1_000)
        assert decoded.shape[:2] == (8, 10)
        assert decoded.shape[2] == (4 if mode == "LA" else 3)


def test_thumbnails_are_256_on_the_long_side() -> None:
    data, mime = thumbnail(picture(1000, 500))
    assert mime == "image/jpeg"
    assert Image.open(io.BytesIO(data)).size == (256, 128)
    data, mime = thumbnail(picture(100, 300, alpha=True))
    assert mime == "image/webp"
    assert Image.open(io.BytesIO(data)).size == (85, 256)
