"""The OpenAI adapter's pure parts: request bodies per model, sizes, masks and error reading."""

from __future__ import annotations

import base64
import io
import json

import httpx
import pytest
from PIL import Image

from pixelmill.errors import PixelmillError
from pixelmill.providers.openai import (
    MODELS,
    Usage,
    choose_size,
    edit_form,
    generation_body,
    images_of,
    model_info,
    model_spec,
    openai_mask,
    read_error,
)
from pixelmill.providers.upstream.failures import to_error


def test_gpt_image_bodies_never_carry_response_format_and_dall_e_always_asks_for_b64() -> None:
    for name, spec in MODELS.items():
        body = generation_body(spec, "p", spec.sizes[0], 1, partial_images=0)
        assert ("response_format" in body) is name.startswith("dall-e"), name
        if name.startswith("dall-e"):
            assert body["response_format"] == "b64_json"


def test_streaming_is_asked_only_of_gpt_image_and_only_with_partial_images() -> None:
    gpt, dalle = MODELS["gpt-image-1"], MODELS["dall-e-3"]
    assert generation_body(gpt, "p", "1024x1024", 1, partial_images=2) == {
        "model": "gpt-image-1",
        "prompt": "p",
        "n": 1,
        "size": "1024x1024",
        "stream": True,
        "partial_images": 2,
    }
    assert "stream" not in generation_body(gpt, "p", "1024x1024", 1, partial_images=0)
    assert "stream" not in generation_body(dalle, "p", "1024x1024", 1, partial_images=3)


@pytest.mark.parametrize(
    ("model", "width", "height", "expected"),
    [
        ("gpt-image-1", 1024, 1024, "1024x1024"),
        ("gpt-image-1", 1024, 576, "1536x1024"),
        ("gpt-image-1", 576, 1024, "1024x1536"),
        ("dall-e-3", 1024, 576, "1792x1024"),
        ("dall-e-2", 300, 300, "256x256"),
        ("dall-e-2", 512, 512, "512x512"),
        ("dall-e-2", 1024, 576, "1024x1024"),
    ],
)
def test_a_size_the_model_does_not_make_becomes_the_nearest_in_shape(
    model: str, width: int, height: int, expected: str
) -> None:
    assert choose_size(MODELS[model], width, height) == expected


def test_edits_send_one_image_as_image_and_several_as_image_brackets_with_the_mask_last() -> None:
    gpt = MODELS["gpt-image-1"]
    data, files = edit_form(gpt, "p", "1024x1024", 2, [b"a"], None, partial_images=0)
    assert data == {"model": "gpt-image-1", "prompt": "p", "n": "2", "size": "1024x1024"}
    assert [name for name, _ in files] == ["image"]
    _, files = edit_form(gpt, "p", "1024x1024", 1, [b"a", b"b", b"c"], b"m", partial_images=0)
    assert [(name, part[1]) for name, part in files] == [
        ("image[]", b"a"),
        ("image[]", b"b"),
        ("image[]", b"c"),
        ("mask", b"m"),
    ]
    data, _ = edit_form(MODELS["dall-e-2"], "p", "512x512", 1, [b"a"], b"m", partial_images=0)
    assert data["response_format"] == "b64_json"


def test_edits_a_model_cannot_make_are_refused_before_sending() -> None:
    with pytest.raises(PixelmillError) as refused:
        edit_form(MODELS["dall-e-3"], "p", "1024x1024", 1, [b"a"], None, partial_images=0)
    assert refused.value.extra["field"] == "model"
    with pytest.raises(PixelmillError) as refused:
        edit_form(MODELS["dall-e-2"], "p", "512x512", 1, [b"a", b"b"], None, partial_images=0)
    assert refused.value.extra["field"] == "reference_images"


def test_the_mask_is_transparent_where_pixelmills_mask_is_white() -> None:
    mask = Image.new("L", (4, 2), 0)
    mask.putpixel((0, 0), 255)
    converted = Image.open(io.BytesIO(openai_mask(mask, (8, 4))))
    assert converted.mode == "RGBA"
    assert converted.size == (8, 4)  # resized to the image
    assert converted.getpixel((0, 0)) == (0, 0, 0, 0)
    assert converted.getpixel((7, 3)) == (0, 0, 0, 255)


