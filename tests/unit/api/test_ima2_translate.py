"""ima2 <-> pixelmill translation without HTTP: request checks and their codes, provider routing,
the graphs a request becomes, file names, and the answers' shapes."""

from __future__ import annotations

import base64
import io
from datetime import UTC, datetime
from typing import Any

import pytest
from PIL import Image

from pixelmill import errors
from pixelmill.api.dialects.ima2 import answers, codes, files, providers_map, translate
from pixelmill.api.dialects.ima2 import errors as ima2_errors
from pixelmill.api.dialects.ima2.jobs import Ima2Job
from pixelmill.api.dialects.ima2.providers_map import Catalogue
from pixelmill.errors import PixelmillError
from pixelmill.providers.base import ModelInfo

PROCEDURAL = ModelInfo(
    id="local/procedural",
    provider="local",
    generation_type="image",
    capabilities=("text-to-image",),
    cost=1,
    description="",
    sandbox=True,
)
GPT = ModelInfo(
    id="openai/gpt-image-1",
    provider="openai",
    generation_type="image",
    capabilities=("text-to-image", "image-to-image", "inpainting"),
    cost=5,
    description="",
    limits={"max_images": 10, "max_reference_images": 16},
)


def catalogue(*configured: str, models: tuple[ModelInfo, ...] = (PROCEDURAL,)) -> Catalogue:
    return Catalogue(models, lambda name: name in configured, {})


