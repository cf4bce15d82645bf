"""InvokeAI image names for pixelmill files: ``<file_id>.<ext>`` (``file_01J….png``).

InvokeAI names an image ``<uuid>.png`` and clients treat the name as opaque; pixelmill's image is a
:class:`~pixelmill.db.models.File` (an upload, or a run's output recorded by the media store), so the
name is the file's id plus the extension of its type, and reading a name back needs no lookup table.
"""

from __future__ import annotations

import re
from typing import Any

from pixelmill.services.run_outputs import extension

# The file id (``file_`` + a ULID, as pixelmill.ids makes them) and an extension.
_NAME = re.compile(r"^(?P<file_id>file_[0-9A-Z]{26})\.(?P<ext>[a-z0-9]{1,5})$")


def image_name_for(file_id: str, ext: str) -> str:
    """The InvokeAI name of file ``file_id`` whose type's extension is ``ext`` (``png``, ``jpg``)."""
    return f"{file_id}.{ext}"


def image_name_of(file_id: str, mime: str | None) -> str:
    """The name of a file of media type ``mime`` (``image/png`` -> ``….png``)."""
    return image_name_for(file_id, extension(mime))


def file_id_of(image_name: str) -> str | None:
    """The file id an image name stands for; None for a name pixelmill never hands out."""
    match = _NAME.match(image_name)
    return match.group("file_id") if match is not None else None


def image_name_of_ref(ref: Any) -> str | None:
    """The name of a stored media reference (an ``ImageRef`` as JSON: ``{file_id, mime, …}``);
    None when it carries no file record."""
    if not isinstance(ref, dict):
        return None
    file_id = ref.get("file_id")
    mime = ref.get("mime")
    if not isinstance(file_id, str):
        return None
    return image_name_of(file_id, mime if isinstance(mime, str) else None)
