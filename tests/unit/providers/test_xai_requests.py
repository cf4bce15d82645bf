"""The xAI adapter's pure parts: size to aspect ratio and resolution, request bodies, answers and
error reading."""

from __future__ import annotations

import base64
import io
import json

import httpx
import pytest
from PIL import Image

from pixelmill.errors import PixelmillError
from pixelmill.providers.upstream.failures import to_error
from pixelmill.providers.xai import (
    MODELS,
    Usage,
    aspect_and_resolution,
    edit_body,
    generation_body,
    images_of,
    model_spec,
    read_error,
)

SPEC = MODELS["grok-imagine-image"]

# The size table xAI's image sizes are documented with: requested size -> aspect_ratio, resolution.
SIZE_TABLE = {
    (1024, 1024): ("1:1", "1k"),
    (1536, 1024): ("3:2", "1k"),
    (1024, 1536): ("2:3", "1k"),
    (1360, 1024): ("4:3", "1k"),
    (1024, 1360): ("3:4", "1k"),
    (1824, 1024): ("16:9", "1k"),
    (1024, 1824): ("9:16", "1k"),
    (2048, 2048): ("1:1", "2k"),
    (2048, 1152): ("16:9", "2k"),
    (1152, 2048): ("9:16", "2k"),
    (3840, 2160): ("16:9", "2k"),
    (2160, 3840): ("9:16", "2k"),
}


