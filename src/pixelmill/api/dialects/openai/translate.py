"""OpenAI requests as pixelmill graphs, and finished runs as OpenAI responses: pure functions (no
database, no HTTP), so every mapping is unit-tested on its own.

- Images: ``images.generate`` is one ``image.generate`` node (``n`` images); ``output_format`` jpeg or
  webp adds an ``image.convert`` per image (``output_compression`` its quality). ``size: auto`` draws
  at the long side ``quality`` names (low 512, medium 768, otherwise 1024). Edits on ``local/cv``
  restyle the image on the CPU (the style cued by the prompt's words; a mask limits it to the mask's
  transparent pixels; several images are laid out on one sheet first); edits on an upstream model
  send the images as references, or inpaint the first image under the mask. OpenAI's mask (fully
  transparent where the image is edited) is stored as pixelmill's (white there, black elsewhere).
  Variations are ``image.variations`` on ``local/cv``.
- Chat: the messages become one ``text.generate`` prompt (system and developer messages its
  ``system``; earlier turns a transcript before the last message), generated afresh every time (not
  from the node cache), so its ``usage`` counts the tokens it took. Image parts, on a model with the
  ``vision`` capability only, are stored files (the route stores data URLs and fetches http(s) URLs
  under the outbound-URL policy) handed to the node's ``images`` in order, with their ``detail``.
- Speech: ``audio.speech``; OpenAI's voice names map to espeak-ng voices for ``local/espeak``, and
  pass as they are to an upstream speech model; ``speed`` is the words-per-minute rate (175 at 1.0),
  held within what the node takes (80-450, so 0.46x to 2.57x).

Each builder also records which request parameter fed which node input, so a graph error names the
parameter the client sent (``param``), not the node's input.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from pixelmill import errors
from pixelmill.api.dialects.openai import schemas
from pixelmill.errors import PixelmillError
from pixelmill.providers import espeak
from pixelmill.providers.base import Capability, ModelInfo
from pixelmill.providers.cv import MODEL_ID as CV_MODEL
from pixelmill.providers.local_media import ESPEAK
from pixelmill.services.prompt_cues import STYLE_WORDS, cue

_SIZE = re.compile(r"^(\d{2,5})x(\d{2,5})$")
QUALITY_LONG_SIDE: dict[str, int] = {"low": 512, "medium": 768}
FULL_LONG_SIDE = 1024
# The quality an ``auto`` request is answered with: the long side it drew at.
AUTO_QUALITY = "high"
DEFAULT_STYLE = "oil_paint"
SHEET_CELL = 512  # pixels per image on the sheet several edit images are laid out on
# OpenAI's voices as (espeak-ng language, variant): distinct timbres, female and male as OpenAI's are.
ESPEAK_VOICES: dict[str, tuple[str, str]] = {
    "alloy": ("en-us", "f2"),
    "ash": ("en-us", "m3"),
    "ballad": ("en-gb", "m5"),
    "coral": ("en-us", "f3"),
    "echo": ("en-us", "m1"),
    "fable": ("en-gb", "m2"),
    "onyx": ("en-us", "m7"),
    "nova": ("en-us", "f4"),
    "sage": ("en-us", "f1"),
    "shimmer": ("en-us", "f5"),
    "verse": ("en-us", "m4"),
    "marin": ("en-gb", "f3"),
    "cedar": ("en-us", "m6"),
}
# What audio.speech writes; OpenAI's other formats are refused naming response_format.
SPEECH_FORMATS = ("mp3", "opus", "wav")
SPEECH_MIME: dict[str, str] = {"mp3": "audio/mpeg", "opus": "audio/ogg", "wav": "audio/wav"}


def invalid(message: str, param: str, **extra: Any) -> PixelmillError:
    """A 400 naming the OpenAI parameter ``param``."""
    return PixelmillError(errors.VALIDATION_ERROR, message, field=param, **extra)


def model_not_found(name: str) -> PixelmillError:
    return PixelmillError(
        errors.NOT_FOUND,
        f"The model {name!r} does not exist or you do not have access to it; GET /v1/models lists them",
        field="model",
    )


def check_model(
    info: ModelInfo, *, generation_type: str, capabilities: Iterable[Capability], purpose: str
) -> ModelInfo:
    """``info`` when it makes ``generation_type`` with one of ``capabilities``; a 400 naming model otherwise."""
    wanted = tuple(capabilities)
    if info.generation_type != generation_type or not any(c in info.capabilities for c in wanted):
        raise invalid(f"Model {info.id} cannot do {purpose}", "model", model=info.id)
    return info


@dataclass
class Plan:
    """A graph, the nodes whose outputs answer the request (in order), and where each input came from."""

    graph: dict[str, Any] = field(default_factory=lambda: {"nodes": [], "edges": []})
    outputs: list[str] = field(default_factory=list)
    origins: dict[tuple[str, str], str] = field(default_factory=dict)

    def add(
        self,
        node_id: str,
        node_type: str,
        inputs: Mapping[str, Any],
        *,
        intermediate: bool = False,
        use_cache: bool = True,
    ) -> None:
        node = {"id": node_id, "type": node_type, "inputs": dict(inputs), "is_intermediate": intermediate}
        if not use_cache:
            node["use_cache"] = False
        self.graph["nodes"].append(node)

    def connect(self, source: str, source_field: str, destination: str, destination_field: str) -> None:
        self.graph["edges"].append(
            {
                "source": {"node_id": source, "field": source_field},
                "destination": {"node_id": destination, "field": destination_field},
            }
        )

    def came_from(self, node_id: str, **params: str) -> None:
        for input_name, param in params.items():
            self.origins[(node_id, input_name)] = param

    def param(self, node_id: Any, input_name: Any) -> str | None:
        if not isinstance(node_id, str) or not isinstance(input_name, str):
            return None
        return self.origins.get((node_id, input_name))


def rename_field(exc: PixelmillError, plan: Plan) -> PixelmillError:
    """Name the request parameter behind the node input a graph error is about (``size``, not
    ``image.size``); an error about an input no parameter fed keeps the node input's name."""
    named = plan.param(exc.extra.get("node_id"), exc.extra.get("field"))
    if named is None:
        for problem in exc.extra.get("errors") or []:
            if isinstance(problem, dict):
                named = named or plan.param(problem.get("node_id"), problem.get("field"))
    if named is not None:
        exc.extra["field"] = named
    return exc


