"""The outside programs and optional packages the media providers need, checked with a clear error.

A missing ``espeak-ng`` binary or a missing PyAV (the FFmpeg bindings of the ``media`` extra) is an
installation problem, so it surfaces as ``DEPENDENCY_MISSING`` naming the fix, never as a traceback.
"""

from __future__ import annotations

import importlib
import shutil
from types import ModuleType

from pixelmill import errors
from pixelmill.errors import PixelmillError

# How to install each system program, keyed by its executable name.
INSTALL_HINTS: dict[str, str] = {
    "espeak-ng": "install espeak-ng: apt-get install espeak-ng",
    "ffmpeg": "install ffmpeg: apt-get install ffmpeg",
}

AV_HINT = "install PyAV with the media extra: pip install 'pixelmill[media]'"
MATPLOTLIB_HINT = "install matplotlib with the media extra: pip install 'pixelmill[media]'"


def require_program(name: str) -> str:
    """The absolute path of executable ``name`` on PATH, or DEPENDENCY_MISSING naming the fix."""
    found = shutil.which(name)
    if found is None:
        hint = INSTALL_HINTS.get(name, f"install {name}")
        raise PixelmillError(errors.DEPENDENCY_MISSING, f"{name} is not installed; {hint}", dependency=name)
    return found


def import_optional(module: str, hint: str) -> ModuleType:
    """Import an optional package lazily, so the core installs and imports without the media extra."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise PixelmillError(
            errors.DEPENDENCY_MISSING, f"{module} is not installed; {hint}", dependency=module
        ) from exc


def require_av() -> ModuleType:
    """PyAV, which encodes and decodes H.264, MP3 and Opus with the FFmpeg libraries it bundles."""
    return import_optional("av", AV_HINT)
