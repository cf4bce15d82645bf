from __future__ import annotations

import numpy as np
import pytest

from pixelmill.errors import PixelmillError
from pixelmill.imaging.geometry import crop, parse_ratio, ratio_size, reframe_crop, reframe_pad, resize, upscale
from pixelmill.imaging.saliency import best_window, saliency_map


@pytest.mark.parametrize(("size", "ratio"), [((1000, 700), (16, 9)), ((333, 501), (4, 5)), ((640, 480), (21, 9))])
def test_ratio_sizes_are_exact(size: tuple[int, int], ratio: tuple[int, int]) -> None:
    for grow in (False, True):
        width, height = ratio_size(*size, ratio, grow=grow)
        assert width * ratio[1] == height * ratio[0]
        if grow:
            assert width >= size[0]
            assert height >= size[1]
        else:
            assert width <= size[0]
            assert height <= size[1]


def test_ratios_are_parsed_and_reduced() -> None:
    assert parse_ratio("32:18") == (16, 9)
    assert parse_ratio("4/5") == (4, 5)
    for bad in ("16x9", "0:1", "1:20"):
        with pytest.raises(PixelmillError):
            parse_ratio(bad)


def test_saliency_crop_keeps_the_object() -> None:
    picture = np.full((100, 300, 3), 120, np.uint8)
    picture[40:60, 230:250] = (255, 20, 20)
    assert saliency_map(picture)[50, 240] > saliency_map(picture)[50, 60]
    cropped = reframe_crop(picture, (1, 1))
    assert cropped.shape == (100, 100, 3)
    assert (cropped == (255, 20, 20)).all(axis=2).sum() == 400
    weights = np.zeros((10, 10), np.float32)
    weights[7, 8] = 1
    assert best_window(weights, 3, 3) == (6, 5)


def test_padding_centres_the_image() -> None:
    picture = np.full((10, 20, 3), 200, np.uint8)
    padded = reframe_pad(picture, (1, 1), "color", (0, 0, 255))
    assert padded.shape == (20, 20, 3)
    assert tuple(padded[0, 0]) == (0, 0, 255)
    assert (padded[5:15] == 200).all()


def test_resize_crop_and_upscale() -> None:
    picture = np.zeros((50, 100, 3), np.uint8)
    assert resize(picture, 40, 40, "fit").shape == (20, 40, 3)
    assert resize(picture, 40, 40, "fill").shape == (40, 40, 3)
    assert resize(picture, 40, 40, "stretch").shape == (40, 40, 3)
    assert resize(picture, None, 10).shape == (10, 20, 3)
    assert crop(picture, 90, 40, 10, 10).shape == (10, 10, 3)
    with pytest.raises(PixelmillError):
        crop(picture, 95, 0, 10, 10)
    assert upscale(np.zeros((5, 6, 4), np.uint8), 4).shape == (20, 24, 4)
