"""InvokeAI image names <-> pixelmill files.

InvokeAI names every image ``<uuid>.png`` and fetches it by that name. Here an image name is the
pixelmill file id with the extension of its media type (``file_01J….png``): every image a run makes
and every upload is a file row of its workspace, so the name resolves through the workspace like
any file id, and another workspace's name is simply not found. Pure functions.
"""

from __future__ import annotations

import re

from pixelmill.services.run_outputs import extension

_NAME = re.compile(r"^(?P<file_id>file_[A-Za-z0-9]{1,60})\.(?P<ext>[a-z0-9]{1,5})$")


def image_name_for(file_id: str, mime: str | None = "image/png") -> str:
    """The InvokeAI image name of file ``file_id``: its id plus the extension of ``mime``."""
    return f"{file_id}.{extension(mime or 'image/png')}"


def file_id_for(image_name: str) -> str | None:
    """The file id behind an image name, or None when the name is not one this server hands out."""
    match = _NAME.match(image_name)
    return match.group("file_id") if match else None
