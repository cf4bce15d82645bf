"""The MP4 writer, probe, frame extraction and frame-rate conversion, checked by decoding with PyAV."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import av
import pytest
from PIL import Image

from pixelmill.providers.video_encode import (
    FrameTimeError,
    Mp4Writer,
    VideoDecodeError,
    extract_frame,
    probe_video,
    resampled_frames,
)

COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]


def colour_video(seconds_per_colour: float = 0.5, fps: int = 10, size: tuple[int, int] = (64, 48)) -> bytes:
    """One solid colour per segment, so the frame shown at any time can be told by its colour."""
    per = round(seconds_per_colour * fps)
    with Mp4Writer(size, fps) as writer:
        for colour in COLOURS:
            for _ in range(per):
                writer.write(Image.new("RGB", size, colour))
        return writer.finish()


def close_to(actual: tuple[int, ...], expected: tuple[int, int, int], tolerance: int = 24) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=False))


def top_level_boxes(data: bytes) -> list[bytes]:
    boxes, offset = [], 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        boxes.append(data[offset + 4 : offset + 8])
        if size < 8:
            break
        offset += size
    return boxes


def test_writer_makes_h264_yuv420p_mp4_with_exact_frames_fps_and_duration() -> None:
    data = colour_video(seconds_per_colour=0.5, fps=10)
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert (stream.codec_context.width, stream.codec_context.height) == (64, 48)
        assert stream.average_rate == 10
        assert float(stream.duration * stream.time_base) == pytest.approx(2.0)
        assert sum(1 for _ in container.decode(stream)) == 20


def test_writer_tags_bt709_and_colours_survive_the_round_trip() -> None:
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (250, 200, 40), (128, 128, 128), (0, 0, 0), (255, 255, 255)]
    with Mp4Writer((32, 32), 5) as writer:
        for colour in colours:
            writer.write(Image.new("RGB", (32, 32), colour))
        data = writer.finish()
    with av.open(io.BytesIO(data)) as container:
        context = container.streams.video[0].codec_context
        assert (context.colorspace, context.color_primaries, context.color_trc, context.color_range) == (1, 1, 1, 1)
    for index, colour in enumerate(colours):
        assert close_to(extract_frame(data, index / 5 + 0.01).getpixel((16, 16)), colour, tolerance=3)  # type: ignore[arg-type]


def test_writer_puts_the_index_before_the_media_data_for_fast_start() -> None:
    boxes = top_level_boxes(colour_video())
    assert boxes[0] == b"ftyp"
    assert boxes.index(b"moov") < boxes.index(b"mdat")


def test_writer_scales_frames_of_another_size() -> None:
    with Mp4Writer((32, 32), 5) as writer:
        writer.write(Image.new("RGB", (100, 20), "white"))
        data = writer.finish()
    assert probe_video(data).width == 32


def test_writer_refuses_odd_sizes() -> None:
    with pytest.raises(ValueError, match="even"):
        Mp4Writer((33, 32), 5)


def test_writer_write_from_stops_at_the_limit_and_at_the_end() -> None:
    frames = iter([Image.new("RGB", (16, 16))] * 5)
    with Mp4Writer((16, 16), 5) as writer:
        assert writer.write_from(frames, 3) == 3
        assert writer.write_from(frames, 3) == 2
        assert writer.frames_written == 5
        writer.finish()


def test_a_failing_frame_source_surfaces_its_error_after_the_frames_before_it() -> None:
    def frames() -> Iterator[Image.Image]:
        for _ in range(3):
            yield Image.new("RGB", (16, 16))
        raise RuntimeError("the camera broke")

    with Mp4Writer((16, 16), 5) as writer:
        with pytest.raises(RuntimeError, match="camera broke"):
            writer.write_from(frames(), 10)
        assert writer.frames_written == 3


def test_closing_an_abandoned_writer_removes_its_temporary_file() -> None:
    writer = Mp4Writer((16, 16), 5)
    writer.write(Image.new("RGB", (16, 16)))
    workdir = Path(writer._workdir.name)
    assert workdir.exists()
    writer.close()
    writer.close()  # a second close is harmless
    assert not workdir.exists()
    with pytest.raises(ValueError, match="closed"):
        writer.write(Image.new("RGB", (16, 16)))


def test_probe_reports_size_duration_fps_codec_and_a_poster() -> None:
    probe = probe_video(colour_video(seconds_per_colour=0.5, fps=10))
    assert (probe.width, probe.height, probe.codec, probe.frame_count) == (64, 48, "h264", 20)
    assert probe.fps == pytest.approx(10)
    assert probe.duration_seconds == pytest.approx(2.0)
    assert probe.poster.size == (64, 48)
    assert close_to(probe.poster.getpixel((32, 24)), COLOURS[0])  # type: ignore[arg-type]


@pytest.mark.parametrize(("seconds", "segment"), [(0.0, 0), (0.49, 0), (0.5, 1), (1.25, 2), (1.95, 3)])
def test_extract_frame_returns_the_frame_on_screen_at_that_time(seconds: float, segment: int) -> None:
    picture = extract_frame(colour_video(), seconds)
    assert close_to(picture.getpixel((32, 24)), COLOURS[segment])  # type: ignore[arg-type]


def test_extract_last_frame() -> None:
    assert close_to(extract_frame(colour_video(), "last").getpixel((32, 24)), COLOURS[-1])  # type: ignore[arg-type]


def test_extract_frame_after_the_end_is_an_error() -> None:
    with pytest.raises(FrameTimeError, match=r"lasts 2\.000 s"):
        extract_frame(colour_video(), 3.0)


def test_garbage_bytes_are_a_decode_error() -> None:
    with pytest.raises(VideoDecodeError):
        probe_video(b"\x00\x00\x00\x18ftypisom" + b"\x00" * 200)
    with pytest.raises(VideoDecodeError):
        extract_frame(b"not a video at all", 0.0)


def test_resampling_to_a_higher_rate_repeats_frames_and_keeps_timing() -> None:
    frames = list(resampled_frames(colour_video(fps=10), 20, (32, 24)))
    assert len(frames) == 40
    assert {frame.size for frame in frames} == {(32, 24)}
    assert close_to(frames[9].getpixel((16, 12)), COLOURS[0])  # type: ignore[arg-type]
    assert close_to(frames[10].getpixel((16, 12)), COLOURS[1])  # type: ignore[arg-type]


def test_resampling_to_a_lower_rate_drops_frames() -> None:
    assert len(list(resampled_frames(colour_video(fps=10), 5, (64, 48)))) == 10