def code_of(call: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(PixelmillError) as caught:
        call(*args, **kwargs)
    return caught.value.code


def png(size: tuple[int, int], mode: str) -> str:
    buffer = io.BytesIO()
    Image.new(mode, size).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def test_request_id_keeps_a_valid_client_id_else_makes_one() -> None:
    assert translate.request_id("req_cli_gen_x", None) == "req_cli_gen_x"
    assert translate.request_id(None, "hdr.1:2") == "hdr.1:2"
    assert translate.request_id("bad id!", None).startswith("req_")


@pytest.mark.parametrize(("value", "expected"), [(None, 1), (3, 3), ("24", 24), (2.0, 2)])
def test_count_reads_numbers_as_ima2_does(value: object, expected: int) -> None:
    assert translate.count(value) == expected


@pytest.mark.parametrize("value", [0, 25, "x", 1.5, True, [1]])
def test_count_refuses(value: object) -> None:
    assert code_of(translate.count, value) == "INVALID_COUNT"


def test_quality_defaults_with_a_warning_never_an_error() -> None:
    assert translate.quality("high") == ("high", [])
    chosen, warnings = translate.quality("ultra")
    assert chosen == "medium"
    assert warnings[0]["code"] == "QUALITY_DEFAULTED"


@pytest.mark.parametrize(
    ("refs", "code"),
    [
        ("x", "REF_NOT_ARRAY"),
        (["QQ=="] * 6, "REF_TOO_MANY"),
        ([None], "REF_NOT_STRING"),
        (["data:image/png;base64,"], "REF_EMPTY"),
        (["A" * 7_340_033], "REF_TOO_LARGE"),
        (["%%%"], "REF_NOT_BASE64"),
    ],
)
def test_reference_codes(refs: object, code: str) -> None:
    assert code_of(translate.references, refs) == code


def test_upstream_providers_cap_input_images() -> None:
    grok = providers_map.route_image("grok-api", None, "medium", catalogue("xai"))
    assert translate.references(["QQ=="] * 3, grok) == [b"A"] * 3
    assert code_of(translate.references, ["QQ=="] * 4, grok) == "GROK_REF_TOO_MANY"
    agy = providers_map.route_image("agy", None, "medium", catalogue("gemini"))
    assert code_of(translate.references, ["QQ=="] * 3, agy, extra_inputs=1) == "AGY_REF_TOO_MANY"


def test_provider_routing() -> None:
    assert providers_map.route_image("auto", None, "low", catalogue()).model_id == "local/procedural"
    assert providers_map.route_image("whatever", "gpt-5.4", "low", catalogue()).provider == "oauth"
    api = providers_map.route_image("api", "gpt-5.5", "low", catalogue("openai", models=(PROCEDURAL, GPT)))
    assert (api.model_id, api.model, api.format) == ("openai/gpt-image-1", "gpt-5.5", "png")
    grok = providers_map.route_image("grok", None, "high", catalogue("xai"))
    assert (grok.model_id, grok.max_inputs) == ("xai/grok-imagine-image-quality", 3)
    gemini = providers_map.route_image("gemini-api", "nano-banana-pro", "low", catalogue("vertex"))
    assert gemini.model_id == "vertex/gemini-3-pro-image-preview"
    assert code_of(providers_map.route_image, "api", None, "low", catalogue()) == "API_KEY_REQUIRED"
    assert code_of(providers_map.route_image, "grok", None, "low", catalogue()) == "OAUTH_UNAVAILABLE"
    assert code_of(providers_map.route_image, "gemini-api", None, "low", catalogue()) == "GEMINI_API_KEY_MISSING"
    assert code_of(providers_map.route_image, "oauth", None, "low", catalogue(models=())) == "OAUTH_UNAVAILABLE"
    assert code_of(providers_map.route_video, "oauth", None, catalogue("xai")) == "VIDEO_PROVIDER_UNSUPPORTED"
    assert providers_map.route_video("grok-api", None, catalogue("xai")).model_id == "xai/grok-imagine-video"


def test_mask_checks() -> None:
    oauth = providers_map.route_image("oauth", None, "low", catalogue())
    assert translate.mask(png((8, 4), "RGBA"), (8, 4), oauth)
    assert code_of(translate.mask, png((8, 4), "RGB"), (8, 4), oauth) == "EDIT_MASK_NO_ALPHA"
    assert code_of(translate.mask, png((4, 4), "RGBA"), (8, 4), oauth) == "EDIT_MASK_DIMENSION_MISMATCH"
    grok = providers_map.route_image("grok", None, "low", catalogue("xai"))
    assert code_of(translate.mask, png((8, 4), "RGBA"), (8, 4), grok) == "GROK_MASK_UNSUPPORTED"


def test_inpaint_mask_is_white_where_ima2s_mask_is_transparent() -> None:
    picture = Image.new("RGBA", (2, 1), (0, 0, 0, 255))
    picture.putpixel((0, 0), (0, 0, 0, 0))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    converted = Image.open(io.BytesIO(translate.inpaint_mask(buffer.getvalue())))
    assert [converted.getpixel((x, 0)) for x in (0, 1)] == [(255, 255, 255), (0, 0, 0)]


def test_generate_graph_splits_large_counts_over_nodes_with_distinct_seeds() -> None:
    graph = translate.generate_graph(PROCEDURAL, "a fox", 20, "512x512")
    counts = [node["inputs"]["n"] for node in graph["nodes"]]
    assert counts == [8, 8, 4]
    assert [node["inputs"].get("seed", 0) for node in graph["nodes"]] == [0, 8, 16]
    assert all(node["inputs"]["size"] == "512x512" for node in graph["nodes"])
    assert "size" not in translate.generate_graph(PROCEDURAL, "a fox", 1, "auto")["nodes"][0]["inputs"]
    assert (
        "reference_images" not in translate.generate_graph(PROCEDURAL, "x", 1, "auto", ["file_1"])["nodes"][0]["inputs"]
    )
    assert translate.generate_graph(GPT, "x", 1, "auto", ["file_1"])["nodes"][0]["inputs"]["reference_images"] == [
        {"file_id": "file_1"}
    ]


def test_edit_graph_picks_the_node_the_model_can_run() -> None:
    assert translate.edit_graph(GPT, "x", "file_i", "file_m")["nodes"][0]["type"] == "image.inpaint"
    assert translate.edit_graph(GPT, "x", "file_i", None)["nodes"][0]["type"] == "image.edit"
    styled = translate.edit_graph(PROCEDURAL, "as a watercolor", "file_i", None)["nodes"][0]
    assert (styled["type"], styled["inputs"]["style"]) == ("image.style", "watercolor")


def test_file_names_follow_ima2() -> None:
    when = datetime(2026, 6, 1, tzinfo=UTC)
    ms = int(when.timestamp() * 1000)
    job = Ima2Job(requestId="r", kind="classic", prompt="p", provider="oauth")
    name = files.filename_for(job, "run_1", when, 2, 3, "image/png")
    assert name.startswith(f"{ms}_")
    assert name.endswith("_2.png")
    assert len(name.split("_")[1]) == 8
    edit = Ima2Job(requestId="r", kind="edit", prompt="p", provider="grok")
    assert files.filename_for(edit, "run_1", when, 0, 1, "image/jpeg").count("_") == 1
    node = Ima2Job(requestId="r", kind="node", prompt="p", provider="oauth", nodeId="n_0123456789")
    assert files.filename_for(node, "run_1", when, 0, 1, "image/png") == "n_0123456789.png"
    multi = Ima2Job(requestId="r", kind="multimode", prompt="p", provider="oauth")
    assert files.filename_for(multi, "run_1", when, 1, 2, "image/png").endswith("_multimode_1.png")
    assert files.filename_for(None, "run_1", when, 0, 1, "video/mp4").endswith("_0.mp4")


def test_payload_shapes() -> None:
    job = Ima2Job(requestId="r1", kind="multimode", prompt="p", provider="oauth", n=3, extra={"sequenceId": "seq_x"})
    items = [answers.Produced(f"f{i}.png", "image/png", b"\x89PNG", 5) for i in range(2)]
    one = answers.generate_payload(job, items[:1], 1.234)
    assert (one["image"][:22], one["elapsed"], one["filename"], one["requestId"]) == (
        "data:image/png;base64,",
        1.2,
        "f0.png",
        "r1",
    )
    many = answers.generate_payload(job, items, 2.0)
    assert many["count"] == 2
    assert [i["filename"] for i in many["images"]] == ["f0.png", "f1.png"]
    done = answers.multimode_done(job, items, 3.0)
    assert (done["elapsed"], done["status"], done["requested"], done["returned"]) == ("3.0", "partial", 3, 2)
    assert [i["sequenceIndex"] for i in done["images"]] == [1, 2]


def test_node_payload_and_sidecar() -> None:
    job = Ima2Job(
        requestId="nreq_1",
        kind="node",
        prompt="a tower",
        provider="oauth",
        model="local/procedural",
        quality="low",
        size="64x64",
        sessionId="s_1",
        nodeId="n_00000000aa",
        parentNodeId="n_00000000bb",
        clientNodeId="c_1",
        extra={"format": "png", "moderation": "low", "refsCount": 1, "contextMode": "parent-only"},
    )
    item = answers.Produced("n_00000000aa.png", "image/png", b"\x89PNG", 7)
    payload = answers.node_payload(job, item, 0.26)
    assert (payload["nodeId"], payload["parentNodeId"], payload["url"], payload["elapsed"]) == (
        "n_00000000aa",
        "n_00000000bb",
        "/generated/n_00000000aa.png",
        0.3,
    )
    assert (payload["refsCount"], payload["contextMode"], payload["format"]) == (1, "parent-only", "png")
    meta = answers.sidecar(job, "a tower", 7, 0.26)
    assert (meta["kind"], meta["sessionId"], meta["options"]["size"], meta["createdAt"]) == ("edit", "s_1", "64x64", 7)


def test_history_row_of_a_run_from_another_api() -> None:
    described = answers.HistoryFile("1_deadbeef_0.png", "image/png", 1, 0, False, True)
    row = answers.history_row(described, None, "an owl", None)
    assert (row["filename"], row["url"], row["thumb"], row["mediaType"]) == (
        "1_deadbeef_0.png",
        "/generated/1_deadbeef_0.png",
        "/generated/1_deadbeef_0.png.thumb.jpg",
        "image",
    )
    assert (row["kind"], row["provider"], row["prompt"], row["requestId"], row["createdAt"]) == (
        None,
        "oauth",
        "an owl",
        None,
        1,
    )
    video = answers.history_row(answers.HistoryFile("v.mp4", "video/mp4", 1, 0, True, False), None, "", None)
    assert (video["mediaType"], video["thumb"], video["isFavorite"]) == ("video", None, True)


def test_video_options_and_references() -> None:
    assert translate.video_options({}) == translate.VideoOptions(6, "720p", "16:9")
    assert code_of(translate.video_options, {"duration": 0}) == "INVALID_VIDEO_DURATION"
    assert code_of(translate.video_options, {"duration": 2.5}) == "INVALID_VIDEO_DURATION"
    assert code_of(translate.video_options, {"resolution": "360p"}) == "INVALID_VIDEO_RESOLUTION"
    assert code_of(translate.video_options, {"aspectRatio": "21:9"}) == "INVALID_VIDEO_ASPECT_RATIO"
    assert len(translate.video_references(["QQ=="] * 7)) == 7
    assert code_of(translate.video_references, ["QQ=="] * 8) == "GROK_VIDEO_REF_TOO_MANY"
    assert code_of(translate.video_prompt, "  ") == "PROMPT_REQUIRED"


def test_generation_statuses() -> None:
    """A malformed request is ima2's 400; refusals and empty results keep ima2's 422."""
    assert codes.GENERATION.status(PixelmillError(errors.VALIDATION_ERROR)) == 400
    assert codes.GENERATION.status(PixelmillError(codes.EMPTY_RESPONSE)) == 422
    refusal = ima2_errors.run_failure("failed", {"code": "SAFETY_REFUSAL", "message": "refused"})
    assert refusal is not None
    assert (refusal.code, codes.GENERATION.status(refusal)) == ("SAFETY_REFUSAL", 422)
    body = codes.GENERATION.body(PixelmillError(codes.INVALID_COUNT), "n must be 1..24")
    assert body == {"error": {"code": "INVALID_COUNT", "message": "n must be 1..24"}}
