"""Camera paths, easing, frame sizes and slideshow timing of the still-image video maker."""

from __future__ import annotations

import itertools

import pytest
from PIL import Image

from pixelmill.providers.video_motion import (
    KenBurns,
    Rect,
    Slideshow,
    camera_path,
    cover_rect,
    ease,
    fit_image,
    frame_size,
)


@pytest.mark.parametrize("kind", ["linear", "ease_in", "ease_out", "ease_in_out"])
def test_easing_starts_at_zero_ends_at_one_and_never_goes_back(kind: str) -> None:
    samples = [ease(kind, i / 50) for i in range(51)]  # type: ignore[arg-type]
    assert samples[0] == pytest.approx(0.0)
    assert samples[-1] == pytest.approx(1.0)
    assert all(b >= a for a, b in itertools.pairwise(samples))


def test_ease_in_out_is_slow_at_both_ends_and_fast_in_the_middle() -> None:
    start = ease("ease_in_out", 0.05) - ease("ease_in_out", 0.0)
    middle = ease("ease_in_out", 0.525) - ease("ease_in_out", 0.475)
    assert middle > 5 * start


@pytest.mark.parametrize(
    ("resolution", "aspect", "size"),
    [
        ("720p", "16:9", (1280, 720)),
        ("720p", "9:16", (720, 1280)),
        ("1080p", "1:1", (1080, 1080)),
        ("480p", "4:3", (640, 480)),
        ("480p", "16:9", (854, 480)),
        ("360p", "3:4", (360, 480)),
    ],
)
def test_frame_size_follows_resolution_and_aspect_with_even_sides(
    resolution: str, aspect: str, size: tuple[int, int]
) -> None:
    assert frame_size(resolution, aspect) == size  # type: ignore[arg-type]
    assert size[0] % 2 == 0
    assert size[1] % 2 == 0


def test_cover_rect_is_the_largest_centred_crop_of_the_output_shape() -> None:
    assert cover_rect(2000, 1000, 1.0) == Rect(500.0, 0.0, 1500.0, 1000.0)
    wide = cover_rect(1000, 1000, 16 / 9)
    assert (wide.width, round(wide.height, 3)) == (1000.0, 562.5)
    assert wide.y0 == pytest.approx((1000 - 562.5) / 2)


def test_zoom_in_goes_from_the_whole_picture_to_a_tighter_shot_around_the_focus() -> None:
    start, end = camera_path((1600, 900), (1280, 720), "zoom_in", 2.0, focus=(0.75, 0.5))
    assert start == Rect(0.0, 0.0, 1600.0, 900.0)
    assert (end.width, end.height) == (800.0, 450.0)
    assert (end.x0 + end.x1) / 2 == pytest.approx(1200.0)
    zoom_out = camera_path((1600, 900), (1280, 720), "zoom_out", 2.0, focus=(0.75, 0.5))
    assert zoom_out == (end, start)


@pytest.mark.parametrize("motion", ["pan_left", "pan_right", "pan_up", "pan_down"])
def test_pans_cross_the_picture_and_stay_inside_it(motion: str) -> None:
    start, end = camera_path((1000, 800), (640, 360), motion, 1.5)  # type: ignore[arg-type]
    for rect in (start, end):
        assert rect.x0 >= 0
        assert rect.y0 >= 0
        assert rect.x1 <= 1000
        assert rect.y1 <= 800
    assert (start.width, start.height) == pytest.approx((end.width, end.height))
    moved = (end.x0 - start.x0, end.y0 - start.y0)
    expected_sign = {"pan_right": (1, 0), "pan_left": (-1, 0), "pan_down": (0, 1), "pan_up": (0, -1)}[motion]
    assert tuple((m > 0) - (m < 0) for m in moved) == expected_sign


def test_ken_burns_makes_duration_times_fps_frames_of_the_output_size() -> None:
    picture = Image.linear_gradient("L").convert("RGB").resize((400, 300))
    camera = KenBurns(picture, out_size=(160, 90), duration_seconds=1.5, fps=10, motion="zoom_in", zoom=2.0)
    frames = list(camera)
    assert camera.frame_count == len(frames) == 15
    assert {frame.size for frame in frames} == {(160, 90)}
    assert frames[0].tobytes() != frames[-1].tobytes()


def test_ken_burns_zoom_in_shows_the_focus_region_in_the_last_frame() -> None:
    picture = Image.new("RGB", (400, 400), (0, 0, 255))
    picture.paste((255, 0, 0), (150, 150, 250, 250))  # a red square in the middle
    camera = KenBurns(picture, out_size=(100, 100), duration_seconds=1, fps=5, motion="zoom_in", zoom=4.0)
    first, last = camera.frame(0), camera.frame(camera.frame_count - 1)
    assert first.getpixel((5, 5)) == (0, 0, 255)
    assert last.getpixel((5, 5)) == (255, 0, 0)  # at 4x the red square fills the frame


def test_ken_burns_shrinks_a_huge_source_once_so_frames_stay_cheap() -> None:
    camera = KenBurns(Image.new("RGB", (4000, 3000)), out_size=(320, 180), duration_seconds=0.2, fps=5, zoom=1.5)
    assert camera.rect(0).width <= 320 * 1.5 + 1


def test_fit_contain_letterboxes_and_cover_fills() -> None:
    tall = Image.new("RGB", (100, 200), (255, 255, 255))
    contained = fit_image(tall, (200, 100), "contain")
    assert contained.size == (200, 100)
    assert contained.getpixel((5, 50)) == (0, 0, 0)
    assert contained.getpixel((100, 50)) == (255, 255, 255)
    covered = fit_image(tall, (200, 100), "cover")
    assert covered.getpixel((5, 50)) == (255, 255, 255)


def test_fit_lays_transparent_pixels_over_black() -> None:
    clear = Image.new("RGBA", (10, 10), (255, 255, 255, 0))
    assert fit_image(clear, (10, 10), "cover").getpixel((5, 5)) == (0, 0, 0)


def test_slideshow_lasts_images_times_hold_minus_overlaps() -> None:
    slides = [Image.new("RGB", (64, 36), colour) for colour in ("red", "green", "blue")]
    show = Slideshow(slides, out_size=(64, 36), fps=10, seconds_per_image=2.0, transition_seconds=0.5)
    assert show.duration_seconds == pytest.approx(3 * 2.0 - 2 * 0.5)
    assert show.frame_count == 50
    assert len(list(show)) == 50


def test_slideshow_crossfades_between_neighbours() -> None:
    red, blue = Image.new("RGB", (64, 36), (255, 0, 0)), Image.new("RGB", (64, 36), (0, 0, 255))
    show = Slideshow([red, blue], out_size=(64, 36), fps=10, seconds_per_image=2.0, transition_seconds=1.0)
    assert show.frame_at(0.5).getpixel((32, 18)) == (255, 0, 0)  # only the first slide
    halfway = show.frame_at(1.5).getpixel((32, 18))  # blue started at 1.0, fading in over 1 s
    assert isinstance(halfway, tuple)
    assert 100 < halfway[0] < 155
    assert 100 < halfway[2] < 155
    assert show.frame_at(2.5).getpixel((32, 18)) == (0, 0, 255)


def test_slideshow_refuses_a_transition_as_long_as_a_slide() -> None:
    with pytest.raises(ValueError, match="shorter"):
        Slideshow([Image.new("RGB", (8, 8))], out_size=(8, 8), fps=5, seconds_per_image=1.0, transition_seconds=1.0)
