"""Info cards laid out with Pillow: size, fitted text, picture placement, bundled font."""

from __future__ import annotations

import pytest
from PIL import Image

from pixelmill.providers.cards import CardSpec, _font, font_path, render_card, wrap

RED = (220, 20, 20)


def count_colour(picture: Image.Image, colour: tuple[int, int, int], box: tuple[int, int, int, int]) -> int:
    region = picture.crop(box)
    return sum(count for count, found in region.getcolors(maxcolors=1 << 20) or [] if found == colour)


def test_font_is_dejavu_from_matplotlib() -> None:
    assert font_path("regular").name == "DejaVuSans.ttf"
    assert font_path("bold").is_file()


def test_wrap_keeps_lines_within_the_width_and_splits_overlong_words() -> None:
    font = _font("regular", 20)
    lines = wrap("alpha beta gamma delta " + "x" * 80, font, 150)
    assert len(lines) >= 4
    assert all(font.getlength(line) <= 150 for line in lines)
    assert "".join(lines).replace(" ", "").endswith("x" * 80)


def test_card_has_the_asked_size_and_draws_title_and_bullets() -> None:
    card = render_card(CardSpec(title="Hello", bullets=("One", "Two"), width=640, height=360))
    assert card.size == (640, 360)
    assert card.mode == "RGB"
    colours = card.getcolors(maxcolors=1 << 20) or []
    assert len(colours) > 10  # anti-aliased text, not an empty canvas


def test_many_bullets_shrink_the_type_instead_of_running_off_the_card() -> None:
    bullets = tuple(f"Point number {i} with several words that need wrapping on a small card" for i in range(12))
    card = render_card(CardSpec(title="A lot to say", bullets=bullets, width=480, height=480))
    bottom_strip = card.crop((40, 470, 480, 480))
    assert bottom_strip.getcolors() == [(440 * 10, (255, 255, 255))]  # nothing written into the margin


def test_landscape_card_puts_the_picture_on_the_right() -> None:
    picture = Image.new("RGB", (300, 300), RED)
    card = render_card(CardSpec(title="Title", bullets=("a",), width=800, height=400), picture)
    assert count_colour(card, RED, (480, 0, 800, 400)) > 50_000
    assert count_colour(card, RED, (0, 0, 400, 400)) == 0


def test_portrait_card_puts_the_picture_under_the_title() -> None:
    picture = Image.new("RGB", (300, 300), RED)
    card = render_card(CardSpec(title="Title", bullets=("a", "b"), width=400, height=800), picture)
    assert count_colour(card, RED, (0, 0, 400, 100)) == 0  # the title band
    assert count_colour(card, RED, (0, 100, 400, 500)) > 30_000
    assert count_colour(card, RED, (0, 500, 400, 800)) == 0  # the bullets below


@pytest.mark.parametrize(("theme", "background"), [("light", (255, 255, 255)), ("dark", (0x1A, 0x1B, 0x1E))])
def test_theme_and_accent_colour(theme: str, background: tuple[int, int, int]) -> None:
    card = render_card(CardSpec(title="T", width=400, height=400, theme=theme, accent="#00FF00"))  # type: ignore[arg-type]
    assert card.getpixel((399, 399)) == background
    assert card.getpixel((1, 200)) == (0, 255, 0)  # the accent bar on the left edge
