"""pixelmill's finished runs as ima2's answers: the JSON of each generation route, the events of the
per-request streams, the sidecar metadata and the history rows. Pure functions of the job (what the
client asked, kept on the run) and the named outputs with their bytes; field names are ima2's.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pixelmill.api.dialects.ima2.jobs import Ima2Job


@dataclass(frozen=True, slots=True)
class Produced:
    """One named output of a finished job, with its bytes (ima2 answers images inline)."""

    filename: str
    mime: str
    data: bytes
    created_ms: int


def data_url(item: Produced) -> str:
    return f"data:{item.mime};base64,{base64.b64encode(item.data).decode()}"


def generated_url(filename: str) -> str:
    return f"/generated/{filename}"


TOKEN_FIELDS = ("input_tokens", "output_tokens", "total_tokens")


def tokens(usage: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """ima2's ``usage``: the upstream's token counts, None when nothing upstream reported any."""
    counted = {name: usage[name] for name in TOKEN_FIELDS if name in usage} if usage else {}
    return counted or None


def revised_prompt(usage: Mapping[str, Any] | None) -> str | None:
    """The prompt as the upstream rewrote it, when it says (``revised_prompt`` in its usage report)."""
    revised = usage.get("revised_prompt") if usage else None
    return revised if isinstance(revised, str) else None


def _common(job: Ima2Job, usage: Mapping[str, Any] | None) -> dict[str, Any]:
    extra = job.extra
    return {
        "usage": tokens(usage),
        "provider": job.provider,
        "reasoningEffort": extra.get("reasoningEffort"),
        "webSearchCalls": 0,
        "quality": job.quality,
        "size": job.size,
        "moderation": extra.get("moderation"),
        "model": job.model,
        "warnings": list(extra.get("warnings") or []),
        "revisedPrompt": revised_prompt(usage),
        "promptMode": extra.get("promptMode", "auto"),
        "webSearchEnabled": bool(extra.get("webSearchEnabled", False)),
    }


def seconds(elapsed: float) -> float:
    return round(elapsed, 1)


def generate_payload(
    job: Ima2Job, items: Sequence[Produced], elapsed: float, usage: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """``POST /api/generate``'s answer (and its ``done`` event): ``image`` for one, ``images[]`` for more."""
    common = _common(job, usage)
    if len(items) == 1:
        (item,) = items
        return {
            "image": data_url(item),
            "elapsed": seconds(elapsed),
            "filename": item.filename,
            "requestId": job.requestId,
            "providerUrl": None,
            "createdAt": item.created_ms,
            **common,
        }
    images = [
        {
            "image": data_url(item),
            "filename": item.filename,
            "revisedPrompt": common["revisedPrompt"],
            "providerUrl": None,
            "createdAt": item.created_ms,
        }
        for item in items
    ]
    return {"images": images, "elapsed": seconds(elapsed), "count": len(images), "requestId": job.requestId, **common}