# Images -----------------------------------------------------------------------------------------


def parse_size(size: str) -> tuple[int, int] | None:
    """``"1024x768"`` as (1024, 768), ``"auto"`` as None; anything else a 400 naming size."""
    if size == "auto":
        return None
    match = _SIZE.match(size)
    if match is None:
        raise invalid(f"Invalid value for 'size': {size!r}; use 'auto' or WIDTHxHEIGHT, e.g. 1024x1024", "size")
    return int(match.group(1)), int(match.group(2))


def answered_quality(quality: str) -> str:
    return AUTO_QUALITY if quality == "auto" else quality


def _size_inputs(size: str, quality: str) -> dict[str, Any]:
    parsed = parse_size(size)
    if parsed is not None:
        return {"size": f"{parsed[0]}x{parsed[1]}"}
    return {"resolution": QUALITY_LONG_SIDE.get(quality, FULL_LONG_SIDE)}


def _check_background(background: str, output_format: str) -> None:
    if background == "transparent":
        if output_format == "jpeg":
            raise invalid("A transparent background needs output_format png or webp", "background")
        raise invalid(
            "background=transparent is not available: pixelmill's image models draw opaque images", "background"
        )


def _deliver(plan: Plan, producers: Sequence[tuple[str, str]], output_format: str, compression: int | None) -> None:
    """Make ``producers`` ((node id, image field)) the answer: as they are for PNG, else each through
    an ``image.convert`` to the asked format (the producers then become intermediate)."""
    if output_format == "png":
        plan.outputs.extend(node_id for node_id, _ in producers)
        return
    for index, (node_id, image_field) in enumerate(producers):
        for node in plan.graph["nodes"]:
            if node["id"] == node_id:
                node["is_intermediate"] = True
        converted = f"output_{index}"
        inputs: dict[str, Any] = {"format": output_format}
        if compression is not None:
            inputs["quality"] = max(1, compression)
            plan.came_from(converted, quality="output_compression")
        plan.add(converted, "image.convert", inputs)
        plan.came_from(converted, format="output_format")
        plan.connect(node_id, image_field, converted, "image")
        plan.outputs.append(converted)


