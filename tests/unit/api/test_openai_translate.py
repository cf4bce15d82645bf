"""The OpenAI dialect's pure translation: requests as graphs, results as OpenAI's shapes, errors as
its envelope. No HTTP, no database."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from PIL import Image

from pixelmill import errors
from pixelmill.api.dialects.openai import schemas, translate
from pixelmill.api.dialects.openai.errors import ENVELOPE
from pixelmill.errors import PixelmillError
from pixelmill.providers.base import ModelInfo

PROCEDURAL = ModelInfo("local/procedural", "local", "image", ("text-to-image",), 5, "", sandbox=True)
CV = ModelInfo("local/cv", "local", "image", ("image-to-image",), 2, "", sandbox=True)
GPT_IMAGE = ModelInfo("openai/gpt-image-1", "openai", "image", ("text-to-image", "image-to-image", "inpainting"), 5, "")
SMOLLM2 = ModelInfo("local/smollm2", "local", "text", ("text",), 2, "", sandbox=True)
ESPEAK = ModelInfo("local/espeak", "local", "voice", ("speech",), 3, "", sandbox=True)
TTS = ModelInfo("openai/tts-1", "openai", "voice", ("speech",), 3, "")


def nodes(plan: translate.Plan) -> dict[str, dict[str, Any]]:
    return {node["id"]: node for node in plan.graph["nodes"]}


def param_of(excinfo: pytest.ExceptionInfo[PixelmillError]) -> Any:
    return excinfo.value.extra.get("field")


def test_a_png_generation_is_one_node_making_n_images() -> None:
    body = schemas.ImageGenerate(prompt="a kite", n=3, size="640x480", seed=9)
    plan = translate.generation_plan(body, PROCEDURAL)
    assert plan.graph == {
        "nodes": [
            {
                "id": "image",
                "type": "image.generate",
                "inputs": {"prompt": "a kite", "model": "local/procedural", "size": "640x480", "n": 3, "seed": 9},
                "is_intermediate": False,
            }
        ],
        "edges": [],
    }
    assert plan.outputs == ["image"]
    assert plan.param("image", "size") == "size"


@pytest.mark.parametrize(("quality", "side"), [("low", 512), ("medium", 768), ("high", 1024), ("auto", 1024)])
def test_size_auto_draws_at_the_long_side_quality_names(quality: str, side: int) -> None:
    plan = translate.generation_plan(schemas.ImageGenerate(prompt="x", quality=quality), PROCEDURAL)  # type: ignore[arg-type]
    assert nodes(plan)["image"]["inputs"]["resolution"] == side
    assert plan.param("image", "resolution") == "quality"


def test_jpeg_output_converts_each_image_with_its_compression() -> None:
    body = schemas.ImageGenerate(prompt="x", n=2, output_format="jpeg", output_compression=40, seed=5)
    plan = translate.generation_plan(body, PROCEDURAL)
    found = nodes(plan)
    assert [found[f"image_{i}"]["inputs"]["seed"] for i in range(2)] == [5, 6]
    assert all(found[f"image_{i}"]["is_intermediate"] for i in range(2))
    assert [found[f"output_{i}"]["inputs"] for i in range(2)] == [{"format": "jpeg", "quality": 40}] * 2
    assert plan.outputs == ["output_0", "output_1"]
    assert [edge["destination"]["node_id"] for edge in plan.graph["edges"]] == ["output_0", "output_1"]


@pytest.mark.parametrize("size", ["huge", "1024", "1024x", "x1024", "1024*1024", "9x9"])
def test_a_size_that_is_not_auto_or_wxh_is_400_naming_size(size: str) -> None:
    with pytest.raises(PixelmillError) as excinfo:
        translate.generation_plan(schemas.ImageGenerate(prompt="x", size=size), PROCEDURAL)
    assert param_of(excinfo) == "size"


def test_a_transparent_background_is_refused_naming_background() -> None:
    with pytest.raises(PixelmillError) as excinfo:
        translate.generation_plan(schemas.ImageGenerate(prompt="x", background="transparent"), PROCEDURAL)
    assert param_of(excinfo) == "background"


def test_a_cpu_edit_restyles_each_copy_with_the_style_the_prompt_cues() -> None:
    form = schemas.ImageEditForm(prompt="make it a watercolor", n=2)
    plan = translate.edit_plan(form, CV, ["file_a"], "file_m")
    found = nodes(plan)
    assert [found[f"image_{i}"]["inputs"] for i in range(2)] == [
        {"style": "watercolor", "seed": i, "image": {"file_id": "file_a"}, "mask": {"file_id": "file_m"}}
        for i in range(2)
    ]


def test_a_cpu_edit_of_several_images_lays_them_out_on_a_sheet_first() -> None:
    plan = translate.edit_plan(schemas.ImageEditForm(prompt="x"), CV, ["file_a", "file_b"], None)
    found = nodes(plan)
    assert found["sheet"]["type"] == "image.grid"
    assert found["sheet"]["inputs"]["images"] == [{"file_id": "file_a"}, {"file_id": "file_b"}]
    assert plan.graph["edges"][0]["source"]["node_id"] == "sheet"
    with pytest.raises(PixelmillError) as excinfo:
        translate.edit_plan(schemas.ImageEditForm(prompt="x"), CV, ["file_a", "file_b"], "file_m")
    assert param_of(excinfo) == "mask"


def test_an_upstream_edit_sends_references_or_inpaints_under_the_mask() -> None:
    plain = translate.edit_plan(schemas.ImageEditForm(prompt="x", n=2), GPT_IMAGE, ["file_a", "file_b"], None)
    (node,) = plain.graph["nodes"]
    assert (node["type"], node["inputs"]["n"]) == ("image.generate", 2)
    assert node["inputs"]["reference_images"] == [{"file_id": "file_a"}, {"file_id": "file_b"}]
    masked = translate.edit_plan(schemas.ImageEditForm(prompt="x"), GPT_IMAGE, ["file_a"], "file_m")
    (node,) = masked.graph["nodes"]
    assert node["type"] == "image.inpaint"
    assert (node["inputs"]["image"], node["inputs"]["mask"]) == ({"file_id": "file_a"}, {"file_id": "file_m"})
    with pytest.raises(PixelmillError) as excinfo:
        translate.edit_plan(schemas.ImageEditForm(prompt="x"), PROCEDURAL, ["file_a"], None)
    assert param_of(excinfo) == "model"


def test_variations_run_on_local_cv_only() -> None:
    plan = translate.variation_plan(schemas.ImageVariationForm(n=4), CV, "file_a")
    assert nodes(plan)["variations"]["inputs"] == {"image": {"file_id": "file_a"}, "count": 4}
    with pytest.raises(PixelmillError) as excinfo:
        translate.variation_plan(schemas.ImageVariationForm(), GPT_IMAGE, "file_a")
    assert param_of(excinfo) == "model"


def mask_png(mode: str, left: Any, right: Any) -> bytes:
    picture = Image.new(mode, (4, 2), right)
    picture.paste(left, (0, 0, 2, 2))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def test_openais_mask_becomes_white_where_it_is_transparent() -> None:
    converted = Image.open(io.BytesIO(translate.pixelmill_mask(mask_png("RGBA", (9, 9, 9, 0), (9, 9, 9, 255)))))
    assert converted.mode == "L"
    assert [converted.getpixel((x, 0)) for x in range(4)] == [255, 255, 0, 0]
    with pytest.raises(PixelmillError) as excinfo:
        translate.pixelmill_mask(mask_png("RGB", (0, 0, 0), (255, 255, 255)))
    assert param_of(excinfo) == "mask"
    with pytest.raises(PixelmillError):
        translate.pixelmill_mask(b"not an image")


def test_image_usage_sums_what_nodes_reported_or_is_none() -> None:
    assert translate.image_usage([None, {"provider": "local"}]) is None
    usage = translate.image_usage([{"input_tokens": 10, "output_tokens": 100}, {"input_tokens": 5}])
    assert usage == {
        "input_tokens": 15,
        "output_tokens": 100,
        "total_tokens": 115,
        "input_tokens_details": {"text_tokens": 15, "image_tokens": 0},
    }


def chat(*messages: dict[str, Any], **fields: Any) -> schemas.ChatCompletionCreate:
    return schemas.ChatCompletionCreate.model_validate({"model": "local/smollm2", "messages": list(messages), **fields})


def test_chat_messages_become_a_system_and_a_prompt() -> None:
    body = chat(
        {"role": "system", "content": "Be brief."},
        {"role": "developer", "content": "Use English."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": [{"type": "text", "text": "Name a colour."}]},
    )
    assert translate.chat_prompt(body.messages) == (
        "Be brief.\n\nUse English.",
        "User: Hi\n\nAssistant: Hello!\n\nUser: Name a colour.",
    )
    assert translate.chat_prompt(chat({"role": "user", "content": "Just this"}).messages) == ("", "Just this")


def test_a_chat_plan_takes_the_limits_and_is_never_cached() -> None:
    plan = translate.chat_plan(
        chat({"role": "user", "content": "Hi"}, max_completion_tokens=20, temperature=0.5, seed=3), SMOLLM2
    )
    (node,) = plan.graph["nodes"]
    assert node["inputs"] == {"prompt": "Hi", "model": "local/smollm2", "max_tokens": 20, "temperature": 0.5, "seed": 3}
    assert node["use_cache"] is False
    assert plan.param("text", "max_tokens") == "max_completion_tokens"
    assert (
        translate.chat_plan(chat({"role": "user", "content": "Hi"}, max_tokens=7), SMOLLM2).param("text", "max_tokens")
        == "max_tokens"
    )


GPT_4O = ModelInfo("openai/gpt-4o", "openai", "text", ("text", "vision"), 2, "")
PIXEL = (  # a 1x1 PNG
    "data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg=="
)


def looking(*parts: dict[str, Any], model: str = "local/smollm2") -> schemas.ChatCompletionCreate:
    return chat(
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "What is this?"}, *parts]},
        model=model,
    )


def test_an_image_part_on_a_text_only_model_is_400_naming_it_and_the_models_that_read_images() -> None:
    body = looking({"type": "image_url", "image_url": {"url": PIXEL}})
    with pytest.raises(PixelmillError) as excinfo:
        translate.chat_plan(body, SMOLLM2, vision_models=["openai/gpt-4o", "openai/gpt-4.1-mini"])
    assert param_of(excinfo) == "messages[1].content[1]"
    assert "local/smollm2 reads text only" in excinfo.value.message
    assert "openai/gpt-4o, openai/gpt-4.1-mini" in excinfo.value.message
    assert ENVELOPE.status(excinfo.value) == 400
    with pytest.raises(PixelmillError) as none_here:
        translate.check_images(body.messages, SMOLLM2, [])
    assert "none is configured" in none_here.value.message
    with pytest.raises(PixelmillError) as wrong_model:
        translate.chat_plan(chat({"role": "user", "content": "Hi"}), PROCEDURAL)
    assert param_of(wrong_model) == "model"


def test_image_parts_are_named_in_order_across_messages() -> None:
    body = chat(
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://a.example/1.png"}}]},
        {"role": "assistant", "content": "A cat."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "And these?"},
                {"type": "image_url", "image_url": {"url": PIXEL, "detail": "low"}},
                {"type": "image_url", "image_url": {"url": "https://a.example/2.png"}},
            ],
        },
    )
    parts = translate.image_parts(body.messages)
    assert [(param, url.url[:22], url.detail) for param, url in parts] == [
        ("messages[0].content[0]", "https://a.example/1.pn", None),
        ("messages[2].content[1]", PIXEL[:22], "low"),
        ("messages[2].content[2]", "https://a.example/2.pn", None),
    ]
    # The image-only first turn adds no text to the transcript.
    assert translate.chat_prompt(body.messages) == ("", "Assistant: A cat.\n\nUser: And these?")


def test_a_vision_plan_hands_the_stored_files_and_details_to_the_node_in_order() -> None:
    body = looking(
        {"type": "image_url", "image_url": {"url": PIXEL}},
        {"type": "image_url", "image_url": {"url": "https://a.example/2.png", "detail": "high"}},
        model="openai/gpt-4o",
    )
    stored = {"messages[1].content[1]": "file_a", "messages[1].content[2]": "file_b"}
    plan = translate.chat_plan(body, GPT_4O, stored)
    (node,) = plan.graph["nodes"]
    assert node["inputs"] == {
        "prompt": "What is this?",
        "model": "openai/gpt-4o",
        "system": "Be brief.",
        "images": [{"file_id": "file_a"}, {"file_id": "file_b"}],
        "image_details": ["auto", "high"],
    }
    assert plan.param("text", "images") == "messages"
    without_detail = translate.chat_plan(
        looking({"type": "image_url", "image_url": {"url": PIXEL}}, model="openai/gpt-4o"),
        GPT_4O,
        {"messages[1].content[1]": "file_a"},
    )
    assert "image_details" not in without_detail.graph["nodes"][0]["inputs"]
    with pytest.raises(PixelmillError) as unstored:
        translate.chat_plan(body, GPT_4O, {"messages[1].content[1]": "file_a"})
    assert unstored.value.code == errors.INTERNAL_ERROR.code


def test_a_detail_openai_does_not_have_is_400_naming_it() -> None:
    body = looking({"type": "image_url", "image_url": {"url": PIXEL, "detail": "ultra"}}, model="openai/gpt-4o")
    with pytest.raises(PixelmillError) as excinfo:
        translate.check_images(body.messages, GPT_4O, ["openai/gpt-4o"])
    assert param_of(excinfo) == "messages[1].content[1].image_url.detail"


def test_a_data_url_decodes_within_the_limit_and_is_refused_otherwise() -> None:
    data = translate.data_url_bytes(PIXEL, "messages[0].content[1]", 1000)
    assert Image.open(io.BytesIO(data)).size == (1, 1)
    assert translate.data_url_bytes("data:image/png;name=a.png;base64,aGk=", "p", 10) == b"hi"
    for url, code in [
        ("data:image/png,rawbytes", errors.VALIDATION_ERROR.code),
        ("data:image/png;base64,not*base64", errors.VALIDATION_ERROR.code),
        (PIXEL, errors.PAYLOAD_TOO_LARGE.code),
    ]:
        with pytest.raises(PixelmillError) as excinfo:
            translate.data_url_bytes(url, "messages[0].content[1]", 20)
        assert (excinfo.value.code, param_of(excinfo)) == (code, "messages[0].content[1]")


@pytest.mark.parametrize("text", ["Blue.", " The sky is  blue.\n", "one", ""])
def test_streamed_pieces_join_back_to_the_text(text: str) -> None:
    assert "".join(translate.text_pieces(text)) == text


def test_chat_chunks_open_with_the_role_and_close_with_usage() -> None:
    usage = {"prompt_tokens": 4, "completion_tokens": 2, "finish_reason": "length"}
    chunks = translate.chat_chunks(
        completion_id="run_1", created=1, model="m", text="Sky blue", usage=usage, include_usage=True
    )
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert [c["choices"][0]["delta"].get("content") for c in chunks[1:3]] == ["Sky", " blue"]
    assert chunks[3]["choices"][0]["finish_reason"] == "length"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}
    plain = translate.chat_chunks(completion_id="r", created=1, model="m", text="a", usage=None, include_usage=False)
    assert all("usage" not in chunk for chunk in plain)
    assert translate.chat_completion(completion_id="r", created=1, model="m", text="a", usage=None)["usage"] is None


def test_speech_maps_openais_voices_and_speed_onto_espeak() -> None:
    body = schemas.SpeechCreate(model="tts-1", input="Hello", voice="onyx", response_format="wav", speed=2.0)
    (node,) = translate.speech_plan(body, ESPEAK).graph["nodes"]
    assert node["inputs"] == {
        "text": "Hello",
        "model": "local/espeak",
        "format": "wav",
        "voice": "en-us",
        "variant": "m7",
        "rate": 350,
    }
    upstream = schemas.SpeechCreate(model="tts-1", input="Hi", voice="nova", speed=0.25)
    (node,) = translate.speech_plan(upstream, TTS).graph["nodes"]
    assert (node["inputs"]["voice"], node["inputs"]["rate"], node["inputs"]["format"]) == ("nova", 80, "mp3")
    unwritten: tuple[schemas.SpeechFormat, ...] = ("aac", "flac", "pcm")
    for bad in unwritten:
        with pytest.raises(PixelmillError) as excinfo:
            translate.speech_plan(
                schemas.SpeechCreate(model="m", input="x", voice="alloy", response_format=bad), ESPEAK
            )
        assert param_of(excinfo) == "response_format"


def test_a_graph_error_names_the_request_parameter_behind_the_input() -> None:
    plan = translate.generation_plan(schemas.ImageGenerate(prompt="x", n=2), PROCEDURAL)
    exc = translate.rename_field(PixelmillError(errors.INVALID_INPUT, "too many", node_id="image", field="n"), plan)
    assert exc.extra["field"] == "n"
    untouched = translate.rename_field(
        PixelmillError(errors.INVALID_INPUT, "x", node_id="image", field="options"), plan
    )
    assert untouched.extra["field"] == "options"


@pytest.mark.parametrize(
    ("exc", "status", "kind", "code"),
    [
        (PixelmillError(errors.VALIDATION_ERROR, "bad", field="size"), 400, "invalid_request_error", "invalid_value"),
        (PixelmillError(errors.UNAUTHENTICATED), 401, "invalid_request_error", "invalid_api_key"),
        (PixelmillError(errors.NOT_FOUND, "no", field="model"), 404, "invalid_request_error", "model_not_found"),
        (PixelmillError(errors.INSUFFICIENT_CREDITS), 429, "insufficient_quota", "insufficient_quota"),
        (PixelmillError(errors.RATE_LIMITED), 429, "requests", "rate_limit_exceeded"),
        (PixelmillError(errors.PAYLOAD_TOO_LARGE), 400, "invalid_request_error", "payload_too_large"),
        (PixelmillError(errors.PROVIDER_ERROR), 502, "server_error", "provider_error"),
    ],
)
def test_errors_leave_in_openais_envelope(exc: PixelmillError, status: int, kind: str, code: str) -> None:
    response = ENVELOPE.response(exc)
    assert response.status_code == status
    body = json.loads(bytes(response.body))
    assert body == {"error": {"message": exc.message, "type": kind, "param": exc.extra.get("field"), "code": code}}
