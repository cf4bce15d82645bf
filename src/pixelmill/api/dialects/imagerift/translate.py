"""imagerift <-> pixelmill's generations, as pure functions (no database, no HTTP).

- A job is a generation run whose graph this module builds from the mode: the styling step (the
  built-in CPU node, or ``image.edit`` on the upstream model ``Settings.imagerift_mode_models``
  names for the mode), then ``image.reframe`` to ``outputAspect`` (unless ``source``), then
  ``image.resize`` to the ``exportSize`` class's long side. Only the last node of each branch is an
  output; ``variations`` is five branches.
- ``exportSize`` is gated by the plan's ``max_export_size``; a plan without ``api_access`` (free,
  starter) cannot use the API at all.
- ``jobId`` is the run id read as a UUID (:func:`pixelmill.ids.as_uuid`): no table maps them.
- Statuses: ``queued``, ``running``; ``completed -> succeeded``, ``cancelled -> canceled``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, get_args

from pixelmill import errors
from pixelmill.api.dialects.imagerift.schemas import GenerateBody, Job, JobError, JobStatus, Mode
from pixelmill.config import Plan
from pixelmill.errors import PixelmillError
from pixelmill.ids import as_uuid, from_uuid
from pixelmill.imaging.styles import StyleName
from pixelmill.nodes.image_edit import DEFAULT_VARIATIONS
from pixelmill.providers.cv import MODEL_ID as CV_MODEL
from pixelmill.services.generation_graphs import GenerationPlan, GenerationRequest
from pixelmill.services.prompt_cues import STYLE_WORDS, cue
from pixelmill.services.run_views import RunPublic

STATUS_NAMES: dict[str, JobStatus] = {
    "queued": "queued",
    "running": "running",
    "completed": "succeeded",
    "failed": "failed",
    "cancelled": "canceled",
}
EXPORT_LONG_SIDE: dict[str, int] = {"base": 1024, "2k": 2048, "4k": 4096}
_EXPORT_RANK: dict[str, int] = {"base": 0, "2k": 1, "4k": 2, "8k": 3}
STYLES: tuple[str, ...] = get_args(StyleName)
AVATAR_STYLES: tuple[StyleName, ...] = ("anime", "soft_3d", "oil_paint")
DEFAULT_AVATAR_STYLE: StyleName = "anime"
VARIATION_COUNT = 5
# The canonical request's field names in pixelmill's messages, as imagerift's clients name them.
WIRE_FIELDS: dict[str, str] = {
    "image_base64": "imageBase64",
    "file_id": "imageKey",
    "source_generation_id": "sourceGenerationId",
}
# What the upstream model is asked for, per mode, ahead of the client's own prompt.
_INSTRUCTIONS: dict[str, str] = {
    "style": "Restyle this image{look}, keeping its subject and composition.",
    "variations": "A styled variation of this product photo{look} for ads and social posts; keep the product intact.",
    "avatar": "Turn this selfie into{look} avatar portrait; keep the person recognisable.",
    "enhance": "Sharpen and clean up this photo; keep its content exactly.",
}
_STYLE_LABELS: dict[str, str] = {"soft_3d": "soft 3D cartoon", "oil_paint": "oil-paint", "pixel_art": "pixel-art"}


def timestamp(moment: datetime | None) -> str | None:
    """``2026-06-07T12:00:00Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else None


def job_id(run_id: str) -> str:
    return str(as_uuid(run_id))


def run_id_of(raw: str) -> str | None:
    """The run behind jobId ``raw`` (a UUID in any of its spellings), or None when it is not one."""
    try:
        return from_uuid("run", uuid.UUID(raw))
    except ValueError:
        return None


def check_api_access(plan_name: str, plan: Plan) -> None:
    """403 for a plan without API access: imagerift's Free and Starter cannot use API keys."""
    if not plan.api_access:
        raise PixelmillError(
            errors.PLAN_FORBIDS,
            f"The {plan_name} plan does not include API access; upgrade to pro or business to use the API",
            plan=plan_name,
        )