def generation_plan(body: schemas.ImageGenerate, model: ModelInfo) -> Plan:
    """The graph of ``images.generate``."""
    _check_background(body.background, body.output_format)
    plan = Plan()
    base: dict[str, Any] = {"prompt": body.prompt, "model": model.id, **_size_inputs(body.size, body.quality)}
    if body.output_format == "png":
        inputs = {**base, "n": body.n, **({"seed": body.seed} if body.seed is not None else {})}
        plan.add("image", "image.generate", inputs)
        plan.came_from("image", prompt="prompt", model="model", size="size", resolution="quality", n="n", seed="seed")
        _deliver(plan, [("image", "images")], "png", None)
        return plan
    # One node per image, so each can be converted on its own (an edge carries a whole output).
    producers = []
    for index in range(body.n):
        node_id = f"image_{index}"
        plan.add(node_id, "image.generate", {**base, "seed": (body.seed or 0) + index})
        plan.came_from(node_id, prompt="prompt", model="model", size="size", resolution="quality", seed="seed")
        producers.append((node_id, "image"))
    _deliver(plan, producers, body.output_format, body.output_compression)
    return plan


def edit_plan(form: schemas.ImageEditForm, model: ModelInfo, images: Sequence[str], mask: str | None) -> Plan:
    """The graph of ``images.edit``: ``images`` and ``mask`` are file ids of the uploads."""
    _check_background(form.background, form.output_format)
    if not images:
        raise invalid("Send the image to edit as 'image' (or several as 'image[]')", "image")
    refs = [{"file_id": file_id} for file_id in images]
    mask_ref = {"file_id": mask} if mask is not None else None
    plan = Plan()
    producers: list[tuple[str, str]] = []
    if model.id == CV_MODEL:
        if mask_ref is not None and len(refs) > 1:
            raise invalid(f"{CV_MODEL} applies a mask to one image; send one image with a mask", "mask")
        if form.size != "auto":
            parse_size(form.size)
            raise invalid(f"{CV_MODEL} keeps the size of the image it edits; send size=auto", "size")
        source: dict[str, Any] | None = refs[0]
        if len(refs) > 1:
            plan.add(
                "sheet",
                "image.grid",
                {"images": refs, "columns": len(refs), "cell_size": SHEET_CELL},
                intermediate=True,
            )
            plan.came_from("sheet", images="image")
            source = None
        style = cue(STYLE_WORDS, form.prompt) or DEFAULT_STYLE
        for index in range(form.n):
            node_id = f"image_{index}"
            inputs: dict[str, Any] = {"style": style, "seed": index}
            if source is not None:
                inputs["image"] = source
            if mask_ref is not None:
                inputs["mask"] = mask_ref
            plan.add(node_id, "image.style", inputs)
            plan.came_from(node_id, image="image", mask="mask", style="prompt")
            if source is None:
                plan.connect("sheet", "image", node_id, "image")
            producers.append((node_id, "image"))
    elif mask_ref is not None:
        check_model(model, generation_type="image", capabilities=("inpainting",), purpose="masked edits")
        for index in range(form.n):
            node_id = f"image_{index}"
            plan.add(
                node_id,
                "image.inpaint",
                {"image": refs[0], "mask": mask_ref, "prompt": form.prompt, "model": model.id, "seed": index},
            )
            plan.came_from(node_id, image="image", mask="mask", prompt="prompt", model="model")
            producers.append((node_id, "image"))
    else:
        check_model(model, generation_type="image", capabilities=("image-to-image",), purpose="edits")
        inputs = {"prompt": form.prompt, "model": model.id, "n": form.n, "reference_images": refs}
        inputs.update(_size_inputs(form.size, form.quality))
        plan.add("image", "image.generate", inputs)
        plan.came_from(
            "image", prompt="prompt", model="model", n="n", reference_images="image", size="size", resolution="quality"
        )
        if form.output_format == "png":
            _deliver(plan, [("image", "images")], "png", None)
            return plan
        if form.n > 1:
            raise invalid("Several edited images come as png only; send output_format=png or n=1", "output_format")
        producers.append(("image", "image"))
    _deliver(plan, producers, form.output_format, form.output_compression)
    return plan


