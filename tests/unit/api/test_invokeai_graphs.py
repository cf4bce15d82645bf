"""InvokeAI graphs translated onto pixelmill nodes, outputs in InvokeAI's shapes, image names, and
the 422 body InvokeAI clients read. Pure: no database, no HTTP."""

from __future__ import annotations

import base64
import io
import itertools
from collections.abc import Sequence
from typing import Any

import pytest
from PIL import Image

import pixelmill.nodes  # noqa: F401 (registers the built-in node types)
from pixelmill import errors
from pixelmill.api.dialects.invokeai.batches import FieldValue
from pixelmill.api.dialects.invokeai.envelope import invokeai_body
from pixelmill.api.dialects.invokeai.graphs import native_translation, result_of, translate, with_field_values
from pixelmill.api.dialects.invokeai.names import image_name_of
from pixelmill.api.dialects.invokeai.schemas import Graph
from pixelmill.config import Settings
from pixelmill.engine.node import default_registry
from pixelmill.engine.validation import validate_graph
from pixelmill.errors import PixelmillError
from pixelmill.ids import new_id

FILE = "file_01KQ7ZP9V5S0F5G2Y8WBN3M4TD"  # the shape pixelmill.ids gives a file


def graph(nodes: dict[str, dict[str, Any]], edges: Sequence[tuple[str, str, str, str]] = ()) -> Graph:
    return Graph.model_validate(
        {
            "id": "g",
            "nodes": {key: {"id": key, **node} for key, node in nodes.items()},
            "edges": [
                {"source": {"node_id": a, "field": f}, "destination": {"node_id": b, "field": g}}
                for a, f, b, g in edges
            ],
        }
    )


def counter() -> Any:
    numbers = itertools.count(1)
    return lambda: f"p{next(numbers)}"


def test_math_and_primitives_map_with_prepared_ids_and_edges() -> None:
    translated = translate(
        graph(
            {
                "n": {"type": "integer", "value": 4},
                "sum": {"type": "add", "b": 3, "is_intermediate": True, "use_cache": False},
            },
            [("n", "value", "sum", "a")],
        ),
        new_id=counter(),
    )
    assert translated.graph == {
        "nodes": [
            {"id": "p1", "type": "value.integer", "inputs": {"value": 4}, "use_cache": True, "is_intermediate": False},
            {"id": "p2", "type": "math.add", "inputs": {"b": 3}, "use_cache": False, "is_intermediate": True},
        ],
        "edges": [{"source": {"node_id": "p1", "field": "value"}, "destination": {"node_id": "p2", "field": "a"}}],
    }
    assert translated.source_prepared_mapping == {"n": ["p1"], "sum": ["p2"]}
    assert translated.prepared_source_mapping == {"p1": "n", "p2": "sum"}
    assert translated.node_types == {"p1": "integer", "p2": "add"}
    # What the translation makes is a graph pixelmill's own validation accepts.
    validate_graph(translated.graph, default_registry, Settings())


def test_invokeai_defaults_fill_fields_left_out() -> None:
    translated = translate(
        graph({"s": {"type": "sub"}, "m": {"type": "integer_math", "operation": "MUL"}}), new_id=counter()
    )
    assert translated.graph["nodes"][0]["inputs"] == {"a": 0, "b": 0}
    assert translated.graph["nodes"][1] | {} == {
        "id": "p2",
        "type": "math.multiply",
        "inputs": {"a": 1, "b": 1},
        "use_cache": True,
        "is_intermediate": False,
    }


def test_image_nodes_take_image_names_and_invokeai_field_names() -> None:
    file_id = new_id("file")
    name = image_name_of(file_id, "image/png")
    translated = translate(
        graph(
            {
                "src": {"type": "image", "image": {"image_name": name}},
                "fit": {"type": "img_resize", "width": 64, "resample_mode": "box"},
                "paste": {"type": "img_paste", "base_image": {"image_name": name}, "x": 3},
            },
            [("src", "image", "fit", "image"), ("fit", "image", "paste", "image")],
        ),
        new_id=counter(),
    )
    src, fit, paste = translated.graph["nodes"]
    assert (src["type"], src["inputs"]) == ("image.load", {"file_id": file_id})
    assert (fit["type"], fit["inputs"]) == (
        "image.resize",
        {"mode": "stretch", "width": 64, "height": 512, "resample": "area"},
    )
    assert paste["inputs"] == {"anchor": "top_left", "base": {"file_id": file_id}, "x": 3, "y": 0}
    assert translated.graph["edges"][1]["destination"] == {"node_id": "p3", "field": "overlay"}


