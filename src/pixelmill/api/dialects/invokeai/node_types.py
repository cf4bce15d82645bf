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
    ``refused`` are fields only accepted at their empty value (null, false); ``colours`` maps an
    InvokeAI ColorField ``{r, g, b, a}`` to the pixelmill ``#rrggbb`` field and its alpha field.
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
    colours: Mapping[str, tuple[str, str]] = field(default_factory=dict)

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
_IMAGE_IN = frozenset({"image"})
_SAME = {"gaussian": "gaussian", "box": "box"}
# float_to_int's methods -> math.round_to_multiple's.
ROUND_METHODS = {"Nearest": "nearest", "Floor": "floor", "Ceiling": "ceiling", "Truncate": "truncate"}


def _image(target: str, inputs: Mapping[str, str], **spec: Any) -> InvokeType:
    """An image -> image type: ``image`` in, ``image_output`` out."""
    return InvokeType(target, "image_output", {"image": "image", **inputs}, _IMAGE_OUT, image_inputs=_IMAGE_IN, **spec)


def _identity(*values: str) -> dict[str, str]:
    return {value: value for value in values}


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
    "img_scale": _image(
        "image.scale",
        {"scale_factor": "factor", "resample_mode": "resample"},
        defaults={"scale_factor": 2.0, "resample_mode": "bicubic"},
        values={"resample_mode": RESAMPLE},
    ),
    "img_blur": _image(
        "image.blur",
        {"radius": "radius", "blur_type": "kind"},
        defaults={"radius": 8.0, "blur_type": "gaussian"},
        values={"blur_type": _SAME},
    ),
    # Only the modes a PNG between nodes holds; L is stored as grey RGB (it decodes the same).
    "img_conv": _image(
        "image.color_mode", {"mode": "mode"}, defaults={"mode": "L"}, values={"mode": _identity("L", "RGB", "RGBA")}
    ),
    "img_chan": _image(
        "image.channel",
        {"channel": "channel"},
        defaults={"channel": "A"},
        values={"channel": _identity("A", "R", "G", "B")},
    ),
    "canny_edge_detection": _image(
        "image.canny",
        {"low_threshold": "low_threshold", "high_threshold": "high_threshold"},
        defaults={"low_threshold": 100, "high_threshold": 200},
    ),
    "infill_rgba": _image(
        "image.infill",
        {"color": "color"},
        fixed={"method": "color"},
        defaults={"color": {"r": 127, "g": 127, "b": 127, "a": 255}},
        colours={"color": ("color", "color_alpha")},
    ),
    "infill_tile": _image(
        "image.infill",
        {"tile_size": "tile_size", "seed": "seed"},
        fixed={"method": "tile"},
        defaults={"tile_size": 32, "seed": 0},
    ),
    # InvokeAI's infill_cv2 is OpenCV's Telea inpainting, which image.infill's telea method is.
    "infill_cv2": _image("image.infill", {}, fixed={"method": "telea"}),
    "img_mul": InvokeType(
        "image.multiply",
        "image_output",
        {"image1": "image", "image2": "other"},
        _IMAGE_OUT,
        image_inputs=frozenset({"image1", "image2"}),
    ),
    # InvokeAI's lerp maps 0..255 onto min..max, its inverse min..max onto 0..255.
    "img_lerp": _image(
        "image.levels",
        {"min": "out_low", "max": "out_high"},
        fixed={"in_low": 0, "in_high": 255},
        defaults={"min": 0, "max": 255},
    ),
    "img_ilerp": _image(
        "image.levels",
        {"min": "in_low", "max": "in_high"},
        fixed={"out_low": 0, "out_high": 255},
        defaults={"min": 0, "max": 255},
    ),
    "rand_int": InvokeType(
        "random.integer",
        "integer_output",
        {"low": "low", "high": "high"},
        {"value": "value"},
        defaults={"low": 0, "high": 2**31 - 1},
    ),
    "rand_float": InvokeType(
        "random.float",
        "float_output",
        {"low": "low", "high": "high", "decimals": "decimals"},
        {"value": "value"},
        defaults={"low": 0.0, "high": 1.0, "decimals": 2},
    ),
    "round_float": InvokeType(
        "math.round",
        "float_output",
        {"value": "value", "decimals": "decimals"},
        {"value": "value"},
        defaults={"value": 0.0, "decimals": 0},
    ),
    "float_to_int": InvokeType(
        "math.round_to_multiple",
        "integer_output",
        {"value": "value", "multiple": "multiple", "method": "method"},
        {"value": "value"},
        defaults={"value": 0.0, "multiple": 8, "method": "Nearest"},
        values={"method": ROUND_METHODS},
    ),
    "string_replace": InvokeType(
        "text.replace",
        "string_output",
        {"string": "text", "search_string": "search", "replace_string": "replace", "use_regex": "regex"},
        {"value": "value"},
        defaults={"string": "", "search_string": "", "replace_string": "", "use_regex": False},
    ),
    "string_split_neg": InvokeType(
        "text.split_negative",
        "string_pos_neg_output",
        {"string": "text"},
        {"positive_string": "positive", "negative_string": "negative"},
        defaults={"string": ""},
    ),
    "string_split": InvokeType(
        "text.split",
        "string_2_output",
        {"string": "text", "delimiter": "delimiter"},
        {"string_1": "first", "string_2": "second"},
        defaults={"string": ""},
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
    "img_pad_crop": f"{_NO_NODE} (pad and crop)",
    "img_channel_offset": f"{_NO_NODE} (offsetting one channel of a colour space)",
    "img_channel_multiply": f"{_NO_NODE} (scaling one channel of a colour space)",
    "infill_patchmatch": f"{_NO_NODE} (PatchMatch infill); infill_cv2 (OpenCV's Telea inpainting) runs here",
    "infill_lama": f"{_NO_NODE} (LaMa, a neural inpainting model); infill_cv2 (OpenCV's Telea inpainting) runs here",
    "lineart_edge_detection": f"{_NO_NODE} (edge detection)",
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