def pixelmill_mask(data: bytes) -> bytes:
    """OpenAI's mask (a PNG whose fully transparent pixels mark the area to edit) as pixelmill's
    (white where the image is edited, black where it is kept), as a greyscale PNG."""
    try:
        picture = Image.open(io.BytesIO(data))
        picture.load()
    except (OSError, ValueError, Image.DecompressionBombError):
        raise invalid("The mask is not an image", "mask") from None
    if "A" not in picture.getbands() and "transparency" not in picture.info:
        raise invalid("The mask needs an alpha channel: transparent where the image is edited", "mask")
    alpha = picture.convert("RGBA").getchannel("A")
    edit = alpha.point(lambda value: 255 if value == 0 else 0)
    buffer = io.BytesIO()
    edit.save(buffer, format="PNG")
    return buffer.getvalue()


def variation_plan(form: schemas.ImageVariationForm, model: ModelInfo, image: str) -> Plan:
    """The graph of ``images.create_variation``: ``n`` restyled variants of the uploaded image."""
    if model.id != CV_MODEL:
        raise invalid(f"Variations run on {CV_MODEL}; model {model.id} makes none", "model", model=model.id)
    if form.size != "auto":
        parse_size(form.size)
        raise invalid(f"{CV_MODEL} keeps the size of the image; send size=auto or leave it out", "size")
    plan = Plan()
    plan.add("variations", "image.variations", {"image": {"file_id": image}, "count": form.n})
    plan.came_from("variations", image="image", count="n")
    plan.outputs.append("variations")
    return plan


def image_usage(usages: Iterable[Mapping[str, Any] | None]) -> dict[str, Any] | None:
    """OpenAI's image ``usage`` summed over the nodes that reported tokens; None when none did."""
    totals = {"input_tokens": 0, "output_tokens": 0}
    reported = False
    for usage in usages:
        for name in totals:
            value = (usage or {}).get(name)
            if isinstance(value, int):
                totals[name] += value
                reported = True
    if not reported:
        return None
    return {
        **totals,
        "total_tokens": totals["input_tokens"] + totals["output_tokens"],
        "input_tokens_details": {"text_tokens": totals["input_tokens"], "image_tokens": 0},
    }


def revised_prompt(usages: Iterable[Mapping[str, Any] | None]) -> str | None:
    for usage in usages:
        found = (usage or {}).get("revised_prompt")
        if isinstance(found, str):
            return found
    return None


def images_response(
    *,
    created: int,
    images: Sequence[schemas.ImageData],
    usage: dict[str, Any] | None,
    background: str,
    output_format: schemas.ImageFormat,
    quality: str,
    size: str,
) -> schemas.ImagesResponse:
    return schemas.ImagesResponse(
        created=created,
        data=list(images),
        usage=usage,
        background="opaque" if background == "auto" else background,
        output_format=output_format,
        quality=answered_quality(quality),
        size=size,
    )


def partial_image_event(
    b64_json: str, index: int, *, created: int, background: str, output_format: str, quality: str, size: str
) -> dict[str, Any]:
    return {
        "type": "image_generation.partial_image",
        "b64_json": b64_json,
        "partial_image_index": index,
        "created_at": created,
        "background": "opaque" if background == "auto" else background,
        "output_format": output_format,
        "quality": answered_quality(quality),
        "size": size,
    }


def completed_event(image: schemas.ImageData, response: schemas.ImagesResponse) -> dict[str, Any]:
    return {
        "type": "image_generation.completed",
        "b64_json": image.b64_json,
        "created_at": response.created,
        "background": response.background,
        "output_format": response.output_format,
        "quality": response.quality,
        "size": response.size,
        "usage": response.usage,
    }


# Chat -------------------------------------------------------------------------------------------


IMAGE_DETAILS = ("auto", "low", "high")
_DATA_URL = re.compile(r"^data:(?P<mime>[\w/+.-]*)(?P<params>(;[\w=.+-]+)*);base64,", re.IGNORECASE)


def _message_text(message: schemas.ChatMessage) -> str:
    if message.content is None:
        return ""
    if isinstance(message.content, str):
        return message.content
    return "\n".join(part.text for part in message.content if isinstance(part, schemas.TextPart))