def edit_payload(
    job: Ima2Job, item: Produced, elapsed: float, usage: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """``POST /api/edit``'s answer (ima2 sends no requestId here)."""
    return {
        "image": data_url(item),
        "elapsed": seconds(elapsed),
        "filename": item.filename,
        "providerUrl": None,
        "createdAt": item.created_ms,
        **_common(job, usage),
    }


def node_payload(
    job: Ima2Job, item: Produced, elapsed: float, usage: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The node answer: the JSON body, the SSE ``done`` and the bus ``done`` are this same object."""
    common = _common(job, usage)
    return {
        "nodeId": job.nodeId,
        "parentNodeId": job.parentNodeId,
        "requestId": job.requestId,
        "image": data_url(item),
        "filename": item.filename,
        "url": generated_url(item.filename),
        "elapsed": seconds(elapsed),
        "usage": common["usage"],
        "webSearchCalls": 0,
        "webSearchEnabled": common["webSearchEnabled"],
        "provider": job.provider,
        "model": job.model,
        "reasoningEffort": common["reasoningEffort"],
        "size": job.size,
        "format": job.extra.get("format", "png"),
        "moderation": common["moderation"],
        "refsCount": job.extra.get("refsCount", 0),
        "contextMode": job.extra.get("contextMode", "parent-plus-refs"),
        "searchMode": job.extra.get("searchMode"),
        "warnings": common["warnings"],
        "revisedPrompt": common["revisedPrompt"],
        "promptMode": common["promptMode"],
    }


def sequence_status(requested: int, returned: int) -> str:
    return "empty" if returned == 0 else "complete" if returned >= requested else "partial"


def multimode_phase(job: Ima2Job) -> dict[str, Any]:
    return {
        "phase": "streaming",
        "requestId": job.requestId,
        "sequenceId": job.extra.get("sequenceId"),
        "maxImages": job.n,
    }


def multimode_images(
    job: Ima2Job, items: Sequence[Produced], usage: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The ``image`` events of a sequence, in order (``sequenceIndex`` counts from 1)."""
    status = sequence_status(job.n, len(items))
    revised = revised_prompt(usage)
    return [
        {
            "image": data_url(item),
            "filename": item.filename,
            "createdAt": item.created_ms,
            "providerUrl": None,
            "revisedPrompt": revised,
            "sequenceId": job.extra.get("sequenceId"),
            "sequenceIndex": index + 1,
            "sequenceTotalRequested": job.n,
            "sequenceTotalReturned": len(items),
            "sequenceStatus": status,
        }
        for index, item in enumerate(items)
    ]


def multimode_done(
    job: Ima2Job, items: Sequence[Produced], elapsed: float, usage: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The sequence's ``done``; ``elapsed`` is a string here, as ima2 sends it."""
    common = _common(job, usage)
    return {
        "ok": True,
        "requestId": job.requestId,
        "sequenceId": job.extra.get("sequenceId"),
        "requested": job.n,
        "returned": len(items),
        "status": sequence_status(job.n, len(items)),
        "elapsed": f"{elapsed:.1f}",
        "images": multimode_images(job, items, usage),
        "provider": job.provider,
        "quality": job.quality,
        "size": job.size,
        "moderation": common["moderation"],
        "model": job.model,
        "usage": common["usage"],
        "webSearchCalls": 0,
        "webSearchEnabled": common["webSearchEnabled"],
        "warnings": common["warnings"],
        "extraIgnored": [],
        "promptMode": common["promptMode"],
    }


def video_payload(
    job: Ima2Job, filename: str, elapsed: float, duration: float | None, usage: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The video's ``done`` (and its JSON answer)."""
    extra = job.extra
    video = {
        "duration": duration if duration is not None else extra.get("duration"),
        "resolution": extra.get("resolution"),
        "aspectRatio": extra.get("aspectRatio"),
        "sourceImageFilename": extra.get("sourceImageFilename"),
        "xaiVideoRequestId": None,
        "requestedModel": job.model,
        "effectiveModel": job.model,
        "modelFallback": False,
    }
    return {
        "requestId": job.requestId,
        "filename": filename,
        "url": generated_url(filename),
        "providerUrl": None,
        "mediaType": "video",
        "revisedPrompt": revised_prompt(usage),
        "elapsed": seconds(elapsed),
        "usage": tokens(usage),
        "requestedModel": job.model,
        "effectiveModel": job.model,
        "modelFallback": False,
        "video": video,
        "videoContinuity": extra.get("videoContinuity"),
    }


def node_failure(job: Ima2Job, code: str, message: str, status: int) -> dict[str, Any]:
    """The node routes' error: nested, with the parent and status beside it."""
    return {
        "error": {"code": code, "message": message},
        "parentNodeId": job.parentNodeId,
        "status": status,
        "requestId": job.requestId,
    }


def sidecar(job: Ima2Job | None, prompt_text: str, created: int, elapsed: float | None) -> dict[str, Any]:
    """The metadata ima2 keeps beside a file (its ``.json`` sidecar, private: shown by ``GET
    /api/node/{id}`` and folded into history rows, never served under ``/generated``)."""
    extra = job.extra if job is not None else {}
    kind = job.kind if job is not None else None
    meta: dict[str, Any] = {
        "kind": {"classic": "classic", "multimode": "multimode-image", "node": "generate"}.get(kind or "", kind),
        "requestId": job.requestId if job else None,
        "sessionId": job.sessionId if job else None,
        "clientNodeId": job.clientNodeId if job else None,
        "prompt": prompt_text,
        "userPrompt": prompt_text,
        "revisedPrompt": None,
        "promptMode": extra.get("promptMode", "auto"),
        "quality": job.quality if job else None,
        "size": job.size if job else None,
        "format": extra.get("format"),
        "moderation": extra.get("moderation"),
        "model": job.model if job else None,
        "reasoningEffort": extra.get("reasoningEffort"),
        "provider": job.provider if job else "oauth",
        "createdAt": created,
        "usage": None,
        "webSearchCalls": 0,
        "webSearchEnabled": bool(extra.get("webSearchEnabled", False)),
        "refsCount": extra.get("refsCount", 0),
        "elapsed": seconds(elapsed) if elapsed is not None else None,
    }
    if job is not None and job.kind == "node":
        meta.update(
            nodeId=job.nodeId,
            parentNodeId=job.parentNodeId,
            contextMode=extra.get("contextMode"),
            searchMode=extra.get("searchMode"),
            kind="edit" if job.parentNodeId else "generate",
            options={
                "quality": job.quality,
                "size": job.size,
                "format": extra.get("format"),
                "moderation": extra.get("moderation"),
            },
        )
    return meta


@dataclass(frozen=True, slots=True)
class HistoryFile:
    """One named file as a history row needs it."""

    filename: str
    mime: str
    created_ms: int
    position: int
    favorite: bool
    has_thumbnail: bool


def history_row(file: HistoryFile, job: Ima2Job | None, prompt_text: str, elapsed: float | None) -> dict[str, Any]:
    """One ``GET /api/history`` item: the sidecar's fields plus where the file and thumbnail are served."""
    meta = sidecar(job, prompt_text, file.created_ms, elapsed)
    video = file.mime.startswith("video/")
    extra = job.extra if job is not None else {}
    multimode = job is not None and job.kind == "multimode"
    row = {
        "filename": file.filename,
        "url": generated_url(file.filename),
        "thumb": generated_url(f"{file.filename}.thumb.jpg") if file.has_thumbnail else None,
        "mediaType": "video" if video else "image",
        "video": None,
        "videoSeries": None,
        "videoContinuity": extra.get("videoContinuity"),
        "composerPrompt": None,
        "composerInsertedPrompts": None,
        "nodeId": job.nodeId if job else None,
        "parentNodeId": job.parentNodeId if job else None,
        "canvasVersion": None,
        "canvasSourceFilename": None,
        "canvasEditableFilename": None,
        "canvasMergedAt": None,
        "annotationsBaked": None,
        "annotationSnapshot": None,
        "annotationOnly": None,
        "setId": None,
        "cardId": None,
        "cardOrder": None,
        "headline": None,
        "body": None,
        "cards": None,
        "providerUrl": None,
        "sequenceId": extra.get("sequenceId") if multimode else None,
        "sequenceIndex": file.position + 1 if multimode else None,
        "sequenceTotalRequested": job.n if multimode and job else None,
        "sequenceTotalReturned": None,
        "sequenceStatus": None,
        "isFavorite": file.favorite,
    }
    for name in ("options", "contextMode", "searchMode", "moderation", "webSearchEnabled", "createdAt"):
        meta.pop(name, None)
    return {**row, **meta, "createdAt": file.created_ms}
