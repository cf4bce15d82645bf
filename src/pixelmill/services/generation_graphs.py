"""A ``/v1/generations`` request (the ImagineLab and imagerift shapes) as the small graph it runs.

A pure translation: no database, no I/O. The caller resolves the source image (base64 upload,
file id or earlier generation) to a file id first, and passes the model catalogue.

=============  =====================================================  ==========================
type           graph                                                   default model
=============  =====================================================  ==========================
image          ``image.generate`` (prompt -> image)                    first text-to-image model
image + src    ``image.<mode>`` on the source; ``image.edit`` for      ``local/cv``; the named
               ``mode=edit`` with a prompt-guided model                prompt-guided model
video          ``image.generate`` -> ``video.from_image``; with a      ``local/ken-burns``
               source image only ``video.from_image``. An upstream
               video model (``xai/grok-imagine-video``) runs
               ``video.generate``, given the source image if any
voice          ``audio.speech`` reading the prompt                     ``local/espeak``; a named
                                                                       speech model
music          ``audio.music``, mood and instrument taken from the     ``local/algorithmic-music``
               prompt's words unless settings name them
infographic    ``infographic.card`` (first prompt line the title,      ``local/charts``
               further lines bullets); ``infographic.chart`` when
               settings carry ``labels``
text           ``text.generate``                                       first text model
=============  =====================================================  ==========================

``settings`` are inputs of the generation's main node (``duration`` is accepted for
``duration_seconds``, ``tempo``/``bpm`` for ``tempo_bpm``, ``num_images`` for ``n``); a key the node
does not have is 422 naming ``settings.<key>`` (for text to video, keys the video node lacks, such as
``seed``, go to the still). An image request with a source and no ``mode`` is ``style``, or ``edit``
when ``model_name`` names a prompt-guided model. Live keys default to a configured real model where one
exists, test keys to sandbox models.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from pixelmill import errors
from pixelmill.engine.node import BaseNode, NodeRegistry
from pixelmill.errors import PixelmillError
from pixelmill.json_bounds import FreeJsonObject
from pixelmill.providers import local_media
from pixelmill.providers.base import Capability, ModelInfo
from pixelmill.providers.cv import MODEL_ID as CV_MODEL
from pixelmill.services.prompt_cues import INSTRUMENT_WORDS, MOOD_WORDS, STYLE_WORDS, cue
from pixelmill.wire import RequestModel

GenerationType = Literal["image", "video", "voice", "music", "infographic", "text"]
GENERATION_TYPES: tuple[GenerationType, ...] = ("image", "video", "voice", "music", "infographic", "text")
ImageMode = Literal[
    "style", "enhance", "reframe", "upscale", "remove_background", "replace_background", "variations", "edit"
]

# Image-to-image modes done on the CPU by a node of their own (no model input).
CPU_MODE_NODES: dict[str, str] = {
    "style": "image.style",
    "enhance": "image.enhance",
    "reframe": "image.reframe",
    "upscale": "image.upscale",
    "remove_background": "image.remove_background",
    "replace_background": "image.replace_background",
    "variations": "image.variations",
}
# Generation types whose default is one built-in model. A type in GENERIC_NODES runs any other model
# of it through that generic node; a type in NAMED_MODEL_TYPES runs another model the request names
# through its own node (which takes a ``model`` input); the others run only this one.
FIXED_MODELS: dict[str, str] = {
    "video": local_media.KEN_BURNS,
    "voice": local_media.ESPEAK,
    "music": local_media.ALGORITHMIC_MUSIC,
    "infographic": local_media.CHARTS,
}
GENERIC_NODES: dict[str, str] = {"video": "video.generate"}
NAMED_MODEL_TYPES = frozenset({"voice"})
SETTING_ALIASES: dict[str, str] = {
    "duration": "duration_seconds",
    "tempo": "tempo_bpm",
    "bpm": "tempo_bpm",
    "num_images": "n",
}
MAIN_CAPABILITY: dict[str, Capability] = {
    "image": "text-to-image",
    "video": "video",
    "voice": "speech",
    "music": "music",
    "infographic": "infographic",
    "text": "text",
}
# Long side of the still drawn for a text-to-video generation, per video resolution (short side).
STILL_LONG_SIDE: dict[str, int] = {"360p": 640, "480p": 856, "720p": 1280, "1080p": 1920}
_BULLET = re.compile(r"^\s*(?:[-*•·]|\d{1,2}[.)])\s+")


class GenerationRequest(RequestModel):
    """The body of ``POST /v1/generations``."""

    model_config = ConfigDict(extra="forbid")

    generation_type: GenerationType = Field(description="image, video, voice, music, infographic or text")
    model_name: str | None = Field(default=None, max_length=200, description="From GET /v1/models; default per type")
    prompt: str = Field(default="", max_length=8000, description="What to make (voice: the words to say)")
    settings: FreeJsonObject = Field(
        default_factory=dict,
        description="Inputs of the main node, e.g. aspect_ratio, size, duration, voice; at most 16 KiB as JSON",
    )
    mode: ImageMode | None = Field(default=None, description="Image-to-image: what to do with the source image")
    image_base64: str | None = Field(default=None, description="Source image as base64 or a data: URL")
    file_id: str | None = Field(default=None, max_length=64, description="Source image: an uploaded file")
    source_generation_id: str | None = Field(default=None, max_length=64, description="Source: an earlier image")
    project_id: Annotated[str, Field(max_length=200)] | Annotated[int, Field(ge=-(2**63), lt=2**63)] | None = Field(
        default=None,
        description="A project of yours (prj_…, from /v1/projects) files the generation under it; "
        "any other value is kept as a free tag",
    )

    def source_fields(self) -> list[str]:
        return [name for name in ("image_base64", "file_id", "source_generation_id") if getattr(self, name)]


@dataclass(frozen=True, slots=True)
class GenerationPlan:
    """The graph for a request, the model and mode it resolved to, and where each input came from."""

    graph: dict[str, Any]
    model_name: str
    mode: str | None
    main_node: str
    origins: Mapping[tuple[str, str], str] = field(default_factory=dict)  # (node_id, input) -> request field
    # The nodes ``settings`` may reach, in the order a key is tried, each with the inputs it keeps
    # for itself: what a settings form may offer.
    settings_targets: Sequence[tuple[str, frozenset[str]]] = ()

    def request_field(self, node_id: str | None, input_name: str | None) -> str | None:
        if node_id is None or input_name is None:
            return None
        return self.origins.get((node_id, input_name))


def _invalid(message: str, request_field: str, **extra: Any) -> PixelmillError:
    return PixelmillError(errors.VALIDATION_ERROR, message, field=request_field, **extra)


class _Graph:
    def __init__(self, registry: NodeRegistry) -> None:
        self.registry = registry
        self.nodes: list[dict[str, Any]] = []
        self.edges: list[dict[str, Any]] = []
        self.origins: dict[tuple[str, str], str] = {}
        self.settings_targets: list[tuple[str, frozenset[str]]] = []

    def node_class(self, node_type: str) -> type[BaseNode]:
        cls = self.registry.get(node_type)
        if cls is None:
            raise PixelmillError(errors.SERVICE_UNAVAILABLE, f"Node type {node_type} is not installed")
        return cls

    def add(self, node_id: str, node_type: str, *, intermediate: bool = False) -> None:
        self.node_class(node_type)
        self.nodes.append({"id": node_id, "type": node_type, "inputs": {}, "is_intermediate": intermediate})

    def set(self, node_id: str, name: str, value: Any, origin: str) -> None:
        node = next(node for node in self.nodes if node["id"] == node_id)
        node["inputs"][name] = value
        self.origins[(node_id, name)] = origin

    def connect(self, source: str, source_field: str, destination: str, destination_field: str) -> None:
        self.edges.append(
            {
                "source": {"node_id": source, "field": source_field},
                "destination": {"node_id": destination, "field": destination_field},
            }
        )

    def class_of(self, node_id: str) -> type[BaseNode]:
        return self.node_class(next(node["type"] for node in self.nodes if node["id"] == node_id))

    def apply_settings(
        self, settings: Mapping[str, Any], targets: Sequence[str], reserved: frozenset[str]
    ) -> dict[str, str]:
        """Each setting onto the first target node that has it as an input; returns key -> node id."""
        self.settings_targets = [(self.class_of(node_id).node_type, reserved) for node_id in targets]
        placed: dict[str, str] = {}
        for key, value in settings.items():
            for node_id in targets:
                cls = self.class_of(node_id)
                name = key if key in cls.model_fields else SETTING_ALIASES.get(key, key)
                if name in cls.model_fields and name not in reserved:
                    self.set(node_id, name, value, f"settings.{key}")
                    placed[key] = node_id
                    break
            else:
                main = self.class_of(targets[0])
                allowed = sorted(name for name in main.model_fields if name not in reserved)
                raise _invalid(
                    f"settings.{key} is not a setting of this generation (node type {main.node_type}); "
                    f"allowed: {', '.join(allowed)}",
                    f"settings.{key}",
                    allowed=allowed,
                )
        return placed

    def graph(self) -> dict[str, Any]:
        return {"nodes": self.nodes, "edges": self.edges}


def default_model(
    models: Sequence[ModelInfo], generation_type: str, capability: Capability, *, test_mode: bool
) -> str | None:
    """The catalogue's model for a type and capability: a real model for live keys when one is
    configured, otherwise (and always for test keys) a sandbox model."""
    fitting = [m for m in models if m.generation_type == generation_type and capability in m.capabilities]
    if test_mode:
        fitting = [m for m in fitting if m.sandbox]
    real = [m for m in fitting if not m.sandbox]
    chosen = (real or fitting)[:1]
    return chosen[0].id if chosen else None


def _default_for(
    models: Sequence[ModelInfo], generation_type: str, capability: Capability, *, test_mode: bool
) -> str | None:
    fixed = FIXED_MODELS.get(generation_type)
    if fixed is not None:
        return fixed if any(m.id == fixed for m in models) else None
    return default_model(models, generation_type, capability, test_mode=test_mode)


def default_models(models: Sequence[ModelInfo], *, test_mode: bool) -> dict[str, str | None]:
    """The model each generation type uses when the request names none (text-to-image for images)."""
    return {
        generation_type: _default_for(models, generation_type, MAIN_CAPABILITY[generation_type], test_mode=test_mode)
        for generation_type in GENERATION_TYPES
    }


def _model(
    request: GenerationRequest, models: Sequence[ModelInfo], capability: Capability, *, test_mode: bool
) -> ModelInfo:
    by_id = {m.id: m for m in models}
    gtype = request.generation_type
    if request.model_name is None:
        name = _default_for(models, gtype, capability, test_mode=test_mode)
        if name is None:
            raise _invalid(f"No configured model makes {gtype} generations ({capability})", "model_name")
        return by_id[name]
    info = by_id.get(request.model_name)
    if info is None:
        raise _invalid(
            f"Unknown model {request.model_name!r}; GET /v1/models lists them", "model_name", model=request.model_name
        )
    if info.generation_type != gtype:
        raise _invalid(
            f"Model {info.id} makes {info.generation_type} generations, not {gtype}",
            "model_name",
            model=info.id,
            model_generation_type=info.generation_type,
        )
    if capability not in info.capabilities:
        raise _invalid(f"Model {info.id} cannot do {capability}", "model_name", model=info.id)
    fixed = FIXED_MODELS.get(gtype)
    if fixed is not None and info.id != fixed and gtype not in GENERIC_NODES and gtype not in NAMED_MODEL_TYPES:
        raise _invalid(f"No node type runs {gtype} model {info.id} yet; use {fixed}", "model_name", model=info.id)
    return info


def _require_prompt(request: GenerationRequest, what: str) -> str:
    prompt = request.prompt.strip()
    if not prompt:
        raise _invalid(f"A {request.generation_type} generation needs a prompt ({what})", "prompt")
    return prompt


def plan_generation(
    request: GenerationRequest,
    models: Sequence[ModelInfo],
    registry: NodeRegistry,
    *,
    source_file_id: str | None = None,
    test_mode: bool = False,
) -> GenerationPlan:
    """The graph that makes ``request``; 422 naming the request field for what cannot be made."""
    sources = request.source_fields()
    if len(sources) > 1:
        raise _invalid(f"Give one source image, not {' and '.join(sources)}", sources[1])
    if sources and request.generation_type not in ("image", "video"):
        raise _invalid(f"{request.generation_type} generations take no source image", sources[0])
    if sources and source_file_id is None:
        raise ValueError("the caller resolves the source image to a file id first")
    if request.mode is not None and not (request.generation_type == "image" and sources):
        raise _invalid("mode applies to image generations from a source image", "mode")
    graph = _Graph(registry)
    source = {"file_id": source_file_id} if source_file_id is not None else None
    builder = _BUILDERS[request.generation_type]
    model, mode, main = builder(request, models, graph, source, test_mode)
    return GenerationPlan(
        graph=graph.graph(),
        model_name=model,
        mode=mode,
        main_node=main,
        origins=graph.origins,
        settings_targets=tuple(graph.settings_targets),
    )


_Source = dict[str, Any] | None
_Built = tuple[str, str | None, str]


def _image(
    request: GenerationRequest, models: Sequence[ModelInfo], graph: _Graph, source: _Source, test_mode: bool
) -> _Built:
    if source is None:
        info = _model(request, models, "text-to-image", test_mode=test_mode)
        graph.add("image", "image.generate")
        graph.set("image", "prompt", _require_prompt(request, "what to draw"), "prompt")
        graph.set("image", "model", info.id, "model_name")
        graph.apply_settings(request.settings, ["image"], frozenset({"prompt", "model", "reference_images"}))
        return info.id, None, "image"
    mode = request.mode
    if mode is None:
        named = next((m for m in models if m.id == request.model_name), None)
        guided = named is not None and named.id != CV_MODEL and "image-to-image" in named.capabilities
        mode = "edit" if guided else "style"
    if mode == "edit":
        info = _model(request, models, "image-to-image", test_mode=test_mode)
        if info.id == CV_MODEL:
            raise _invalid(
                f"{CV_MODEL} does not follow prompts; pick a CPU mode such as style, or another model", "mode"
            )
        graph.add("image", "image.edit")
        graph.set("image", "prompt", _require_prompt(request, "what the edited image should show"), "prompt")
        graph.set("image", "model", info.id, "model_name")
    else:
        if request.model_name is not None and request.model_name != CV_MODEL:
            _model(request, models, "image-to-image", test_mode=test_mode)  # unknown or mismatched: its own error
            raise _invalid(
                f"mode {mode} runs on {CV_MODEL}; use mode edit for model {request.model_name}", "model_name"
            )
        info = _model(request.model_copy(update={"model_name": CV_MODEL}), models, "image-to-image", test_mode=False)
        graph.add("image", CPU_MODE_NODES[mode])
        if mode == "style" and "style" not in request.settings:
            style = cue(STYLE_WORDS, request.prompt)
            if style is not None:
                graph.set("image", "style", style, "prompt")
    graph.set("image", "image", source, request.source_fields()[0])
    graph.apply_settings(request.settings, ["image"], frozenset({"image", "prompt", "model"}))
    return info.id, mode, "image"


def _video(
    request: GenerationRequest, models: Sequence[ModelInfo], graph: _Graph, source: _Source, test_mode: bool
) -> _Built:
    info = _model(request, models, "video", test_mode=test_mode)
    if info.id != FIXED_MODELS["video"]:
        graph.add("video", GENERIC_NODES["video"])
        graph.set("video", "prompt", _require_prompt(request, "what the video shows"), "prompt")
        graph.set("video", "model", info.id, "model_name")
        if source is not None:
            graph.set("video", "image", source, request.source_fields()[0])
        graph.apply_settings(request.settings, ["video"], frozenset({"prompt", "model", "image"}))
        return info.id, None, "video"
    graph.add("video", "video.from_image")
    if source is not None:
        graph.set("video", "image", source, request.source_fields()[0])
        graph.apply_settings(request.settings, ["video"], frozenset({"image"}))
        return info.id, None, "video"
    # The type's default text-to-image model draws the still, in the video's shape and size.
    still = _model(GenerationRequest(generation_type="image"), models, "text-to-image", test_mode=test_mode)
    graph.add("still", "image.generate", intermediate=True)
    graph.set("still", "prompt", _require_prompt(request, "what the video shows"), "prompt")
    graph.set("still", "model", still.id, "model_name")
    graph.connect("still", "image", "video", "image")
    graph.apply_settings(request.settings, ["video", "still"], frozenset({"image", "prompt", "model"}))
    ratio = request.settings.get("aspect_ratio", "16:9")
    graph.set("still", "aspect_ratio", ratio, "settings.aspect_ratio")
    long_side = STILL_LONG_SIDE.get(str(request.settings.get("resolution", "720p")), 1280)
    graph.set("still", "resolution", long_side, "settings.resolution")
    return info.id, None, "video"


def _voice(
    request: GenerationRequest, models: Sequence[ModelInfo], graph: _Graph, source: _Source, test_mode: bool
) -> _Built:
    info = _model(request, models, "speech", test_mode=test_mode)
    graph.add("voice", "audio.speech")
    graph.set("voice", "text", _require_prompt(request, "the words to say"), "prompt")
    if request.model_name is not None:
        graph.set("voice", "model", info.id, "model_name")
    graph.apply_settings(request.settings, ["voice"], frozenset({"text", "model"}))
    return info.id, None, "voice"


def _music(
    request: GenerationRequest, models: Sequence[ModelInfo], graph: _Graph, source: _Source, test_mode: bool
) -> _Built:
    info = _model(request, models, "music", test_mode=test_mode)
    graph.add("music", "audio.music")
    for name, words in (("mood", MOOD_WORDS), ("instrument", INSTRUMENT_WORDS)):
        picked = cue(words, request.prompt)
        if picked is not None and name not in request.settings:
            graph.set("music", name, picked, "prompt")
    graph.apply_settings(request.settings, ["music"], frozenset())
    return info.id, None, "music"


def _infographic(
    request: GenerationRequest, models: Sequence[ModelInfo], graph: _Graph, source: _Source, test_mode: bool
) -> _Built:
    info = _model(request, models, "infographic", test_mode=test_mode)
    lines = [_BULLET.sub("", line).strip() for line in request.prompt.splitlines() if line.strip()]
    chart = "labels" in request.settings
    graph.add("infographic", "infographic.chart" if chart else "infographic.card")
    if "title" not in request.settings:
        if not lines:
            raise _invalid("An infographic needs a prompt (its first line becomes the title)", "prompt")
        graph.set("infographic", "title", lines.pop(0), "prompt")
    if lines and not chart and "bullets" not in request.settings:
        graph.set("infographic", "bullets", lines, "prompt")
    graph.apply_settings(request.settings, ["infographic"], frozenset({"image"}))
    return info.id, None, "infographic"


def _text(
    request: GenerationRequest, models: Sequence[ModelInfo], graph: _Graph, source: _Source, test_mode: bool
) -> _Built:
    info = _model(request, models, "text", test_mode=test_mode)
    graph.add("text", "text.generate")
    graph.set("text", "prompt", _require_prompt(request, "what to write"), "prompt")
    graph.set("text", "model", info.id, "model_name")
    graph.apply_settings(request.settings, ["text"], frozenset({"prompt", "model"}))
    return info.id, None, "text"


_BUILDERS = {
    "image": _image,
    "video": _video,
    "voice": _voice,
    "music": _music,
    "infographic": _infographic,
    "text": _text,
}
