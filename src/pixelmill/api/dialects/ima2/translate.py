"""ima2's generation requests -> the graphs pixelmill runs, and pixelmill's results -> ima2's answers.

Pure functions (no database, no HTTP): the routes decode and check a body here first, so every code
ima2 documents for bad input (``INVALID_PROMPT``, ``REF_*``, ``EDIT_MASK_*``, video limits …) is
answered before anything is stored or queued. Field names on the wire are ima2's own (camelCase).
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from PIL import Image, UnidentifiedImageError

from pixelmill.api.dialects.ima2 import codes
from pixelmill.api.dialects.ima2.jobs import Ima2Job
from pixelmill.api.dialects.ima2.providers_map import Route
from pixelmill.errors import PixelmillError
from pixelmill.providers.base import ModelInfo
from pixelmill.services.prompt_cues import STYLE_WORDS, cue

MAX_PROMPT_CHARS = 32_000
MAX_IMAGES = 24
MAX_REFS = 5
MAX_REF_B64_CHARS = 7_340_032
MAX_MASK_BYTES = 16 * 1024 * 1024
QUALITIES = ("low", "medium", "high")
MODERATIONS = ("auto", "low")
REASONING_EFFORTS = ("none", "low", "medium", "high", "xhigh", "max")
VIDEO_RESOLUTIONS = ("480p", "720p", "1080p")
VIDEO_ASPECT_RATIOS = ("1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3", "auto")
MAX_VIDEO_REFS = 7
# image.generate makes at most this many images per node; more are split over several nodes.
IMAGES_PER_NODE = 8
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_DATA_URL = re.compile(r"^data:[\w/+.-]*(;[\w=.-]+)*;base64,", re.IGNORECASE)
_BASE64 = re.compile(r"^[A-Za-z0-9+/]+=*$")
_SIZE = re.compile(r"^\d{2,5}x\d{2,5}$")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# Request fields ---------------------------------------------------------------------------------


def request_id(body_value: object, header: str | None) -> str:
    """ima2's rule: the client's id when it matches ``[A-Za-z0-9._:-]{1,128}``, else ``req_<uuid>``."""
    for candidate in (body_value, header):
        if isinstance(candidate, str) and _REQUEST_ID.match(candidate):
            return candidate
    return f"req_{uuid.uuid4()}"


def prompt(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PixelmillError(codes.INVALID_PROMPT)
    if len(value) > MAX_PROMPT_CHARS:
        raise PixelmillError(codes.PROMPT_TOO_LONG)
    return value


def count(value: object, name: str = "n") -> int:
    """1..24; numbers given as strings count, as ima2's ``Number()`` reads them."""
    if value is None:
        return 1
    number: float | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    if number is None or not number.is_integer() or not 1 <= number <= MAX_IMAGES:
        raise PixelmillError(codes.INVALID_COUNT, f"{name} must be an integer from 1 to {MAX_IMAGES}")
    return int(number)


def quality(value: object) -> tuple[str, list[dict[str, Any]]]:
    """The quality and ima2's warnings: anything unknown becomes ``medium``, never an error."""
    if value is None:
        return "medium", []
    if isinstance(value, str) and value in QUALITIES:
        return value, []
    warning = {"code": "QUALITY_DEFAULTED", "field": "quality", "normalizedTo": "medium", "reason": "invalid-quality"}
    return "medium", [warning]


def moderation(value: object) -> str:
    if value is None:
        return "low"
    if isinstance(value, str) and value in MODERATIONS:
        return value
    raise PixelmillError(codes.INVALID_MODERATION)