def image_parts(messages: Sequence[schemas.ChatMessage]) -> list[tuple[str, schemas.ImageUrl]]:
    """Each image part with the parameter that names it (``messages[i].content[j]``), in order."""
    return [
        (f"messages[{index}].content[{part_index}]", part.image_url)
        for index, message in enumerate(messages)
        if isinstance(message.content, list)
        for part_index, part in enumerate(message.content)
        if isinstance(part, schemas.ImagePart)
    ]


def check_images(messages: Sequence[schemas.ChatMessage], model: ModelInfo, vision_models: Sequence[str]) -> None:
    """A 400 naming the first image part when ``model`` reads no images (saying which models do), or
    naming a ``detail`` OpenAI does not have; nothing is fetched or stored before this passes."""
    parts = image_parts(messages)
    if not parts:
        return
    if "vision" not in model.capabilities:
        readers = (
            f"models that do here: {', '.join(vision_models)}"
            if vision_models
            else "none is configured on this server (an OpenAI key, or openai_compatible_vision_models)"
        )
        raise invalid(f"Model {model.id} reads text only and cannot take image parts; {readers}", parts[0][0])
    for param, image_url in parts:
        if image_url.detail is not None and image_url.detail not in IMAGE_DETAILS:
            raise invalid(
                f"detail must be one of {', '.join(IMAGE_DETAILS)}, not {image_url.detail!r}",
                f"{param}.image_url.detail",
            )


def data_url_bytes(url: str, param: str, limit: int) -> bytes:
    """The bytes of a base64 ``data:`` URL, refused naming ``param`` when it is not one or decodes to
    more than ``limit`` bytes (checked before decoding, so a huge one costs nothing)."""
    match = _DATA_URL.match(url)
    if match is None:
        raise invalid("An image data URL must be base64: data:image/png;base64,…", param)
    payload = url[match.end() :]
    if len(payload) * 3 // 4 > limit:
        raise PixelmillError(
            errors.PAYLOAD_TOO_LARGE,
            f"The image is larger than {limit} bytes (setting max_upload_bytes)",
            field=param,
            limit=limit,
        )
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise invalid("The image data URL is not valid base64", param) from None


def chat_prompt(messages: Sequence[schemas.ChatMessage]) -> tuple[str, str]:
    """(system, prompt): the system and developer messages, and the conversation the model answers:
    the last message alone, or after a transcript of the turns before it."""
    system = [_message_text(m) for m in messages if m.role in ("system", "developer")]
    turns = [(m.role, _message_text(m)) for m in messages if m.role not in ("system", "developer")]
    if not turns or not turns[-1][1].strip():
        raise invalid("The conversation needs a last message with text to answer", "messages")
    *before, (_role, last) = turns
    transcript = [f"{role.capitalize()}: {text}" for role, text in before if text.strip()]
    prompt = "\n\n".join([*transcript, f"User: {last}"]) if transcript else last
    return "\n\n".join(s for s in system if s.strip()), prompt


def chat_plan(
    body: schemas.ChatCompletionCreate,
    model: ModelInfo,
    images: Mapping[str, str] | None = None,
    vision_models: Sequence[str] = (),
) -> Plan:
    """The graph of a chat completion. ``images`` maps each image part's parameter to the file it
    was stored as (see :func:`image_parts`); the images go with the prompt, in the order sent."""
    check_model(model, generation_type="text", capabilities=("text",), purpose="chat completions")
    check_images(body.messages, model, vision_models)
    system, prompt = chat_prompt(body.messages)
    inputs: dict[str, Any] = {"prompt": prompt, "model": model.id}
    plan = Plan()
    plan.came_from("text", prompt="messages", system="messages", model="model")
    if system:
        inputs["system"] = system
    parts = image_parts(body.messages)
    if parts:
        stored = images or {}
        missing = [param for param, _url in parts if param not in stored]
        if missing:
            raise PixelmillError(errors.INTERNAL_ERROR, f"The image of {missing[0]} was not stored", field=missing[0])
        inputs["images"] = [{"file_id": stored[param]} for param, _url in parts]
        if any(image_url.detail is not None for _param, image_url in parts):
            inputs["image_details"] = [image_url.detail or "auto" for _param, image_url in parts]
        plan.came_from("text", images="messages", image_details="messages")
    limit_param = "max_completion_tokens" if body.max_completion_tokens is not None else "max_tokens"
    limit = body.max_completion_tokens if body.max_completion_tokens is not None else body.max_tokens
    if limit is not None:
        inputs["max_tokens"] = limit
        plan.came_from("text", max_tokens=limit_param)
    if body.temperature is not None:
        inputs["temperature"] = body.temperature
        plan.came_from("text", temperature="temperature")
    if body.seed is not None:
        inputs["seed"] = body.seed
        plan.came_from("text", seed="seed")
    # Never answered from the node cache: a completion reports the tokens it took, as OpenAI's do.
    plan.add("text", "text.generate", inputs, use_cache=False)
    plan.outputs.append("text")
    return plan


