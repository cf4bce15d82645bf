"""InvokeAI's node types, each as the pixelmill node it runs as: type, field names, defaults, outputs.

A type listed in :data:`NODE_TYPES` translates; one in :data:`UNSUPPORTED` is a real InvokeAI type
that pixelmill cannot run, with the reason a 422 gives; any other name is unknown. Defaults are
InvokeAI's own (``invocations/*.py``), so a node that leaves a field out behaves as it would there.
Pure data: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Fields every InvokeAI node may carry that say nothing about what it computes.
COMMON_FIELDS = frozenset({"id", "type", "is_intermediate", "use_cache", "metadata", "board"})

# InvokeAI's resample names -> pixelmill's; ``hamming`` has no counterpart.
RESAMPLE = {"nearest": "nearest", "box": "area", "bilinear": "bilinear", "bicubic": "bicubic", "lanczos": "lanczos"}
# integer_math / float_math operations pixelmill's math nodes compute.
MATH_OPERATIONS = {"ADD": "math.add", "SUB": "math.subtract", "MUL": "math.multiply", "DIV": "math.divide"}


@dataclass(frozen=True, slots=True)
class InvokeType:
    """How one InvokeAI type runs here.

    ``inputs`` maps InvokeAI input fields to the pixelmill node's, ``outputs`` InvokeAI output fields
    to the pixelmill node's; ``fixed`` are pixelmill inputs the translation always sets; ``defaults``
    InvokeAI's defaults (by InvokeAI name); ``image_inputs`` take ``{image_name}``; ``values`` maps a
    field's InvokeAI values to pixelmill's; ``ignored`` are InvokeAI fields accepted and not used;
    ``refused`` are fields only accepted at their empty value (null, false).
    """

    target: str
    output: str
    inputs: Mapping[str, str]
    outputs: Mapping[str, str]
    fixed: Mapping[str, Any] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    image_inputs: frozenset[str] = frozenset()
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    ignored: frozenset[str] = frozenset()
    refused: Mapping[str, str] = field(default_factory=dict)

    @property
    def fields(self) -> frozenset[str]:
        """Every field name a node of this type (or a batch datum naming it) may set."""
        return frozenset(self.inputs) | self.ignored | frozenset(self.refused) | COMMON_FIELDS


def _math(target: str) -> InvokeType:
    return InvokeType(target, "integer_output", {"a": "a", "b": "b"}, {"value": "value"}, defaults={"a": 0, "b": 0})


def _math_operation(output: str) -> InvokeType:
    """``integer_math`` / ``float_math``: the target follows the literal ``operation`` (see
    graphs.target_type); math.add stands for ADD."""
    return InvokeType(
        "math.add",
        output,
        {"a": "a", "b": "b"},
        {"value": "value"},
        defaults={"a": 1, "b": 1},
        ignored=frozenset({"operation"}),
    )


def _value(target: str, output: str) -> InvokeType:
    return InvokeType(target, output, {"value": "value"}, {"value": "value"})


_IMAGE_OUT = {"image": "image"}

NODE_TYPES: dict[str, InvokeType] = {
    "add": _math("math.add"),
    "sub": _math("math.subtract"),
    "mul": _math("math.multiply"),
    "div": _math("math.divide"),
    "integer_math": _math_operation("integer_output"),
    "float_math": _math_operation("float_output"),
    "integer": _value("value.integer", "integer_output"),
    "float": _value("value.float", "float_output"),
    "string": _value("value.string", "string_output"),
    "boolean": _value("value.boolean", "boolean_output"),
    "string_join": InvokeType(
        "text.template",
        "string_output",
        {"string_left": "a", "string_right": "b"},
        {"value": "text"},
        fixed={"template": "{a}{b}"},
        defaults={"string_left": "", "string_right": ""},
    ),
    "string_join_three": InvokeType(
        "text.template",
        "string_output",
        {"string_left": "a", "string_middle": "b", "string_right": "c"},
        {"value": "text"},
        fixed={"template": "{a}{b}{c}"},
        defaults={"string_left": "", "string_middle": "", "string_right": ""},
    ),
    "image": InvokeType(
        "image.load", "image_output", {"image": "file_id"}, _IMAGE_OUT, image_inputs=frozenset({"image"})
    ),
    # A copy saved as a new PNG, as InvokeAI's save_image makes one.
    "save_image": InvokeType(
        "image.convert", "image_output", {"image": "image"}, _IMAGE_OUT, image_inputs=frozenset({"image"})
    ),
    "show_image": InvokeType(
        "image.convert", "image_output", {"image": "image"}, _IMAGE_OUT, image_inputs=frozenset({"image"})
    ),
    # InvokeAI resizes to exactly width x height: pixelmill's "stretch".
    "img_resize": InvokeType(
        "image.resize",
        "image_output",
        {"image": "image", "width": "width", "height": "height", "resample_mode": "resample"},
        _IMAGE_OUT,
        fixed={"mode": "stretch"},
        defaults={"width": 512, "height": 512, "resample_mode": "bicubic"},
        image_inputs=frozenset({"image"}),
        values={"resample_mode": RESAMPLE},
    ),
    "img_crop": InvokeType(
        "image.crop",
        "image_output",
        {"image": "image", "x": "x", "y": "y", "width": "width", "height": "height"},
        _IMAGE_OUT,
        defaults={"x": 0, "y": 0, "width": 512, "height": 512},
        image_inputs=frozenset({"image"}),
    ),
    # The end of a Stable Diffusion pipeline: the whole pipeline runs as this node (see sd.py).
    "l2i": InvokeType(
        "image.generate",
        "image_output",
        {},
        _IMAGE_OUT,
        ignored=frozenset({"latents", "vae", "fp32", "tiled", "tile_size"}),
    ),
    # A blank canvas is a constant: the translation draws it and image.load brings it in (graphs.blank_png).
    "blank_image": InvokeType(
        "image.load",
        "image_output",
        {},
        _IMAGE_OUT,
        defaults={"width": 512, "height": 512, "mode": "RGB", "color": {"r": 0, "g": 0, "b": 0, "a": 255}},
        ignored=frozenset({"width", "height", "mode", "color"}),
    ),
    # The pasted image lies over the base at (x, y); the result keeps the base's size.
    "img_paste": InvokeType(
        "image.composite",
        "image_output",
        {"base_image": "base", "image": "overlay", "x": "x", "y": "y"},
        _IMAGE_OUT,
        fixed={"anchor": "top_left"},
        defaults={"x": 0, "y": 0},
        image_inputs=frozenset({"base_image", "image"}),
        ignored=frozenset({"crop"}),
        refused={"mask": "pixelmill's composite takes no mask; paste without one"},
    ),
}

_NO_NODE = "pixelmill has no node for it"
_NO_ITERATION = (
    "it runs here only as the collection of an iterate (unrolled before the run); a collection that "
    "feeds other nodes has no pixelmill counterpart, expand it into a batch (batch.data) instead"
)
_SD = (
    "only InvokeAI's SD 1.x text-to-image pipeline (main_model_loader, compel, noise, denoise_latents, l2i) "
    "runs here, on the diffusers provider; use pixelmill's image.generate (GET /v1/nodes) for the rest"
)
_SD_PART = "it runs only as part of a text-to-image pipeline that ends in an l2i node, on the diffusers provider"

UNSUPPORTED: dict[str, str] = {
    "img_scale": f"{_NO_NODE} (scale by a factor); use img_resize with the target size",
    "img_blur": f"{_NO_NODE} (blur)",
    "img_conv": f"{_NO_NODE} (colour mode conversion)",
    "img_chan": f"{_NO_NODE} (channel extraction)",
    "img_mul": f"{_NO_NODE} (multiply)",
    "img_lerp": f"{_NO_NODE} (lerp)",
    "img_ilerp": f"{_NO_NODE} (inverse lerp)",
    "img_pad_crop": f"{_NO_NODE} (pad and crop)",
    "infill_rgba": f"{_NO_NODE} (infill)",
    "infill_tile": f"{_NO_NODE} (infill)",
    "infill_patchmatch": f"{_NO_NODE} (infill)",
    "infill_lama": f"{_NO_NODE} (infill)",
    "infill_cv2": f"{_NO_NODE} (infill)",
    "canny_edge_detection": f"{_NO_NODE} (edge detection)",
    "lineart_edge_detection": f"{_NO_NODE} (edge detection)",
    "rand_int": f"{_NO_NODE} (random integer)",
    "rand_float": f"{_NO_NODE} (random float)",
    "float_to_int": f"{_NO_NODE} (rounding to a multiple)",
    "round_float": f"{_NO_NODE} (rounding)",
    "string_replace": f"{_NO_NODE} (replace)",
    "string_split": f"{_NO_NODE} (split)",
    "range": _NO_ITERATION,
    "range_of_size": _NO_ITERATION,
    "random_range": f"{_NO_NODE} (a random collection)",
    "collect": "it runs here only at the end of an iteration, feeding nothing (the iteration is unrolled)",
    "integer_collection": _NO_ITERATION,
    "float_collection": _NO_ITERATION,
    "string_collection": _NO_ITERATION,
    "image_collection": _NO_ITERATION,
    "main_model_loader": _SD_PART,
    "compel": _SD_PART,
    "noise": _SD_PART,
    "denoise_latents": _SD_PART,
    "sdxl_model_loader": _SD,
    "sdxl_compel_prompt": _SD,
    "i2l": _SD,
    "lora_loader": _SD,
    "vae_loader": _SD,
    "clip_skip": _SD,
}
