"""Pieces the sync and async clients share: headers, response parsing, output file names."""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel

from pixelmill import __version__
from pixelmill.client.models import Run

M = TypeVar("M", bound=BaseModel)

_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/webp": ".webp",
    "image/gif": ".gif",
    "video/mp4": ".mp4",
    "video/webm": ".webm",
    "audio/wav": ".wav",
    "audio/x-wav": ".wav",
    "audio/mpeg": ".mp3",
    "audio/ogg": ".ogg",
    "audio/flac": ".flac",
    "text/plain": ".txt",
    "application/json": ".json",
}


def default_headers(api_key: str | None) -> dict[str, str]:
    headers = {"User-Agent": f"pixelmill-python/{__version__}", "Accept": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    return headers


def parse(model: type[M], response: httpx.Response) -> M:
    return model.model_validate(response.json())


def same_origin(url: str, base_url: str) -> bool:
    """Whether ``url`` points at the API server (so the bearer credential may go with it)."""
    a, b = urlsplit(url), urlsplit(base_url)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)


def extension_for(content_type: str | None, url: str) -> str:
    mime = (content_type or "").split(";")[0].strip().lower()
    if mime in _EXTENSIONS:
        return _EXTENSIONS[mime]
    guessed = mimetypes.guess_extension(mime) if mime else None
    if guessed:
        return guessed
    suffix = Path(urlsplit(url).path).suffix
    return suffix or ".bin"


def output_targets(run: Run) -> list[tuple[str, str]]:
    """(file stem, url) for every media output of ``run``; several images get ``_1``, ``_2`` …"""
    targets: list[tuple[str, str]] = []
    for name, output in run.outputs.items():
        urls = output.urls
        if len(urls) == 1 and output.type != "images":
            targets.append((name, urls[0]))
        else:
            targets.extend((f"{name}_{index}", url) for index, url in enumerate(urls, start=1))
    return targets


def write_value_outputs(run: Run, directory: Path) -> list[Path]:
    """Text and JSON outputs as ``<name>.txt`` / ``<name>.json``."""
    written: list[Path] = []
    for name, output in run.outputs.items():
        if output.urls or output.type in ("image", "images", "video", "audio"):
            continue
        if output.type == "text" and isinstance(output.value, str):
            path = directory / f"{name}.txt"
            path.write_text(output.value)
        else:
            path = directory / f"{name}.json"
            path.write_text(json.dumps(output.value, indent=2))
        written.append(path)
    return written


def temporary_path(target: Path) -> Path:
    """Where a download lands before it is complete, so ``target`` is never half-written."""
    return target.with_name(f".{target.name}.part")


def clean(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}
