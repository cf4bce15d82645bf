"""The Gemini and Vertex adapters' pure parts: size to aspectRatio and imageSize, request bodies,
answers (thought parts, safety, usage), Google's error body, Vertex routes and service-account JSON."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from pixelmill.errors import PixelmillError
from pixelmill.providers.gemini import (
    MODELS,
    Usage,
    aspect_ratio,
    duration_seconds,
    image_of,
    image_size,
    model_info,
    model_spec,
    read_error,
    request_body,
)
from pixelmill.providers.google_token import parse_service_account, read_service_account
from pixelmill.providers.upstream.failures import to_error
from pixelmill.providers.vertex import model_route, vertex_base_url

FLASH = MODELS["gemini-2.5-flash-image"]
PRO = MODELS["gemini-3-pro-image-preview"]


def png(width: int, height: int, colour: tuple[int, int, int] = (9, 8, 7)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def answer(parts: list[dict[str, Any]], finish: str = "STOP", **extra: Any) -> dict[str, Any]:
    return {"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": finish}], **extra}


def refusal(payload: Any) -> PixelmillError:
    with pytest.raises(PixelmillError) as raised:
        image_of(payload, Usage(model="m"), provider="gemini")
    return raised.value


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((1024, 1024), "1:1"),
        ((1536, 1024), "3:2"),
        ((1024, 1536), "2:3"),
        ((1920, 1080), "16:9"),
        ((1080, 1920), "9:16"),
        ((2520, 1080), "21:9"),
        ((1280, 1024), "5:4"),
        ((1024, 1280), "4:5"),
        ((1360, 1024), "4:3"),
        ((768, 1024), "3:4"),
        ((4000, 1000), "21:9"),  # wider than any: the widest
        ((1000, 4000), "9:16"),
        ((1100, 1000), "1:1"),
    ],
)
def test_a_size_gets_the_nearest_aspect_ratio(size: tuple[int, int], expected: str) -> None:
    assert aspect_ratio(*size) == expected


def test_image_size_is_the_nearest_in_pixel_count_and_only_for_models_that_take_it() -> None:
    assert image_size(PRO, 1024, 1024) == "1K"
    assert image_size(PRO, 1824, 1024) == "1K"
    assert image_size(PRO, 2048, 1152) == "2K"
    assert image_size(PRO, 2048, 2048) == "2K"
    assert image_size(PRO, 3072, 3072) == "4K"
    # The line between two sizes is the geometric mean of their pixel counts (2896 x 2896 for 2K/4K).
    assert image_size(PRO, 3840, 2160) == "2K"
    assert image_size(PRO, 4096, 2304) == "4K"
    assert image_size(PRO, 256, 256) == "1K"
    assert image_size(FLASH, 4096, 4096) is None


def test_a_text_to_image_body_is_one_user_turn_with_aspect_ratio_and_size() -> None:
    assert request_body(PRO, "a fox", [], size=(2048, 1152), keep_ratio=False) == {
        "contents": [{"role": "user", "parts": [{"text": "a fox"}]}],
        "generationConfig": {
            "responseModalities": ["TEXT", "IMAGE"],
            "imageConfig": {"aspectRatio": "16:9", "imageSize": "2K"},
        },
    }
    assert request_body(FLASH, "a fox", [], size=(1536, 1024), keep_ratio=False)["generationConfig"] == {
        "responseModalities": ["TEXT", "IMAGE"],
        "imageConfig": {"aspectRatio": "3:2"},
    }


def test_reference_images_follow_the_prompt_as_inline_data() -> None:
    first, second = png(8, 8, (1, 2, 3)), png(4, 4, (4, 5, 6))
    body = request_body(FLASH, "both", [first, second], size=(1024, 1024), keep_ratio=False)
    assert body["contents"][0]["parts"] == [
        {"text": "both"},
        {"inlineData": {"mimeType": "image/png", "data": b64(first)}},
        {"inlineData": {"mimeType": "image/png", "data": b64(second)}},
    ]


def test_an_edit_keeps_the_inputs_ratio_and_sends_no_image_config_when_there_is_nothing_to_say() -> None:
    source = png(300, 200)
    flash = request_body(FLASH, "make it blue", [source], size=(300, 200), keep_ratio=True)
    assert flash["generationConfig"] == {"responseModalities": ["TEXT", "IMAGE"]}
    pro = request_body(PRO, "make it blue", [source], size=(2400, 1600), keep_ratio=True)
    assert pro["generationConfig"]["imageConfig"] == {"imageSize": "2K"}


def test_too_many_references_or_no_prompt_is_invalid_input() -> None:
    with pytest.raises(PixelmillError) as many:
        request_body(FLASH, "x", [png(2, 2)] * 4, size=(64, 64), keep_ratio=False)
    assert (many.value.code, many.value.extra["field"]) == ("INVALID_INPUT", "reference_images")
    with pytest.raises(PixelmillError) as empty:
        request_body(FLASH, "", [png(2, 2)], size=(64, 64), keep_ratio=True)
    assert empty.value.extra["field"] == "prompt"


def test_the_catalogue_entry_says_what_each_model_takes() -> None:
    info = model_info("vertex", PRO)
    assert (info.id, info.provider, info.cost, info.sandbox) == (
        "vertex/gemini-3-pro-image-preview",
        "vertex",
        5,
        False,
    )
    assert info.capabilities == ("text-to-image", "image-to-image")
    assert info.limits["image_sizes"] == ["1K", "2K", "4K"]
    assert info.limits["max_reference_images"] == 14
    assert model_info("gemini", FLASH).limits["image_sizes"] == ["1K"]
    assert model_spec("gemini", "gemini/gemini-2.5-flash-image") is FLASH
    for wrong in ("vertex/gemini-2.5-flash-image", "gemini/imagen-4", "gemini-2.5-flash-image"):
        with pytest.raises(PixelmillError):
            model_spec("gemini", wrong)


def test_thought_parts_are_skipped_and_the_text_and_usage_are_kept() -> None:
    draft, final = png(16, 16, (128, 128, 128)), png(32, 24, (30, 140, 220))
    payload = answer(
        [
            {"text": "Planning the layout.", "thought": True},
            {"inlineData": {"mimeType": "image/png", "data": b64(draft)}, "thought": True},
            {"text": "Here is your lighthouse."},
            {"inlineData": {"mimeType": "image/png", "data": b64(final)}, "thoughtSignature": "abc"},
        ],
        usageMetadata={
            "promptTokenCount": 12,
            "candidatesTokenCount": 1290,
            "totalTokenCount": 1402,
            "thoughtsTokenCount": 100,
        },
        modelVersion="gemini-3-pro-image-preview-001",
    )
    usage = Usage(model="gemini-3-pro-image-preview")
    picture = image_of(payload, usage, provider="gemini")
    assert (picture.size, picture.convert("RGB").getpixel((0, 0))) == ((32, 24), (30, 140, 220))
    assert usage.public("gemini") == {
        "provider": "gemini",
        "model": "gemini-3-pro-image-preview-001",
        "input_tokens": 12,
        "output_tokens": 1290,
        "total_tokens": 1402,
        "thoughts_tokens": 100,
        "notes": "Here is your lighthouse.",
    }


def test_usage_of_several_calls_adds_up() -> None:
    usage = Usage(model="m")
    for _ in range(2):
        image_of(
            answer(
                [{"inlineData": {"mimeType": "image/png", "data": b64(png(2, 2))}}],
                usageMetadata={"totalTokenCount": 10},
            ),
            usage,
            provider="gemini",
        )
    assert usage.public("gemini") == {"provider": "gemini", "model": "m", "total_tokens": 20}


@pytest.mark.parametrize("reason", ["IMAGE_SAFETY", "SAFETY", "PROHIBITED_CONTENT", "IMAGE_PROHIBITED_CONTENT", "SPII"])
def test_a_safety_finish_is_safety_refusal_with_googles_reason(reason: str) -> None:
    error = refusal(answer([{"text": "I can't make that."}], reason))
    assert (error.code, error.extra["upstream_code"], error.extra["provider"]) == ("SAFETY_REFUSAL", reason, "gemini")
    assert "I can't make that." in error.message


def test_a_finish_message_is_preferred_to_the_text() -> None:
    payload = answer([], "IMAGE_SAFETY")
    payload["candidates"][0]["finishMessage"] = "Unable to show the generated image."
    assert "Unable to show the generated image." in refusal(payload).message


def test_a_blocked_prompt_is_safety_refusal_with_the_block_reason() -> None:
    error = refusal(
        {"promptFeedback": {"blockReason": "PROHIBITED_CONTENT", "blockReasonMessage": "Blocked by policy."}}
    )
    assert (error.code, error.extra["upstream_code"]) == ("SAFETY_REFUSAL", "PROHIBITED_CONTENT")
    assert "Blocked by policy." in error.message
    assert "OTHER" in refusal({"promptFeedback": {"blockReason": "OTHER"}}).message


def test_an_answer_without_an_image_is_a_clear_error_with_the_models_words() -> None:
    error = refusal(answer([{"text": "Here is a poem instead."}], "STOP"))
    assert (error.code, error.extra["upstream_code"]) == ("UPSTREAM_UNAVAILABLE", "STOP")
    assert "without an image" in error.message
    assert "Here is a poem instead." in error.message
    assert refusal(answer([], "NO_IMAGE")).extra["upstream_code"] == "NO_IMAGE"
    only_drafts = answer([{"inlineData": {"mimeType": "image/png", "data": b64(png(2, 2))}, "thought": True}])
    assert refusal(only_drafts).code == "UPSTREAM_UNAVAILABLE"
    assert refusal({"candidates": []}).code == "UPSTREAM_UNAVAILABLE"
    assert refusal("not json").code == "UPSTREAM_UNAVAILABLE"
    assert (
        "could not be decoded"
        in refusal(answer([{"inlineData": {"mimeType": "image/png", "data": "bm90IGFuIGltYWdl"}}])).message
    )


def failure_of(status: int, body: Any) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return read_error(httpx.Response(status, content=raw), raw)


def test_a_bad_api_key_is_an_auth_failure_though_google_answers_400() -> None:
    body = {
        "error": {
            "code": 400,
            "message": "API key not valid. Please pass a valid API key.",
            "status": "INVALID_ARGUMENT",
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_INVALID",
                    "domain": "googleapis.com",
                }
            ],
        }
    }
    failure = failure_of(400, body)
    assert (failure.code, failure.auth) == ("API_KEY_INVALID", True)
    assert to_error("gemini", failure).code == "UPSTREAM_AUTH_FAILED"


def test_permission_denied_is_an_auth_failure() -> None:
    body = {
        "error": {"code": 403, "message": "Permission denied on resource project p.", "status": "PERMISSION_DENIED"}
    }
    failure = failure_of(403, body)
    assert (failure.code, failure.auth) == ("PERMISSION_DENIED", True)
    assert to_error("vertex", failure).code == "UPSTREAM_AUTH_FAILED"


def test_resource_exhausted_carries_its_retry_delay() -> None:
    body = {
        "error": {
            "code": 429,
            "message": "You exceeded your current quota.",
            "status": "RESOURCE_EXHAUSTED",
            "details": [
                {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{"quotaId": "q"}]},
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "41s"},
            ],
        }
    }
    failure = failure_of(429, body)
    assert (failure.code, failure.retry_after, failure.auth) == ("RESOURCE_EXHAUSTED", 41.0, False)
    assert to_error("gemini", failure).code == "UPSTREAM_RATE_LIMITED"


def test_invalid_argument_is_a_bad_request_naming_the_field() -> None:
    body = [
        {
            "error": {
                "code": 400,
                "message": "Unsupported aspect ratio",
                "status": "INVALID_ARGUMENT",
                "details": [
                    {
                        "@type": "type.googleapis.com/google.rpc.BadRequest",
                        "fieldViolations": [
                            {"field": "generation_config.image_config.aspect_ratio", "description": "x"}
                        ],
                    }
                ],
            }
        }
    ]
    error = to_error("gemini", failure_of(400, body))
    assert error.code == "UPSTREAM_BAD_REQUEST"
    assert (error.extra["upstream_code"], error.extra["param"]) == (
        "INVALID_ARGUMENT",
        "generation_config.image_config.aspect_ratio",
    )
    assert "Unsupported aspect ratio" in error.message


def test_a_body_that_is_not_googles_still_maps_by_status() -> None:
    assert to_error("gemini", failure_of(503, b"<html>Service Unavailable</html>")).code == "UPSTREAM_UNAVAILABLE"
    assert failure_of(500, {"error": "internal"}).code is None


def test_durations_are_read_in_seconds() -> None:
    assert duration_seconds("41s") == 41.0
    assert duration_seconds("0.250s") == 0.25
    assert duration_seconds("41") is None
    assert duration_seconds(41) is None


def test_vertex_hosts_and_routes_follow_the_location() -> None:
    assert vertex_base_url("global") == "https://aiplatform.googleapis.com/v1"
    assert vertex_base_url("us-central1") == "https://us-central1-aiplatform.googleapis.com/v1"
    assert vertex_base_url("europe-west4", "http://127.0.0.1:9/v1") == "http://127.0.0.1:9/v1"
    assert model_route("my-project", "global", "gemini-2.5-flash-image") == (
        "projects/my-project/locations/global/publishers/google/models/gemini-2.5-flash-image:generateContent"
    )


SERVICE_ACCOUNT = {
    "type": "service_account",
    "project_id": "p",
    "private_key_id": "k1",
    "private_key": "-----BEGIN PRIVATE KEY-----\nTOPSECRETMATERIAL\n-----END PRIVATE KEY-----\n",
    "client_email": "sa@p.iam.gserviceaccount.com",
    "token_uri": "https://oauth2.googleapis.com/token",
}


def test_a_service_account_is_read_from_json_or_from_a_file(tmp_path: Path) -> None:
    text = json.dumps(SERVICE_ACCOUNT)
    assert read_service_account(text, source="s") == SERVICE_ACCOUNT
    path = tmp_path / "sa.json"
    path.write_text(text)
    assert read_service_account(str(path), source="s") == SERVICE_ACCOUNT


def test_a_bad_service_account_is_invalid_input_that_never_quotes_it(tmp_path: Path) -> None:
    lacking = json.dumps({**SERVICE_ACCOUNT, "client_email": ""})
    with pytest.raises(PixelmillError) as missing:
        parse_service_account(lacking, source="key")
    assert missing.value.code == "INVALID_INPUT"
    assert "client_email" in missing.value.message
    for text in ("{not json TOPSECRETMATERIAL", json.dumps({**SERVICE_ACCOUNT, "type": "authorized_user"})):
        with pytest.raises(PixelmillError) as bad:
            parse_service_account(text, source="key")
        assert "TOPSECRETMATERIAL" not in str(bad.value) + repr(bad.value.extra)
    with pytest.raises(PixelmillError) as unreadable:
        read_service_account(str(tmp_path / "absent.json"), source="vertex_service_account_json")
    assert unreadable.value.extra["field"] == "vertex_service_account_json"