@pytest.mark.parametrize(
    ("nodes", "edges", "spec", "words"),
    [
        ({"n": {"type": "mystery"}}, [], errors.UNKNOWN_NODE_TYPE, ["unknown type 'mystery'"]),
        ({"n": {"type": "img_pad_crop"}}, [], errors.UNKNOWN_NODE_TYPE, ["img_pad_crop", "pad"]),
        ({"n": {"type": "infill_lama"}}, [], errors.UNKNOWN_NODE_TYPE, ["LaMa", "infill_cv2"]),
        ({"n": {"type": "img_conv", "mode": "CMYK"}}, [], errors.INVALID_INPUT, ["CMYK", "L, RGB, RGBA"]),
        ({"n": {"type": "infill_rgba", "color": {"r": 300}}}, [], errors.INVALID_INPUT, ["color", "0-255"]),
        (
            {"c": {"type": "string"}, "n": {"type": "infill_rgba"}},
            [("c", "value", "n", "color")],
            errors.EDGE_UNKNOWN_FIELD,
            ["n.color", "no connection"],
        ),
        ({"n": {"type": "collect"}}, [], errors.UNKNOWN_NODE_TYPE, ["collect", "iteration"]),
        ({"n": {"type": "range"}}, [], errors.UNKNOWN_NODE_TYPE, ["iterate", "batch"]),
        ({"n": {"type": "compel", "prompt": "a cat"}}, [], errors.UNKNOWN_NODE_TYPE, ["pipeline", "l2i"]),
        ({"n": {"type": "sdxl_model_loader"}}, [], errors.UNKNOWN_NODE_TYPE, ["SD 1.x", "image.generate"]),
        ({"n": {"type": "l2i"}}, [], errors.INVALID_INPUT, ["latents", "denoise_latents"]),
        ({"n": {"type": "float_math", "operation": "SQRT"}}, [], errors.INVALID_INPUT, ["SQRT"]),
        ({"n": {"type": "img_resize", "resample_mode": "hamming"}}, [], errors.INVALID_INPUT, ["hamming"]),
        ({"n": {"type": "image", "image": {"image_name": "abc.png"}}}, [], errors.INVALID_INPUT, ["abc.png"]),
        ({"n": {"type": "img_paste", "mask": {"image_name": "file_X.png"}}}, [], errors.INVALID_INPUT, ["mask"]),
        (
            {"n": {"type": "img_resize"}, "m": {"type": "add"}},
            [("n", "width", "m", "a")],
            errors.EDGE_UNKNOWN_FIELD,
            ["n.width", "gives only image"],
        ),
        ({"n": {"type": "add"}}, [("n", "value", "ghost", "a")], errors.EDGE_UNKNOWN_NODE, ["ghost"]),
    ],
)
def test_what_cannot_run_is_refused_naming_the_source_node(
    nodes: dict[str, Any], edges: list[tuple[str, str, str, str]], spec: errors.ErrorSpec, words: list[str]
) -> None:
    with pytest.raises(PixelmillError) as caught:
        translate(graph(nodes, edges))
    assert caught.value.spec is spec
    assert caught.value.extra["node_id"] in nodes or caught.value.extra["node_id"] == "ghost"
    for word in words:
        assert word in caught.value.message


