from __future__ import annotations

import numpy as np
import pytest

from pixelmill.imaging.background import remove_background
from pixelmill.imaging.compose import contact_sheet, draw_text
from pixelmill.imaging.enhance import enhance
from pixelmill.imaging.styles import STYLES, apply_style
from tests.support.images import photo_like, product_shot


@pytest.mark.parametrize("style", sorted(STYLES))
def test_each_style_is_deterministic_and_keeps_alpha(style: str) -> None:
    photo = photo_like(64, 48)
    with_alpha = np.dstack([photo, np.full((48, 64), 77, np.uint8)])
    first = apply_style(with_alpha, style, seed=3)
    assert first.shape == (48, 64, 4)
    assert (first[:, :, 3] == 77).all()
    assert np.array_equal(first, apply_style(with_alpha, style, seed=3))
    assert np.abs(first[:, :, :3].astype(np.int16) - photo).mean() > 5


def test_oil_paint_flattens_fine_detail_into_strokes() -> None:
    photo = photo_like(256, 256)
    painted = apply_style(photo, "oil_paint")
    assert (
        np.abs(np.diff(painted.astype(np.float32), axis=1)).mean()
        < np.abs(np.diff(photo.astype(np.float32), axis=1)).mean()
    )


def test_neutral_enhance_changes_nothing() -> None:
    photo = photo_like(40, 30)
    assert np.array_equal(enhance(photo, sharpen=0, denoise=0, local_contrast=0, saturation=1.0), photo)


def test_background_removal_finds_the_subject() -> None:
    cut = remove_background(product_shot(120))
    assert cut[60, 60, 3] == 255
    assert cut[5, 5, 3] == 0


def test_text_and_contact_sheet_layouts() -> None:
    photo = photo_like(200, 100)
    captioned = draw_text(photo, "a long caption that has to wrap over more than one line", font_size=20)
    assert captioned.shape[1] == 200
    assert captioned.shape[0] > 100 + 2 * 20
    assert np.array_equal(captioned[:100], photo)
    sheet = contact_sheet([photo] * 5, columns=3, cell_size=50, gap=2)
    assert sheet.shape == (2 * 50 + 3 * 2, 3 * 50 + 4 * 2, 3)
