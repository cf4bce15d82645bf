"""What a node will hold in memory, and whether it may ever start: read before anything is decoded.

The sizes of a node's media inputs come from their stored records (the width and height recorded
when a file was uploaded or made), so a decompression bomb is measured by its header, never by
decoding it. Two refusals cost nothing and name the limit that applied: an image over
``max_edit_pixels`` given to a node that edits pixels (IMAGE_TOO_LARGE), and an estimate over the
whole memory budget (MEMORY_BUDGET_EXCEEDED). Whatever passes waits its turn in the budget.
"""

from __future__ import annotations

from collections.abc import Iterator

from pixelmill import errors
from pixelmill.config import Settings
from pixelmill.engine.context import MediaStore
from pixelmill.engine.node import BaseNode, MediaSizes, Size
from pixelmill.engine.run_context import RunServices
from pixelmill.engine.values import ImageRef, MediaRef, VideoRef
from pixelmill.errors import PixelmillError


def media_inputs(instance: BaseNode) -> Iterator[tuple[str, MediaRef]]:
    """``(field, reference)`` for every image and video input, lists included, in field order."""
    for name in type(instance).model_fields:
        value = getattr(instance, name)
        for item in value if isinstance(value, list) else (value,):
            if isinstance(item, ImageRef | VideoRef):
                yield name, item


async def media_sizes(instance: BaseNode, media: MediaStore) -> MediaSizes:
    """The sizes of the node's input images and video frames, from their stored records."""
    images: list[Size] = []
    frames: list[Size] = []
    for _field, ref in media_inputs(instance):
        size = await media.media_size(ref)
        if size is not None:
            (frames if isinstance(ref, VideoRef) else images).append(size)
    return MediaSizes(images=tuple(images), video_frames=tuple(frames))


def check_edit_pixels(cls: type[BaseNode], sizes: MediaSizes, settings: Settings, node_id: str) -> None:
    """IMAGE_TOO_LARGE, naming ``max_edit_pixels``, for an image an editing node must not decode."""
    limit = settings.max_edit_pixels
    for width, height in sizes.images if cls.edits_pixels else ():
        if width * height > limit:
            raise PixelmillError(
                errors.IMAGE_TOO_LARGE,
                f"The image is {width}x{height} ({width * height} pixels); node {node_id!r} ({cls.node_type}) "
                f"edits images of at most {limit} pixels (setting max_edit_pixels)",
                width=width,
                height=height,
                pixels=width * height,
                max_pixels=limit,
                limit_setting="max_edit_pixels",
                node_id=node_id,
            )


async def estimate(instance: BaseNode, node_id: str, services: RunServices) -> int:
    """The node's working-set estimate in bytes, after the refusals above (which raise)."""
    cls = type(instance)
    sizes = MediaSizes()
    if any(True for _ in media_inputs(instance)):
        sizes = await media_sizes(instance, services.media)
    check_edit_pixels(cls, sizes, services.settings, node_id)
    need = instance.working_set(sizes)
    services.memory.refuse_if_never_fits(need, what=f"Node {node_id!r} ({cls.node_type})")
    return need