def test_filter_random_and_string_types_map_with_invokeai_fields_and_defaults() -> None:
    name = image_name_of(FILE, "image/png")
    image = {"image_name": name}
    translated = translate(
        graph(
            {
                "scale": {"type": "img_scale", "image": image, "resample_mode": "box"},
                "blur": {"type": "img_blur", "image": image, "blur_type": "box", "radius": 2},
                "conv": {"type": "img_conv", "image": image},
                "chan": {"type": "img_chan", "image": image, "channel": "G"},
                "canny": {"type": "canny_edge_detection", "image": image, "low_threshold": 50},
                "rgba": {"type": "infill_rgba", "image": image, "color": {"r": 255, "g": 16, "b": 0, "a": 128}},
                "tile": {"type": "infill_tile", "image": image, "seed": 4},
                "cv2": {"type": "infill_cv2", "image": image},
                "ri": {"type": "rand_int", "high": 10, "use_cache": False},
                "rf": {"type": "rand_float"},
                "round": {"type": "round_float", "value": 1.25, "decimals": 1},
                "f2i": {"type": "float_to_int", "value": 13.0, "method": "Floor"},
                "rep": {"type": "string_replace", "string": "a-b", "search_string": "-", "replace_string": "+"},
                "split": {"type": "string_split", "string": "a,b", "delimiter": ","},
                "mul": {"type": "img_mul", "image1": image, "image2": image},
                "lerp": {"type": "img_lerp", "image": image, "min": 64},
                "ilerp": {"type": "img_ilerp", "image": image, "max": 128},
            }
        ),
        new_id=counter(),
    )
    ref = {"file_id": FILE}
    assert [node["inputs"] for node in translated.graph["nodes"]] == [
        {"image": ref, "factor": 2.0, "resample": "area"},
        {"image": ref, "radius": 2, "kind": "box"},
        {"image": ref, "mode": "L"},
        {"image": ref, "channel": "G"},
        {"image": ref, "low_threshold": 50, "high_threshold": 200},
        {"method": "color", "image": ref, "color": "#ff1000", "color_alpha": 128},
        {"method": "tile", "image": ref, "tile_size": 32, "seed": 4},
        {"method": "telea", "image": ref},
        {"low": 0, "high": 10},
        {"low": 0.0, "high": 1.0, "decimals": 2},
        {"value": 1.25, "decimals": 1},
        {"value": 13.0, "multiple": 8, "method": "floor"},
        {"text": "a-b", "search": "-", "replace": "+", "regex": False},
        {"text": "a,b", "delimiter": ","},
        {"image": ref, "other": ref},
        {"in_low": 0, "in_high": 255, "image": ref, "out_low": 64, "out_high": 255},
        {"out_low": 0, "out_high": 255, "image": ref, "in_low": 0, "in_high": 128},
    ]
    assert [node["type"] for node in translated.graph["nodes"]] == [
        "image.scale",
        "image.blur",
        "image.color_mode",
        "image.channel",
        "image.canny",
        "image.infill",
        "image.infill",
        "image.infill",
        "random.integer",
        "random.float",
        "math.round",
        "math.round_to_multiple",
        "text.replace",
        "text.split",
        "image.multiply",
        "image.levels",
        "image.levels",
    ]
    assert translated.graph["nodes"][8]["use_cache"] is False
    validate_graph(translated.graph, default_registry, Settings())  # every mapped input is one the node takes
    assert result_of("string_split", {"first": "a", "second": "b"}) == {
        "string_1": "a",
        "string_2": "b",
        "type": "string_2_output",
    }
    assert result_of("string_split_neg", {"positive": "a", "negative": "b"}) == {
        "positive_string": "a",
        "negative_string": "b",
        "type": "string_pos_neg_output",
    }
    assert result_of("float_to_int", {"value": 8}) == {"value": 8, "type": "integer_output"}
    assert result_of("round_float", {"value": 1}) == {"value": 1.0, "type": "float_output"}


def test_outputs_in_invokeai_shapes() -> None:
    assert result_of("add", {"value": 5.0}) == {"value": 5, "type": "integer_output"}
    assert result_of("div", {"value": -3.5}) == {"value": -3, "type": "integer_output"}  # int(a / b)
    assert result_of("float_math", {"value": 2}) == {"value": 2.0, "type": "float_output"}
    assert result_of("string_join", {"text": "ab"}) == {"value": "ab", "type": "string_output"}
    ref = {"kind": "image", "file_id": FILE, "mime": "image/png", "width": 30, "height": 20}
    assert result_of("img_resize", {"image": ref}) == {
        "image": {"image_name": f"{FILE}.png"},
        "width": 30,
        "height": 20,
        "type": "image_output",
    }
    assert result_of("image.grid", {"image": ref}) == {
        "image": {"image_name": f"{FILE}.png"},
        "type": "image.grid_output",
    }


def test_a_saved_workflow_runs_natively_with_field_values() -> None:
    saved: dict[str, Any] = {
        "nodes": [{"id": "a", "type": "math.add", "inputs": {"a": 1}}, {"id": "img", "type": "image.load"}],
        "edges": [],
    }
    written = with_field_values(
        saved,
        [
            FieldValue("a", "b", 2),
            FieldValue("img", "file_id", "file_1"),
            FieldValue("img", "x", {"image_name": f"{FILE}.png"}),
        ],
    )
    assert written["nodes"][0]["inputs"] == {"a": 1, "b": 2}
    assert written["nodes"][1]["inputs"] == {"file_id": "file_1", "x": {"file_id": FILE}}
    assert saved["nodes"][0]["inputs"] == {"a": 1}
    translation, shown = native_translation(written, "wf_1")
    assert translation.source_prepared_mapping == {"a": ["a"], "img": ["img"]}
    assert shown["nodes"]["a"] == {
        "id": "a",
        "type": "math.add",
        "a": 1,
        "b": 2,
        "is_intermediate": False,
        "use_cache": True,
    }
    with pytest.raises(PixelmillError, match="not in the workflow"):
        with_field_values(saved, [FieldValue("zz", "b", 1)])