def png(width: int, height: int, colour: tuple[int, int, int] = (9, 8, 7)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def response(status: int, body: object) -> tuple[httpx.Response, bytes]:
    raw = json.dumps(body).encode()
    return httpx.Response(status, content=raw), raw


@pytest.mark.parametrize(("size", "expected"), list(SIZE_TABLE.items()))
def test_every_size_of_the_table_maps_to_its_aspect_ratio_and_resolution(
    size: tuple[int, int], expected: tuple[str, str]
) -> None:
    assert aspect_and_resolution(*size) == expected


def test_custom_sizes_get_the_nearest_aspect_ratio_and_the_nearer_resolution() -> None:
    assert aspect_and_resolution(512, 512) == ("1:1", "1k")
    assert aspect_and_resolution(1000, 2000) == ("1:2", "1k")
    assert aspect_and_resolution(2400, 1000) == ("20:9", "2k")
    assert aspect_and_resolution(1920, 1080) == ("16:9", "1k")
    assert aspect_and_resolution(1100, 1000) == ("1:1", "1k")
    assert aspect_and_resolution(640, 1280)[0] == "1:2"
    assert aspect_and_resolution(900, 1950) == ("9:19.5", "1k")


def test_a_generation_body_asks_for_base64_with_an_aspect_ratio_and_never_a_size() -> None:
    assert generation_body(SPEC, "a fox", 1536, 1024, 2) == {
        "model": "grok-imagine-image",
        "prompt": "a fox",
        "n": 2,
        "response_format": "b64_json",
        "aspect_ratio": "3:2",
        "resolution": "1k",
    }


def test_one_edit_image_is_image_as_a_data_uri_several_are_images() -> None:
    one = edit_body(SPEC, "p", [png(4, 4)], 1, size=(2048, 2048), keep_ratio=True)
    assert set(one) == {"model", "prompt", "n", "response_format", "image", "resolution"}
    assert one["resolution"] == "2k"
    url = one["image"]["url"]
    assert url.startswith("data:image/png;base64,")
    assert Image.open(io.BytesIO(base64.b64decode(url.partition(",")[2]))).getpixel((0, 0)) == (9, 8, 7)
    several = edit_body(SPEC, "p", [png(4, 4), png(4, 4)], 1, size=(1824, 1024), keep_ratio=False, mask=png(4, 4))
    assert "image" not in several
    assert "size" not in several
    assert len(several["images"]) == 2
    assert several["mask"]["url"].startswith("data:image/png;base64,")
    assert (several["aspect_ratio"], several["resolution"]) == ("16:9", "1k")


def test_more_input_images_than_xai_takes_are_invalid_input() -> None:
    with pytest.raises(PixelmillError) as raised:
        edit_body(SPEC, "p", [png(2, 2)] * 4, 1, size=(1024, 1024), keep_ratio=False)
    assert raised.value.code == "INVALID_INPUT"


def test_an_unknown_model_is_invalid_input() -> None:
    assert model_spec("xai/grok-imagine-image-quality").name == "grok-imagine-image-quality"
    for model_id in ("xai/grok-2-video", "openai/grok-imagine-image"):
        with pytest.raises(PixelmillError) as raised:
            model_spec(model_id)
        assert raised.value.code == "INVALID_INPUT"


def test_a_data_uri_prefix_on_b64_json_is_cut_off_and_usage_is_kept() -> None:
    raw = base64.b64encode(png(3, 2)).decode()
    usage = Usage(model="grok-imagine-image")
    payload = {
        "data": [{"b64_json": "data:image/png;base64," + raw, "revised_prompt": "better"}, {"b64_json": raw}],
        "usage": {"cost_in_usd_ticks": 123},
    }
    pictures = images_of(payload, usage)
    assert [picture.size for picture in pictures] == [(3, 2), (3, 2)]
    assert usage.public() == {
        "provider": "xai",
        "model": "grok-imagine-image",
        "cost_in_usd_ticks": 123,
        "revised_prompt": "better",
    }


def test_a_moderated_item_or_a_blocked_request_is_a_safety_refusal() -> None:
    for payload, code in (
        ({"data": [{"b64_json": None, "respect_moderation": False}]}, "respect_moderation"),
        ({"data": [], "block_reason": "csam_prompt"}, "csam_prompt"),
    ):
        with pytest.raises(PixelmillError) as raised:
            images_of(payload, Usage(model="m"))
        assert (raised.value.code, raised.value.extra["upstream_code"]) == ("SAFETY_REFUSAL", code)


def test_an_answer_without_images_is_upstream_unavailable() -> None:
    payloads: list[object] = [{"data": []}, {"data": [{"url": "https://imgen.example/x.png"}]}, None]
    for payload in payloads:
        with pytest.raises(PixelmillError) as raised:
            images_of(payload, Usage(model="m"))
        assert raised.value.code == "UPSTREAM_UNAVAILABLE"


def test_xais_bad_key_answer_is_auth_failed_and_does_not_carry_the_key() -> None:
    key = "xai-0123456789abcdefghijKEYTAIL"
    body = {"code": "Client specified an invalid argument", "error": "Incorrect API key provided: xa***IL."}
    error = to_error("xai", read_error(*response(400, body)), secret=key)
    assert error.code == "UPSTREAM_AUTH_FAILED"
    assert error.extra["upstream_status"] == 400
    assert "Incorrect" not in error.message
    assert "xa***IL" not in error.message


def test_xais_native_error_body_is_read_and_moderation_is_a_safety_refusal() -> None:
    bad = read_error(*response(400, {"code": "Client specified an invalid argument", "error": "n must be <= 10"}))
    assert (bad.code, bad.message, bad.safety, bad.auth) == (
        "Client specified an invalid argument",
        "n must be <= 10",
        False,
        False,
    )
    assert to_error("xai", bad).code == "UPSTREAM_BAD_REQUEST"
    moderated = {"code": "invalid argument", "error": "Generated image rejected by content moderation"}
    assert to_error("xai", read_error(*response(400, moderated))).code == "SAFETY_REFUSAL"


def test_the_openai_shaped_error_body_is_read_too() -> None:
    body = {"error": {"message": "Too many requests", "type": "rate_limit", "param": "model", "code": 429}}
    failure = read_error(*response(429, body))
    assert (failure.code, failure.param, failure.message) == ("429", "model", "Too many requests")
    assert to_error("xai", failure).code == "UPSTREAM_RATE_LIMITED"
    unreadable = read_error(httpx.Response(502, content=b"<html>bad gateway</html>"), b"<html>bad gateway</html>")
    assert to_error("xai", unreadable).code == "UPSTREAM_UNAVAILABLE"