def chat_usage(usage: Mapping[str, Any] | None) -> dict[str, int] | None:
    """OpenAI's chat ``usage`` from what the text node recorded; None when the model reported none."""
    prompt, completion = (usage or {}).get("prompt_tokens"), (usage or {}).get("completion_tokens")
    if not isinstance(prompt, int) or not isinstance(completion, int):
        return None
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def finish_reason(usage: Mapping[str, Any] | None) -> str:
    reason = (usage or {}).get("finish_reason")
    return reason if reason in ("stop", "length", "content_filter") else "stop"


def chat_completion(
    *, completion_id: str, created: int, model: str, text: str, usage: Mapping[str, Any] | None
) -> dict[str, Any]:
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": None},
                "finish_reason": finish_reason(usage),
                "logprobs": None,
            }
        ],
        "usage": chat_usage(usage),
        "system_fingerprint": None,
    }


def text_pieces(text: str) -> list[str]:
    """``text`` in the pieces a stream sends: each word with the space before it, so they join back
    to exactly ``text``."""
    return re.findall(r"\s*\S+", text) + ([trailing] if (trailing := text[len(text.rstrip()) :]) else [])


def chat_chunks(
    *,
    completion_id: str,
    created: int,
    model: str,
    text: str,
    usage: Mapping[str, Any] | None,
    include_usage: bool,
) -> list[dict[str, Any]]:
    """The ``chat.completion.chunk`` objects of a streamed answer, without the final ``[DONE]``."""

    def chunk(delta: dict[str, Any], reason: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": reason, "logprobs": None}],
        }
        if include_usage:
            body["usage"] = None
        return body

    chunks = [chunk({"role": "assistant", "content": ""}, None)]
    chunks += [chunk({"content": piece}, None) for piece in text_pieces(text)]
    chunks.append(chunk({}, finish_reason(usage)))
    if include_usage:
        chunks.append(
            {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [],
                "usage": chat_usage(usage),
            }
        )
    return chunks


# Speech -----------------------------------------------------------------------------------------


def speech_plan(body: schemas.SpeechCreate, model: ModelInfo) -> Plan:
    check_model(model, generation_type="voice", capabilities=("speech",), purpose="speech")
    if body.response_format not in SPEECH_FORMATS:
        raise invalid(
            f"response_format {body.response_format} is not available here; use one of {', '.join(SPEECH_FORMATS)}",
            "response_format",
        )
    # audio.speech takes a words-per-minute rate (an upstream model gets it back as rate / default).
    rate = max(espeak.MIN_RATE, min(espeak.MAX_RATE, round(espeak.DEFAULT_RATE * body.speed)))
    inputs: dict[str, Any] = {"text": body.input, "model": model.id, "format": body.response_format}
    plan = Plan()
    if model.id == ESPEAK:
        language, variant = ESPEAK_VOICES.get(body.voice.lower(), (body.voice, ""))
        inputs["voice"] = language
        if variant:
            inputs["variant"] = variant
    else:
        inputs["voice"] = body.voice
    inputs["rate"] = rate
    if body.instructions:
        inputs["instructions"] = body.instructions
    plan.add("speech", "audio.speech", inputs)
    plan.came_from(
        "speech",
        text="input",
        model="model",
        voice="voice",
        variant="voice",
        format="response_format",
        rate="speed",
        instructions="instructions",
    )
    plan.outputs.append("speech")
    return plan
