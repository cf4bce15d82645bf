"""The working sets image nodes declare: measured figures (nodes/image_memory.py) applied to their
inputs' sizes, and a default edit limit that fits the default budget of a modest machine."""

from __future__ import annotations

import pixelmill.nodes  # noqa: F401 - registers the node types
from pixelmill.config import Settings
from pixelmill.engine.node import BaseNode, MediaSizes, default_registry
from pixelmill.nodes.image_edit import ImageStyle, ImageUpscale, ImageVariations
from pixelmill.nodes.image_geometry import ImageResize
from pixelmill.nodes.image_memory import BYTES_PER_PIXEL, IMAGE_BASE_MEMORY, STYLE_BYTES_PER_PIXEL

GIB = 1024**3
IMAGE = {"file_id": "file_x"}


def one(width: int, height: int) -> MediaSizes:
    return MediaSizes(images=((width, height),))


def test_the_default_edit_limit_fits_the_costliest_edit_in_half_of_a_4_gib_machine() -> None:
    limit = Settings.model_fields["max_edit_pixels"].default
    fraction = Settings.model_fields["memory_budget_fraction"].default
    costliest = max(STYLE_BYTES_PER_PIXEL, key=STYLE_BYTES_PER_PIXEL.__getitem__)
    style = ImageStyle.model_validate({"image": IMAGE, "style": costliest})
    assert style.working_set(MediaSizes(images=((limit, 1),))) <= 4 * GIB * fraction
    # and the 49 Mpx image of the report would not have fitted
    assert style.working_set(one(7000, 7000)) > 4 * GIB * fraction


def test_estimates_follow_the_style_the_factor_and_the_output_size() -> None:
    sizes = one(2000, 1000)
    oil = ImageStyle.model_validate({"image": IMAGE, "style": "oil_paint"}).working_set(sizes)
    pixel_art = ImageStyle.model_validate({"image": IMAGE, "style": "pixel_art"}).working_set(sizes)
    assert oil == IMAGE_BASE_MEMORY + STYLE_BYTES_PER_PIXEL["oil_paint"] * 2_000_000
    assert pixel_art - IMAGE_BASE_MEMORY < (oil - IMAGE_BASE_MEMORY) / 5
    double = ImageUpscale.model_validate({"image": IMAGE, "factor": 2}).working_set(sizes) - IMAGE_BASE_MEMORY
    quadruple = ImageUpscale.model_validate({"image": IMAGE, "factor": 4}).working_set(sizes) - IMAGE_BASE_MEMORY
    assert quadruple == 4 * double
    small = ImageResize.model_validate({"image": IMAGE, "width": 100}).working_set(sizes)
    large = ImageResize.model_validate({"image": IMAGE, "width": 8000}).working_set(sizes)
    assert small == ImageResize.model_validate({"image": IMAGE, "width": 100, "height": 50}).working_set(sizes)
    assert large - small == BYTES_PER_PIXEL["image.convert"] * (8000 * 4000 - 100 * 50)
    variations = ImageVariations.model_validate({"image": IMAGE, "styles": ["pixel_art", "oil_paint"]})
    assert variations.working_set(sizes) == oil


def test_every_node_that_edits_pixels_declares_memory_per_pixel() -> None:
    editors = [cls for cls in default_registry.all() if cls.edits_pixels]
    assert {"image.style", "image.resize", "image.composite", "video.from_image"} <= {c.node_type for c in editors}
    for cls in editors:
        declares = cls.bytes_per_pixel > 0 or cls.working_set is not BaseNode.working_set
        assert declares, f"{cls.node_type} edits pixels but declares no memory per pixel"
