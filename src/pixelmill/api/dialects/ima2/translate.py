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
from pixelmill.api.dialects.ima2.jobs import Ima2Job, JobKind
from pixelmill.api.dialects.ima2.providers_map import Route
from pixelmill.api.dialects.ima2.schemas import Options
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


def extension_graph(model_id: str, text: str, options: VideoOptions, video_file: str) -> dict[str, Any]:
    """A clip continuing ``video_file``: its last frame (``video.frame``) starts ``video.generate``."""
    graph = video_graph(model_id, text, options, None)
    graph["nodes"].insert(
        0,
        {
            "id": "last_frame",
            "type": "video.frame",
            "inputs": {"video": {"file_id": video_file}, "time": "last"},
            "is_intermediate": True,
        },
    )
    edge = {
        "source": {"node_id": "last_frame", "field": "image"},
        "destination": {"node_id": "video", "field": "image"},
    }
    graph["edges"] = [edge]
    return graph


def concat_graph(first_file: str, second_file: str) -> dict[str, Any]:
    """Two videos joined end to end at the first one's size (``video.concat``)."""
    videos = [{"file_id": first_file}, {"file_id": second_file}]
    return {"nodes": [{"id": "video", "type": "video.concat", "inputs": {"videos": videos}}], "edges": []}


# Jobs -------------------------------------------------------------------------------------------


def options(body: Mapping[str, Any], header_request_id: str | None) -> Options:
    """The fields every image route shares, checked (see :class:`.schemas.Options`)."""
    chosen, warnings = quality(body.get("quality"))
    return Options(
        request_id=request_id(body.get("requestId"), header_request_id),
        quality=chosen,
        warnings=warnings,
        moderation=moderation(body.get("moderation")),
        reasoning_effort=reasoning_effort(body.get("reasoningEffort")),
        size=size(body.get("size")),
        prompt_mode=prompt_mode(body.get("mode")),
        web_search=body.get("webSearchEnabled") is True,
        session_id=_short(body.get("sessionId")),
        client_node_id=_short(body.get("clientNodeId")),
    )


def _short(value: object) -> str | None:
    return value[:200] if isinstance(value, str) and value else None


def job(
    kind: JobKind,
    text: str,
    checked: Options,
    route: Route,
    n: int = 1,
    *,
    warnings: Sequence[Mapping[str, Any]] = (),
    node_id: str | None = None,
    parent_node_id: str | None = None,
    **extra: Any,
) -> Ima2Job:
    """The job a run carries (see :mod:`.jobs`): what the client asked, as ima2 names it."""
    return Ima2Job(
        requestId=checked.request_id,
        kind=kind,
        prompt=text,
        provider=route.provider,
        model=route.model,
        quality=checked.quality,
        size=checked.size,
        n=n,
        sessionId=checked.session_id,
        nodeId=node_id,
        parentNodeId=parent_node_id,
        clientNodeId=checked.client_node_id,
        extra={
            "moderation": checked.moderation,
            "reasoningEffort": checked.reasoning_effort,
            "promptMode": checked.prompt_mode,
            "webSearchEnabled": checked.web_search,
            "format": route.format,
            "warnings": [*checked.warnings, *(dict(w) for w in warnings)],
            **extra,
        },
    )