def test_422_bodies_are_detail_lists_located_at_the_node() -> None:
    problem = PixelmillError(errors.INVALID_INPUT, "bad", node_id="n", field="width")
    assert invokeai_body(problem, "bad") == {
        "detail": [{"loc": ["body", "batch", "graph", "nodes", "n", "width"], "msg": "bad", "type": "invalid_input"}]
    }
    request = PixelmillError(
        errors.VALIDATION_ERROR, "x", errors=[{"field": "batch.data", "message": "too long", "type": "value_error"}]
    )
    assert invokeai_body(request, "x") == {
        "detail": [{"loc": ["batch", "data"], "msg": "too long", "type": "value_error"}]
    }
    unlocated = PixelmillError(errors.GRAPH_TOO_LARGE, "too many nodes")
    assert invokeai_body(unlocated, "too many nodes") == {"detail": "too many nodes"}
    assert invokeai_body(PixelmillError(errors.NOT_FOUND, "gone"), "gone") == {"detail": "gone"}


def test_a_blank_image_is_a_png_drawn_at_translation() -> None:
    translated = translate(
        graph(
            {
                "b": {
                    "type": "blank_image",
                    "width": 6,
                    "height": 4,
                    "mode": "RGBA",
                    "color": {"r": 1, "g": 2, "b": 3, "a": 4},
                }
            }
        )
    )
    node = translated.graph["nodes"][0]
    assert node["type"] == "image.load"
    header, payload = node["inputs"]["data"].split(",", 1)
    assert header == "data:image/png;base64"
    picture = Image.open(io.BytesIO(base64.b64decode(payload)))
    assert (picture.mode, picture.size, picture.getpixel((5, 3))) == ("RGBA", (6, 4), (1, 2, 3, 4))
    default = translate(graph({"b": {"type": "blank_image"}})).graph["nodes"][0]["inputs"]["data"]
    picture = Image.open(io.BytesIO(base64.b64decode(default.split(",", 1)[1])))
    assert (picture.mode, picture.size, picture.getpixel((0, 0))) == ("RGB", (512, 512), (0, 0, 0))


@pytest.mark.parametrize(
    ("fields", "word"),
    [
        ({"width": 0}, "width"),
        ({"height": "big"}, "height"),
        ({"mode": "CMYK"}, "mode"),
        ({"color": {"r": 300}}, "color"),
        ({"width": 5000, "height": 5000}, "pixels"),
    ],
)
def test_a_blank_image_checks_its_fields(fields: dict[str, Any], word: str) -> None:
    with pytest.raises(PixelmillError, match=word):
        translate(graph({"b": {"type": "blank_image", **fields}}))


def sd_graph(**noise: Any) -> Graph:
    return graph(
        {
            "loader": {
                "type": "main_model_loader",
                "model": {"key": "k1", "name": "tiny", "base": "sd-1", "type": "main"},
            },
            "pos": {"type": "compel", "prompt": "a red barn"},
            "neg_text": {"type": "string", "value": "blurry"},
            "neg": {"type": "compel"},
            "noise": {"type": "noise", "seed": 42, "width": 64, "height": 96, **noise},
            "denoise": {"type": "denoise_latents", "steps": 4, "cfg_scale": 5},
            "decode": {"type": "l2i", "is_intermediate": False},
            "small": {"type": "img_resize", "width": 32, "height": 48},
        },
        [
            ("loader", "clip", "pos", "clip"),
            ("loader", "clip", "neg", "clip"),
            ("neg_text", "value", "neg", "prompt"),
            ("loader", "unet", "denoise", "unet"),
            ("pos", "conditioning", "denoise", "positive_conditioning"),
            ("neg", "conditioning", "denoise", "negative_conditioning"),
            ("noise", "noise", "denoise", "noise"),
            ("denoise", "latents", "decode", "latents"),
            ("loader", "vae", "decode", "vae"),
            ("decode", "image", "small", "image"),
        ],
    )