def test_catalogue_entries_publish_their_limits_and_are_not_for_test_keys() -> None:
    info = model_info(MODELS["dall-e-3"])
    assert info.id == "openai/dall-e-3"
    assert info.capabilities == ("text-to-image",)
    assert info.limits["max_images"] == 1
    assert not info.sandbox
    assert model_info(MODELS["gpt-image-1"]).capabilities == ("text-to-image", "image-to-image", "inpainting")
    with pytest.raises(PixelmillError):
        model_spec("openai/gpt-image-9")
    with pytest.raises(PixelmillError):
        model_spec("gpt-image-1")


def error_json(message: str, type_: str, code: str, param: str | None = None) -> bytes:
    return json.dumps({"error": {"message": message, "type": type_, "param": param, "code": code}}).encode()


def _response(status: int, body: bytes) -> httpx.Response:
    return httpx.Response(status, content=body, headers={"x-request-id": "req_1"})


@pytest.mark.parametrize(
    ("status", "body", "code", "upstream_code"),
    [
        (
            400,
            error_json("Rejected by the safety system.", "image_generation_user_error", "moderation_blocked", ""),
            "SAFETY_REFUSAL",
            "moderation_blocked",
        ),
        (
            400,
            error_json("rejected by our safety system", "invalid_request_error", "content_policy_violation"),
            "SAFETY_REFUSAL",
            "content_policy_violation",
        ),
        (
            400,
            error_json("Unknown parameter.", "invalid_request_error", "unknown_parameter", "response_format"),
            "UPSTREAM_BAD_REQUEST",
            "unknown_parameter",
        ),
        (
            401,
            b'{"error":{"message":"Incorrect API key","type":"invalid_request_error","code":"invalid_api_key"}}',
            "UPSTREAM_AUTH_FAILED",
            "invalid_api_key",
        ),
        (
            429,
            b'{"error":{"message":"Rate limit","type":"requests","code":"rate_limit_exceeded"}}',
            "UPSTREAM_RATE_LIMITED",
            "rate_limit_exceeded",
        ),
        (500, b"<html>oops</html>", "UPSTREAM_UNAVAILABLE", None),
        (504, b"", "UPSTREAM_TIMEOUT", None),
    ],
)
def test_openai_error_bodies_map_to_the_catalogue_keeping_the_upstream_code(
    status: int, body: bytes, code: str, upstream_code: str | None
) -> None:
    error = to_error("openai", read_error(_response(status, body), body))
    assert error.code == code
    assert error.extra.get("upstream_code") == upstream_code
    assert error.extra["upstream_request_id"] == "req_1"


def test_the_param_of_a_bad_request_rides_along() -> None:
    body = b'{"error":{"message":"bad size","type":"invalid_request_error","param":"size","code":"invalid_value"}}'
    error = to_error("openai", read_error(_response(400, body), body))
    assert (error.code, error.extra["param"], error.extra["upstream_code"]) == (
        "UPSTREAM_BAD_REQUEST",
        "size",
        "invalid_value",
    )


def test_a_key_echoed_by_the_upstream_is_cut_out_of_the_message() -> None:
    key = "sk-proj-abcdefghijklmnopqrstuvwxyz0123"
    body = (
        f'{{"error":{{"message":"bad request for {key} (sk-pro****************0123)","type":"x","code":"x"}}}}'.encode()
    )
    error = to_error("openai", read_error(_response(400, body), body), secret=key)
    assert key not in error.message
    assert "sk-proj-" not in error.message
    auth = to_error("openai", read_error(_response(401, body), body), secret=key)
    assert "sk-pro" not in auth.message


def test_images_of_decodes_every_image_and_collects_usage_and_revised_prompts() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (3, 2), (1, 2, 3)).save(buffer, format="PNG")
    b64 = base64.b64encode(buffer.getvalue()).decode()
    usage = Usage(model="dall-e-3")
    payload = {
        "data": [{"b64_json": b64, "revised_prompt": "better"}],
        "usage": {"input_tokens": 5, "output_tokens": 7},
    }
    (picture,) = images_of(payload, usage)
    assert picture.size == (3, 2)
    assert (usage.input_tokens, usage.output_tokens, usage.revised_prompts) == (5, 7, ["better"])
    broken_payloads: list[object] = [{"data": []}, {"data": [{"b64_json": "not base64!"}]}, None]
    for broken in broken_payloads:
        with pytest.raises(PixelmillError) as failed:
            images_of(broken, Usage(model="x"))
        assert failed.value.code == "UPSTREAM_UNAVAILABLE"
