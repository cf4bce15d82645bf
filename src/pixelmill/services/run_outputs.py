"""Where a run's media outputs live on this server, under two paths serving the same bytes:

- ``/v1/outputs/runs/{run_id}/{node_id}.{ext}``, handed out as short-lived signed links (``value``),
  so a browser can follow them without a credential; re-reading the run issues fresh ones.
- ``/runs/{run_id}/{node_id}.{ext}``, the stable form imageat documents (``url``): the same on every
  read for as long as the run keeps its outputs, read with the owner's key.

A node whose output is ``images`` has one path per image, ``{node_id}.{index}.{ext}`` (node ids
never contain dots, so the two forms cannot be confused).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pixelmill.storage.base import BlobStore
from pixelmill.storage.signing import media_link, sign_path

MEDIA_TYPES = frozenset({"image", "images", "video", "audio"})

_EXTENSIONS: dict[str, str] = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/webp": "webp",
    "image/gif": "gif",
    "image/bmp": "bmp",
    "image/tiff": "tiff",
    "video/mp4": "mp4",
    "video/webm": "webm",
    "video/quicktime": "mov",
    "image/apng": "png",
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/mpeg": "mp3",
    "audio/ogg": "ogg",
    "audio/flac": "flac",
    "audio/mp4": "m4a",
}

_NAME = re.compile(r"^(?P<node_id>[A-Za-z0-9][A-Za-z0-9_-]{0,99})(?:\.(?P<index>\d{1,4}))?\.(?P<ext>[a-z0-9]{1,5})$")


def extension(mime: str | None) -> str:
    """The file extension a media type is served under (``bin`` for anything unexpected)."""
    return _EXTENSIONS.get((mime or "").lower(), "bin")


@dataclass(frozen=True, slots=True)
class OutputName:
    node_id: str
    index: int | None
    ext: str


def parse_output_name(name: str) -> OutputName | None:
    match = _NAME.match(name)
    if match is None:
        return None
    index = match.group("index")
    return OutputName(match.group("node_id"), int(index) if index is not None else None, match.group("ext"))


def output_refs(output: dict[str, Any]) -> list[dict[str, Any]]:
    """The media references of one stored output ``{"type", "value"}`` (one, a list, or none)."""
    if output.get("type") not in MEDIA_TYPES:
        return []
    value = output.get("value")
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, dict)]
    return []


def output_name(node_id: str, ref: dict[str, Any], index: int | None) -> str:
    suffix = f".{index}" if index is not None else ""
    return f"{node_id}{suffix}.{extension(ref.get('mime'))}"


def output_path(run_id: str, node_id: str, ref: dict[str, Any], index: int | None) -> str:
    return f"/v1/outputs/runs/{run_id}/{output_name(node_id, ref, index)}"


def stable_url(output: dict[str, Any], *, run_id: str, node_id: str, base_url: str) -> str | list[str] | None:
    """The stable absolute URL of a media output (a list for ``images``); None for text and JSON."""
    kind = output.get("type")
    if kind not in MEDIA_TYPES:
        return None
    base = base_url.rstrip("/")
    refs = output_refs(output)
    if kind == "images":
        return [f"{base}/runs/{run_id}/{output_name(node_id, ref, index)}" for index, ref in enumerate(refs)]
    return f"{base}/runs/{run_id}/{output_name(node_id, refs[0], None)}" if refs else None


def public_value(
    output: dict[str, Any],
    *,
    run_id: str,
    node_id: str,
    secret: bytes,
    ttl: int,
    base_url: str,
    blobs: BlobStore | None = None,
) -> Any:
    """The client-facing value of one stored output ``{"type", "value"}``: absolute signed URLs for
    media (a list of them for ``images``; presigned bucket URLs when ``blobs`` can presign), the
    plain value for text and JSON."""
    kind = output.get("type")
    refs = output_refs(output)

    def url(ref: dict[str, Any], index: int | None) -> str:
        path = output_path(run_id, node_id, ref, index)
        sha256, mime = ref.get("sha256"), ref.get("mime")
        if blobs is None or not isinstance(sha256, str):
            return sign_path(secret, path, ttl).absolute(base_url)
        link = media_link(
            blobs,
            path=path,
            sha256=sha256,
            mime=mime if isinstance(mime, str) else None,
            secret=secret,
            ttl_seconds=ttl,
            base_url=base_url,
        )
        return link.url

    if kind == "images":
        return [url(ref, index) for index, ref in enumerate(refs)]
    if kind in MEDIA_TYPES:
        return url(refs[0], None) if refs else None
    return output.get("value")


def public_entry(
    output: dict[str, Any],
    *,
    run_id: str,
    node_id: str,
    secret: bytes,
    ttl: int,
    base_url: str,
    blobs: BlobStore | None = None,
) -> dict[str, Any]:
    """One ``outputs`` entry as every reader sees it (run reads, events, webhooks): ``type``, ``value``
    (see :func:`public_value`) and, for media, the stable ``url``."""
    entry: dict[str, Any] = {
        "type": output.get("type"),
        "value": public_value(
            output, run_id=run_id, node_id=node_id, secret=secret, ttl=ttl, base_url=base_url, blobs=blobs
        ),
    }
    url = stable_url(output, run_id=run_id, node_id=node_id, base_url=base_url)
    if url is not None:
        entry["url"] = url
    return entry