def reasoning_effort(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and value in REASONING_EFFORTS:
        return value
    raise PixelmillError(codes.INVALID_REASONING_EFFORT, field="reasoningEffort")


def size(value: object) -> str:
    """ima2 passes ``size`` through unchecked ("auto" allowed); a non-string means its default."""
    return value if isinstance(value, str) and value else "1024x1024"


def prompt_mode(value: object) -> str:
    return "direct" if value == "direct" else "auto"


def references(value: object, route: Route | None = None, *, extra_inputs: int = 0) -> list[bytes]:
    """The decoded reference images, checked in ima2's order; ``route`` adds its provider's cap on input
    images (``extra_inputs`` counts a node's parent image)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise PixelmillError(codes.REF_NOT_ARRAY)
    if len(value) > MAX_REFS:
        raise PixelmillError(codes.REF_TOO_MANY, f"At most {MAX_REFS} reference images", limit=MAX_REFS)
    decoded: list[bytes] = []
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise PixelmillError(codes.REF_NOT_STRING, index=index)
        payload = _DATA_URL.sub("", item.strip(), count=1)
        if not payload:
            raise PixelmillError(codes.REF_EMPTY, index=index)
        if len(payload) > MAX_REF_B64_CHARS:
            raise PixelmillError(codes.REF_TOO_LARGE, index=index, limit=MAX_REF_B64_CHARS)
        if not _BASE64.match(payload):
            raise PixelmillError(codes.REF_NOT_BASE64, index=index)
        try:
            decoded.append(base64.b64decode(payload, validate=True))
        except (binascii.Error, ValueError):
            raise PixelmillError(codes.REF_NOT_BASE64, index=index) from None
    check_inputs(route, len(decoded) + extra_inputs)
    return decoded


def check_inputs(route: Route | None, inputs: int) -> None:
    if route is not None and route.max_inputs is not None and inputs > route.max_inputs:
        assert route.too_many_inputs is not None
        raise PixelmillError(route.too_many_inputs, limit=route.max_inputs)


def image_bytes(value: object) -> bytes:
    """An edit's ``image``: raw base64 or a data URL."""
    if not isinstance(value, str) or not value.strip():
        raise PixelmillError(codes.EDIT_INPUT_REQUIRED)
    try:
        return base64.b64decode(_DATA_URL.sub("", value.strip(), count=1), validate=True)
    except (binascii.Error, ValueError):
        raise PixelmillError(codes.INVALID_IMAGE, field="image") from None


def image_dimensions(data: bytes) -> tuple[int, int]:
    try:
        with Image.open(io.BytesIO(data)) as picture:
            return picture.size
    except (UnidentifiedImageError, OSError):
        raise PixelmillError(codes.INVALID_IMAGE, field="image") from None


def mask(value: object, image_size: tuple[int, int], route: Route) -> bytes:
    """An edit's ``mask``: a PNG with alpha, the image's size, at most 16 MiB; the provider must take one."""
    if route.mask_unsupported is not None:
        raise PixelmillError(route.mask_unsupported)
    if not isinstance(value, str) or not value.strip():
        raise PixelmillError(codes.INVALID_EDIT_MASK)
    payload = _DATA_URL.sub("", value.strip(), count=1)
    if len(payload) * 3 // 4 > MAX_MASK_BYTES:
        raise PixelmillError(codes.EDIT_MASK_TOO_LARGE, limit=MAX_MASK_BYTES)
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise PixelmillError(codes.INVALID_EDIT_MASK_BASE64) from None
    if len(data) > MAX_MASK_BYTES:
        raise PixelmillError(codes.EDIT_MASK_TOO_LARGE, limit=MAX_MASK_BYTES)
    if not data.startswith(_PNG_SIGNATURE):
        raise PixelmillError(codes.INVALID_EDIT_MASK_PNG)
    try:
        with Image.open(io.BytesIO(data)) as picture:
            picture.load()
            has_alpha = picture.mode in ("RGBA", "LA", "PA") or (picture.mode == "P" and "transparency" in picture.info)
            dimensions = picture.size
    except (UnidentifiedImageError, OSError):
        raise PixelmillError(codes.INVALID_EDIT_MASK_PNG) from None
    if not has_alpha:
        raise PixelmillError(codes.EDIT_MASK_NO_ALPHA)
    if dimensions != image_size:
        raise PixelmillError(
            codes.EDIT_MASK_DIMENSION_MISMATCH,
            f"mask is {dimensions[0]}x{dimensions[1]}, the image {image_size[0]}x{image_size[1]}",
        )
    return data


def inpaint_mask(alpha_mask: bytes) -> bytes:
    """ima2's mask (transparent where the image changes, as OpenAI's edits take it) as pixelmill's
    inpainting mask (white where it changes, black where it is kept)."""
    with Image.open(io.BytesIO(alpha_mask)) as picture:
        alpha = picture.convert("RGBA").getchannel("A")
    repaint = alpha.point(lambda level: 255 if level < 128 else 0).convert("RGB")
    buffer = io.BytesIO()
    repaint.save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass(frozen=True, slots=True)
class VideoOptions:
    duration: int
    resolution: str
    aspect_ratio: str


def video_options(body: Mapping[str, Any]) -> VideoOptions:
    duration = body.get("duration", 6)
    if isinstance(duration, bool) or not isinstance(duration, int | float) or not float(duration).is_integer():
        raise PixelmillError(codes.INVALID_VIDEO_DURATION, field="duration")
    if not 1 <= int(duration) <= 15:
        raise PixelmillError(codes.INVALID_VIDEO_DURATION, field="duration")
    resolution = body.get("resolution", "720p")
    if resolution not in VIDEO_RESOLUTIONS:
        raise PixelmillError(codes.INVALID_VIDEO_RESOLUTION, field="resolution")
    aspect = body.get("aspectRatio", body.get("aspect_ratio", "16:9"))
    if aspect not in VIDEO_ASPECT_RATIOS:
        raise PixelmillError(codes.INVALID_VIDEO_ASPECT_RATIO, field="aspectRatio")
    return VideoOptions(int(duration), str(resolution), str(aspect))


def video_prompt(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PixelmillError(codes.PROMPT_REQUIRED)
    if len(value) > MAX_PROMPT_CHARS:
        raise PixelmillError(codes.PROMPT_TOO_LONG)
    return value


def video_references(value: object) -> list[bytes]:
    """A video's ``referenceImages``: the reference checks, with the video's cap of seven."""
    if isinstance(value, list) and len(value) > MAX_VIDEO_REFS:
        raise PixelmillError(codes.GROK_VIDEO_REF_TOO_MANY, limit=MAX_VIDEO_REFS)
    if isinstance(value, list) and len(value) > MAX_REFS:
        return [*references(value[:MAX_REFS]), *references(value[MAX_REFS:])]
    return references(value)


# Graphs -----------------------------------------------------------------------------------------


def _size_input(requested: str) -> dict[str, Any]:
    """``size`` when it is ``WxH``; ima2's ``auto`` (or anything else) leaves the model its default."""
    return {"size": requested} if _SIZE.match(requested) else {}


def per_node(info: ModelInfo) -> int:
    limit = info.limits.get("max_images")
    return max(1, min(IMAGES_PER_NODE, limit if isinstance(limit, int) else IMAGES_PER_NODE))


def takes_references(info: ModelInfo) -> bool:
    limit = info.limits.get("max_reference_images")
    return isinstance(limit, int) and limit > 0


def generate_graph(
    info: ModelInfo, text: str, n: int, requested_size: str, reference_files: Sequence[str] = ()
) -> dict[str, Any]:
    """``n`` images of ``text``: ``image.generate`` nodes ``image_0``… of at most :func:`per_node` images
    each (seeds apart, so no two images repeat), references passed when the model takes them."""
    chunk = per_node(info)
    nodes: list[dict[str, Any]] = []
    refs = [{"file_id": file_id} for file_id in reference_files] if takes_references(info) else []
    for index, start in enumerate(range(0, n, chunk)):
        inputs: dict[str, Any] = {"prompt": text[:4000], "model": info.id, "n": min(chunk, n - start)}
        inputs.update(_size_input(requested_size))
        if start:
            inputs["seed"] = start
        if refs:
            inputs["reference_images"] = refs
        nodes.append({"id": f"image_{index}", "type": "image.generate", "inputs": inputs})
    return {"nodes": nodes, "edges": []}


def edit_graph(info: ModelInfo, text: str, image_file: str, mask_file: str | None) -> dict[str, Any]:
    """An edit of ``image_file``: ``image.inpaint`` with a mask on a model that inpaints, ``image.edit``
    on a prompt-guided model, else (the CPU) ``image.style`` in the style the prompt names."""
    image = {"file_id": image_file}
    if mask_file is not None and "inpainting" in info.capabilities:
        inputs: dict[str, Any] = {"image": image, "mask": {"file_id": mask_file}, "prompt": text[:2000]}
        return {"nodes": [{"id": "image", "type": "image.inpaint", "inputs": {**inputs, "model": info.id}}]}
    if "image-to-image" in info.capabilities and info.id != "local/cv":
        inputs = {"image": image, "prompt": text[:2000], "model": info.id}
        return {"nodes": [{"id": "image", "type": "image.edit", "inputs": inputs}]}
    style = cue(STYLE_WORDS, text)
    inputs = {"image": image, **({"style": style} if style else {})}
    return {"nodes": [{"id": "image", "type": "image.style", "inputs": inputs}]}


def edit_warnings(info: ModelInfo, has_mask: bool) -> list[dict[str, Any]]:
    """What an edit could not honour on ``info``: a mask on a model that does not inpaint."""
    if has_mask and "inpainting" not in info.capabilities:
        return [{"code": "MASK_IGNORED", "field": "mask", "reason": "model-cannot-inpaint", "model": info.id}]
    return []


def video_graph(model_id: str, text: str, options: VideoOptions, source_file: str | None) -> dict[str, Any]:
    """``video.generate`` from the prompt, starting from ``source_file`` when given (image to video)."""
    inputs: dict[str, Any] = {
        "prompt": text[:4000],
        "model": model_id,
        "duration_seconds": options.duration,
        "resolution": options.resolution,
    }
    if options.aspect_ratio != "auto":
        inputs["aspect_ratio"] = options.aspect_ratio
    if source_file is not None:
        inputs["image"] = {"file_id": source_file}
    return {"nodes": [{"id": "video", "type": "video.generate", "inputs": inputs}], "edges": []}


def frame_graph(video_file: str, time: float | str) -> dict[str, Any]:
    """One still of a generated video (``"last"`` for its last frame), for ``/api/video/frame``."""
    inputs = {"video": {"file_id": video_file}, "time": time}
    return {"nodes": [{"id": "frame", "type": "video.frame", "inputs": inputs}], "edges": []}


# Answers ----------------------------------------------------------------------------------------


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


def _common(job: Ima2Job, usage: Mapping[str, Any] | None) -> dict[str, Any]:
    extra = job.extra
    return {
        "usage": dict(usage) if usage else None,
        "provider": job.provider,
        "reasoningEffort": extra.get("reasoningEffort"),
        "webSearchCalls": 0,
        "quality": job.quality,
        "size": job.size,
        "moderation": extra.get("moderation"),
        "model": job.model,
        "warnings": list(extra.get("warnings") or []),
        "revisedPrompt": None,
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
            "revisedPrompt": None,
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
        "revisedPrompt": None,
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


def multimode_images(job: Ima2Job, items: Sequence[Produced]) -> list[dict[str, Any]]:
    """The ``image`` events of a sequence, in order (``sequenceIndex`` counts from 1)."""
    status = sequence_status(job.n, len(items))
    return [
        {
            "image": data_url(item),
            "filename": item.filename,
            "createdAt": item.created_ms,
            "providerUrl": None,
            "revisedPrompt": None,
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
        "images": multimode_images(job, items),
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
        "revisedPrompt": None,
        "elapsed": seconds(elapsed),
        "usage": dict(usage) if usage else None,
        "requestedModel": job.model,
        "effectiveModel": job.model,
        "modelFallback": False,
        "video": video,
        "videoContinuity": extra.get("videoContinuity"),
    }


def failure(job_request_id: str, code: str, message: str, status: int) -> dict[str, Any]:
    """A failed job as ima2's flat SSE ``error`` payload."""
    return {"error": message, "code": code, "status": status, "requestId": job_request_id}


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