def check_export_size(size: str, plan_name: str, plan: Plan) -> None:
    """403 when ``size`` is above the plan's ``max_export_size`` (pro 2k, business 4k)."""
    if _EXPORT_RANK[size] > _EXPORT_RANK[plan.max_export_size]:
        allowed = [name for name, rank in _EXPORT_RANK.items() if rank <= _EXPORT_RANK[plan.max_export_size]]
        allowed = [name for name in allowed if name in EXPORT_LONG_SIDE]
        raise PixelmillError(
            errors.PLAN_FORBIDS,
            f"exportSize {size} is not included in the {plan_name} plan; it allows {', '.join(allowed)}",
            field="exportSize",
            plan=plan_name,
            allowed=allowed,
        )


def style_of(body: GenerateBody) -> StyleName | None:
    """The look asked for: ``style`` (``oil-paint``, ``Soft 3D`` and ``oil_paint`` alike), else one the
    prompt names, else the mode's default (None: the node's own, for style; anime for avatars)."""
    if body.style is not None:
        name = body.style.strip().lower().replace("-", "_").replace(" ", "_")
        allowed = AVATAR_STYLES if body.mode == "avatar" else STYLES
        if name not in allowed:
            raise PixelmillError(
                errors.VALIDATION_ERROR,
                f"style {body.style!r} is not a {body.mode} style; use one of {', '.join(allowed)}",
                field="style",
                allowed=list(allowed),
            )
        return name  # type: ignore[return-value]
    named = cue(STYLE_WORDS, body.prompt)
    if body.mode == "avatar":
        return named if named in AVATAR_STYLES else DEFAULT_AVATAR_STYLE
    return named  # type: ignore[return-value]


def sources_of(body: GenerateBody) -> list[str]:
    return [name for name in ("imageBase64", "imageKey", "sourceGenerationId") if getattr(body, name)]


def canonical_request(body: GenerateBody, source_generation: str | None) -> GenerationRequest:
    """The canonical generation a job is (what ``/v1/generations`` shows of it); 422 without exactly
    one source. ``source_generation`` is the run a ``sourceGenerationId`` names."""
    given = sources_of(body)
    if not given:
        raise PixelmillError(
            errors.VALIDATION_ERROR,
            "Send the source image as imageBase64, imageKey or sourceGenerationId",
            field="imageBase64",
        )
    if len(given) > 1:
        raise PixelmillError(
            errors.VALIDATION_ERROR, f"Send one source image, not {' and '.join(given)}", field=given[1]
        )
    settings: dict[str, Any] = {"exportSize": body.exportSize, "outputAspect": body.outputAspect}
    if body.style is not None:
        settings["style"] = body.style
    return GenerationRequest(
        generation_type="image",
        prompt=body.prompt,
        settings=settings,
        image_base64=body.imageBase64,
        file_id=body.imageKey,
        source_generation_id=source_generation,
    )


def mode_model(mode: Mode, configured: Mapping[Mode, str], available: Sequence[str], *, test_mode: bool) -> str:
    """The model that runs ``mode``: the configured upstream model when this workspace can use it
    (never for test keys, which run the sandboxed CPU styles), else the built-in CPU styles."""
    model = configured.get(mode)
    if model is None or test_mode or model not in available:
        return CV_MODEL
    return model


@dataclass(frozen=True, slots=True)
class _Builder:
    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]
    origins: dict[tuple[str, str], str]

    def add(self, node_id: str, node_type: str, inputs: dict[str, Any], *, intermediate: bool = False) -> None:
        self.nodes.append({"id": node_id, "type": node_type, "inputs": inputs, "is_intermediate": intermediate})

    def connect(self, source: str, destination: str) -> None:
        self.edges.append(
            {"source": {"node_id": source, "field": "image"}, "destination": {"node_id": destination, "field": "image"}}
        )


