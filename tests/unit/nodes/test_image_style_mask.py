"""``image.style``'s mask: the restyle lands where the mask is white and nowhere it is black."""

from __future__ import annotations

import numpy as np

from pixelmill.nodes.image_edit import masked


def test_white_takes_the_edit_black_keeps_the_original_grey_mixes() -> None:
    original = np.full((2, 3, 3), 100, np.uint8)
    edited = np.full((2, 3, 3), 200, np.uint8)
    mask = np.array([[0, 255, 128], [0, 255, 128]], np.uint8)
    result = masked(original, edited, mask)
    assert result[:, 0].tolist() == [[100] * 3] * 2
    assert result[:, 1].tolist() == [[200] * 3] * 2
    assert result[:, 2].tolist() == [[150] * 3] * 2


def test_an_rgb_mask_reads_as_grey_and_alpha_is_kept() -> None:
    original = np.zeros((1, 2, 4), np.uint8)
    original[..., 3] = 77
    edited = np.full((1, 2, 4), 240, np.uint8)
    mask = np.zeros((1, 2, 3), np.uint8)
    mask[0, 1] = 255
    result = masked(original, edited, mask)
    assert result[0, 0].tolist() == [0, 0, 0, 77]
    assert result[0, 1].tolist() == [240, 240, 240, 77]