def test_a_stable_diffusion_pipeline_runs_as_one_image_generate_node() -> None:
    translated = translate(sd_graph(), new_id=counter(), diffusers_models=["diffusers/tiny"])
    decode = translated.source_prepared_mapping["decode"][0]
    text, generate, small = translated.graph["nodes"]
    assert generate == {
        "id": decode,
        "type": "image.generate",
        "inputs": {
            "prompt": "a red barn",
            "model": "diffusers/tiny",
            "size": "64x96",
            "seed": 42,
            "negative_prompt": "blurry",
        },
        "use_cache": True,
        "is_intermediate": False,
    }
    assert text["type"] == "value.string"
    assert translated.graph["edges"] == [
        {"source": {"node_id": decode, "field": "image"}, "destination": {"node_id": small["id"], "field": "image"}}
    ]
    # Every source node keeps a prepared id; only the l2i one carries the image.
    assert set(translated.source_prepared_mapping) == set(sd_graph().nodes)
    assert translated.node_types[decode] == "l2i"
    validate_graph(translated.graph, default_registry, Settings())


@pytest.mark.parametrize(
    ("models", "noise", "node", "words"),
    [
        ([], {}, "loader", ["no diffusers weights"]),
        (["diffusers/other"], {}, "loader", ["'tiny'", "other"]),
        (["diffusers/tiny"], {"seed": "x"}, "noise", ["seed"]),
    ],
)
def test_a_pipeline_that_cannot_run_here_names_its_node(
    models: list[str], noise: dict[str, Any], node: str, words: list[str]
) -> None:
    with pytest.raises(PixelmillError) as caught:
        translate(sd_graph(**noise), diffusers_models=models)
    assert caught.value.extra["node_id"] == node
    for word in words:
        assert word in caught.value.message


def iteration_graph(**range_fields: Any) -> Graph:
    return graph(
        {
            "numbers": {"type": "range", "start": 1, "stop": 4, **range_fields},
            "each": {"type": "iterate"},
            "ten": {"type": "integer", "value": 10},
            "sum": {"type": "add"},
            "twice": {"type": "mul", "b": 2},
            "all": {"type": "collect"},
        },
        [
            ("numbers", "collection", "each", "collection"),
            ("each", "item", "sum", "a"),
            ("ten", "value", "sum", "b"),
            ("sum", "value", "twice", "a"),
            ("twice", "value", "all", "item"),
        ],
    )


def test_an_iteration_over_a_literal_range_is_unrolled_into_prepared_copies() -> None:
    translated = translate(iteration_graph(), new_id=counter())
    by_id = {node["id"]: node for node in translated.graph["nodes"]}
    sums = translated.source_prepared_mapping["sum"]
    doubles = translated.source_prepared_mapping["twice"]
    assert [by_id[p]["inputs"] for p in sums] == [{"a": 1}, {"a": 2}, {"a": 3}]
    assert len(doubles) == 3
    assert "numbers" not in translated.source_prepared_mapping  # constants run no node
    assert "all" not in translated.source_prepared_mapping
    ten = translated.source_prepared_mapping["ten"][0]
    pairs = {(e["source"]["node_id"], e["destination"]["node_id"]) for e in translated.graph["edges"]}
    assert pairs == {(ten, s) for s in sums} | set(zip(sums, doubles, strict=True))
    assert {translated.prepared_source_mapping[p] for p in sums} == {"sum"}
    validate_graph(translated.graph, default_registry, Settings())


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"stop": 0}, ["stop"]),
        ({"stop": 5000}, ["1000"]),
    ],
)
def test_a_range_that_cannot_be_unrolled_is_refused(change: dict[str, Any], words: list[str]) -> None:
    with pytest.raises(PixelmillError) as caught:
        translate(iteration_graph(**change))
    for word in words:
        assert word in caught.value.message


def test_an_iteration_whose_collection_is_known_only_at_run_time_is_refused() -> None:
    with pytest.raises(PixelmillError, match="known before the run"):
        translate(
            graph(
                {"x": {"type": "add"}, "each": {"type": "iterate"}, "y": {"type": "add"}},
                [("x", "value", "each", "collection"), ("each", "item", "y", "a")],
            )
        )
    fed_on = graph(
        {
            "each": {"type": "iterate", "collection": [5, 6]},
            "y": {"type": "add"},
            "all": {"type": "collect"},
            "z": {"type": "add"},
        },
        [("each", "item", "y", "a"), ("y", "value", "all", "item"), ("all", "collection", "z", "a")],
    )
    with pytest.raises(PixelmillError, match="cannot feed"):
        translate(fed_on)
    literal = translate(
        graph({"each": {"type": "iterate", "collection": [5, 6]}, "y": {"type": "add"}}, [("each", "index", "y", "a")])
    )
    assert [node["inputs"]["a"] for node in literal.graph["nodes"]] == [0, 1]