def plan_job(body: GenerateBody, source_file_id: str, model: str) -> GenerationPlan:
    """The graph of a job on the resolved source file, run by ``model`` (``local/cv`` for the CPU)."""
    graph = _Builder([], [], {})
    source = {"file_id": source_file_id}
    source_field = sources_of(body)[0]
    style = style_of(body)
    looks: list[StyleName | None]
    if body.mode == "variations":
        others = [look for look in DEFAULT_VARIATIONS if look != style]
        looks = [style, *others] if style is not None else list(others)
        looks = looks[:VARIATION_COUNT]
    else:
        looks = [style]
    finals: list[str] = []
    for index, look in enumerate(looks):
        suffix = str(index + 1) if body.mode == "variations" else ""
        main = f"image{suffix}"
        if model != CV_MODEL:
            inputs: dict[str, Any] = {"image": source, "prompt": _instruction(body, look), "model": model}
            if body.mode == "variations":
                inputs["seed"] = index
            graph.add(main, "image.edit", inputs, intermediate=True)
            graph.origins[(main, "prompt")] = "prompt"
            graph.origins[(main, "model")] = "mode"
        elif body.mode == "enhance":
            enhance = {"image": source, "sharpen": 0.8, "local_contrast": 0.3}
            graph.add(main, "image.enhance", enhance, intermediate=True)
        else:
            inputs = {"image": source}
            if look is not None:
                inputs["style"] = look
                graph.origins[(main, "style")] = "style"
            if body.mode == "variations":
                inputs.update(strength=0.85, seed=index)
            graph.add(main, "image.style", inputs, intermediate=True)
        graph.origins[(main, "image")] = source_field
        last = main
        if body.outputAspect != "source":
            aspect = f"aspect{suffix}"
            graph.add(aspect, "image.reframe", {"aspect_ratio": body.outputAspect, "mode": "crop"}, intermediate=True)
            graph.connect(last, aspect)
            graph.origins[(aspect, "aspect_ratio")] = "outputAspect"
            last = aspect
        export = f"export{suffix}"
        side = EXPORT_LONG_SIDE[body.exportSize]
        graph.add(export, "image.resize", {"width": side, "height": side, "mode": "fit"})
        graph.connect(last, export)
        graph.origins[(export, "width")] = graph.origins[(export, "height")] = "exportSize"
        finals.append(export)
    return GenerationPlan(
        graph={"nodes": graph.nodes, "edges": graph.edges},
        model_name=model,
        mode=body.mode,
        main_node=finals[0],
        origins=graph.origins,
    )


def _instruction(body: GenerateBody, look: StyleName | None) -> str:
    """The mode's instruction to the upstream model (with the look, as words), then the client's prompt."""
    label = ""
    if look is not None:
        words = _STYLE_LABELS.get(look, look.replace("_", " "))
        label = f" {'an' if words[0] in 'aeiou' else 'a'} {words}"
        if body.mode in ("style", "variations"):
            label = f" in{label} style"
    text = _INSTRUCTIONS[body.mode].format(look=label)
    return f"{text} {body.prompt.strip()}".strip()


def wire_error(exc: PixelmillError) -> PixelmillError:
    """``exc`` naming the request's fields as imagerift's clients name them (``imageBase64``)."""
    field = exc.extra.get("field")
    if isinstance(field, str) and field in WIRE_FIELDS:
        exc.extra["field"] = WIRE_FIELDS[field]
    for canonical, wire in WIRE_FIELDS.items():
        exc.message = exc.message.replace(canonical, wire)
    return exc


def export_size_of(view: RunPublic) -> tuple[str, str]:
    settings = (view.metadata or {}).get("settings") or {}
    return str(settings.get("exportSize", "base")), str(settings.get("outputAspect", "source"))


def job(view: RunPublic, *, graph_order: Sequence[str], progress: int, link_expires_at: datetime | None) -> Job:
    """The imagerift job of a generation run's view; ``graph_order`` is its nodes' ids in graph order,
    which orders the download links (variation 1 first)."""
    status = STATUS_NAMES[view.status]
    urls: list[str] = []
    if status == "succeeded":
        for node_id in graph_order:
            output = view.outputs.get(node_id)
            if output is None:
                continue
            value = output.value
            urls.extend(str(item) for item in (value if isinstance(value, list) else [value]) if item)
    export_size, aspect = export_size_of(view)
    meta = view.metadata or {}
    return Job(
        jobId=job_id(view.run_id),
        status=status,
        mode=str(meta.get("mode") or ""),
        progress=progress,
        exportSize=export_size,
        outputAspect=aspect,
        model=str(meta.get("model_name") or ""),
        createdAt=timestamp(view.created_at) or "",
        completedAt=timestamp(view.completed_at),
        downloadUrl=urls[0] if urls else None,
        downloadUrls=urls,
        downloadExpiresAt=timestamp(link_expires_at) if urls else None,
        credits=view.credits_used if view.status in ("completed", "failed", "cancelled") else view.credits_reserved,
        error=JobError(code=view.error.code, message=view.error.message) if view.error is not None else None,
    )
