"""The Replicate and fal adapters' pure parts: model ids, input mapping, output parsing and error
reading, without HTTP."""

from __future__ import annotations

import base64
import io
import json

import httpx
import pytest
from PIL import Image

from pixelmill import errors
from pixelmill.config import Settings
from pixelmill.errors import PixelmillError
from pixelmill.providers import fal, replicate
from pixelmill.providers.hosted import (
    decode_data_uri,
    decode_image,
    media_type,
    model_info,
    nearest_aspect_ratio,
    output_urls,
    png_data_uri,
)
from pixelmill.providers.upstream.failures import to_error

VERSION = "5599ed30703defd1d160a25a63321b4dec97101d98b4674bcc56e41f62f35637"


def answer(status: int, body: object) -> tuple[httpx.Response, bytes]:
    raw = json.dumps(body).encode()
    return httpx.Response(status, content=raw), raw


@pytest.mark.parametrize(
    ("size", "ratio"),
    [
        ((1024, 1024), "1:1"),
        ((1344, 768), "16:9"),
        ((768, 1344), "9:16"),
        ((1536, 1024), "3:2"),
        ((1024, 768), "4:3"),
        ((2560, 1080), "21:9"),
        ((1000, 1250), "4:5"),
        ((2048, 1024), "16:9"),  # 2:1 is not offered; 16:9 is nearer in log scale than 21:9
    ],
)
def test_the_nearest_common_aspect_ratio_is_chosen(size: tuple[int, int], ratio: str) -> None:
    assert nearest_aspect_ratio(*size) == ratio


def test_replicate_ids_parse_into_official_and_versioned_routes() -> None:
    official = replicate.parse_model("replicate/black-forest-labs/flux-schnell")
    assert (official.path, official.label, official.spec.image_field) == (
        "models/black-forest-labs/flux-schnell/predictions",
        "black-forest-labs/flux-schnell",
        None,
    )
    versioned = replicate.parse_model(f"replicate/stability-ai/sdxl:{VERSION}")
    assert (versioned.path, versioned.version) == ("predictions", VERSION)
    assert versioned.spec.capabilities == ("text-to-image", "image-to-image")
    assert replicate.prediction_body(versioned, {"prompt": "p"}) == {"version": VERSION, "input": {"prompt": "p"}}
    assert replicate.prediction_body(official, {"prompt": "p"}) == {"input": {"prompt": "p"}}


@pytest.mark.parametrize(
    "model_id",
    [
        "replicate/flux-schnell",
        "replicate/a/b/c",
        "replicate/../b",
        "replicate/a/b:",
        "replicate/a/b:not-hex!",
        "fal/a/b",
        "replicate/a b/c",
    ],
)
def test_malformed_replicate_ids_are_invalid_input_and_not_resolved(model_id: str) -> None:
    with pytest.raises(PixelmillError) as raised:
        replicate.parse_model(model_id)
    assert raised.value.code == errors.INVALID_INPUT.code
    assert raised.value.extra["field"] == "model"


def test_replicate_input_maps_the_shared_inputs_then_merges_options() -> None:
    model = replicate.parse_model("replicate/black-forest-labs/flux-dev")
    values = replicate.prediction_input(
        model, "a fox", width=1216, height=832, seed=3, n=2, image="data:x", options={"seed": 9, "steps": 28}
    )
    assert values == {
        "prompt": "a fox",
        "seed": 9,
        "aspect_ratio": "3:2",
        "num_outputs": 2,
        "image": "data:x",
        "steps": 28,
    }
    pro = replicate.parse_model("replicate/black-forest-labs/flux-1.1-pro")
    assert replicate.prediction_input(pro, "p", width=8, height=8, seed=0, n=1, image="data:y") == {
        "prompt": "p",
        "seed": 0,
        "aspect_ratio": "1:1",
        "image_prompt": "data:y",
    }


def test_an_input_image_for_a_model_that_takes_none_is_refused() -> None:
    schnell = replicate.parse_model("replicate/black-forest-labs/flux-schnell")
    with pytest.raises(PixelmillError) as raised:
        replicate.prediction_input(schnell, "p", width=8, height=8, seed=0, image="data:z")
    assert raised.value.extra["field"] == "reference_images"


def test_listed_and_resolved_entries_carry_capabilities_cost_and_limits() -> None:
    schnell = model_info("replicate", replicate.LISTED["black-forest-labs/flux-schnell"])
    assert schnell.capabilities == ("text-to-image",)
    assert (schnell.cost, schnell.sandbox) == (5, False)
    assert schnell.limits["max_images"] == 4
    assert schnell.limits["max_reference_images"] == 0
    assert schnell.limits["options"] is True
    video = model_info("replicate", replicate.LISTED["minimax/video-01"])
    assert (video.generation_type, video.capabilities, video.cost) == ("video", ("video",), 3)


def test_resolve_model_answers_well_formed_ids_of_its_own_provider_only() -> None:
    rep = replicate.ReplicateProvider.from_settings(Settings(replicate_api_token="r8_x"))
    info = rep.resolve_model(f"replicate/acme/tuned:{VERSION}")
    assert info is not None
    assert info.id == f"replicate/acme/tuned:{VERSION}"
    assert info.capabilities == ("text-to-image", "image-to-image")
    assert info.generation_type == "image"
    assert rep.resolve_model("replicate/nope") is None
    assert rep.resolve_model("fal/fal-ai/flux/dev") is None
    falp = fal.FalProvider.from_settings(Settings(fal_key="k"))
    resolved = falp.resolve_model("fal/fal-ai/flux-pro/v1.1-ultra")
    assert resolved is not None
    assert resolved.id == "fal/fal-ai/flux-pro/v1.1-ultra"
    assert falp.resolve_model("fal/fal-ai") is None
    assert falp.resolve_model("replicate/a/b") is None


def test_replicate_reads_rfc_7807_bodies_naming_the_input_field() -> None:
    failure = replicate.read_error(
        *answer(422, {"title": "Input validation failed", "detail": "- input.width: Must be <= 1440", "status": 422})
    )
    assert (failure.status, failure.code, failure.param) == (422, "Input validation failed", "width")
    assert failure.message == "- input.width: Must be <= 1440"
    error = to_error("replicate", failure)
    assert error.code == errors.UPSTREAM_BAD_REQUEST.code
    unauthenticated = replicate.read_error(
        *answer(401, {"title": "Unauthenticated", "detail": "Invalid token.", "status": 401})
    )
    assert to_error("replicate", unauthenticated).code == errors.UPSTREAM_AUTH_FAILED.code
    not_json = replicate.read_error(httpx.Response(502, content=b"<html>bad gateway</html>"), b"<html>")
    assert (not_json.code, not_json.message) == (None, "")


@pytest.mark.parametrize(
    ("error", "code"),
    [
        ("NSFW content detected. Try running it again, or try a different prompt.", "SAFETY_REFUSAL"),
        ("Your input was flagged as sensitive content (E005)", "SAFETY_REFUSAL"),
        ("CUDA out of memory", "UPSTREAM_UNAVAILABLE"),
        ("Invalid image: expected RGB", "UPSTREAM_BAD_REQUEST"),
        (None, "UPSTREAM_UNAVAILABLE"),
    ],
)
def test_a_failed_predictions_error_picks_its_code(error: str | None, code: str) -> None:
    mapped = replicate.failed_prediction({"id": "p1", "status": "failed", "error": error}, "r8_secret")
    assert mapped.code == code
    assert mapped.extra["provider"] == "replicate"


def test_a_failed_predictions_error_has_the_token_cut_out() -> None:
    mapped = replicate.failed_prediction(
        {"id": "p1", "error": "bad header Bearer r8_secretTOKEN123"}, "r8_secretTOKEN123"
    )
    assert "r8_secretTOKEN123" not in mapped.message


def test_replicate_usage_keeps_model_version_id_and_predict_time() -> None:
    model = replicate.parse_model("replicate/acme/thing")
    prediction = {"id": "p9", "model": "acme/thing", "version": VERSION, "metrics": {"predict_time": 2.5}}
    assert replicate.usage_of(prediction, model) == {
        "provider": "replicate",
        "model": "acme/thing",
        "version": VERSION,
        "prediction_id": "p9",
        "predict_time": 2.5,
    }
    assert replicate.usage_of({"id": "p9"}, model) == {
        "provider": "replicate",
        "model": "acme/thing",
        "prediction_id": "p9",
    }


def test_output_urls_are_found_in_strings_lists_and_objects_in_order() -> None:
    assert output_urls("https://cdn/x.webp") == ["https://cdn/x.webp"]
    assert output_urls(["https://cdn/a.png", "https://cdn/b.png"]) == ["https://cdn/a.png", "https://cdn/b.png"]
    assert output_urls({"images": [{"url": "https://cdn/c.jpg", "content_type": "image/jpeg"}]}) == [
        "https://cdn/c.jpg"
    ]
    assert output_urls("a caption, not a file") == []
    assert output_urls(None) == []
    assert output_urls(["data:image/png;base64,AAAA"]) == ["data:image/png;base64,AAAA"]


def test_data_uris_decode_and_media_types_come_from_the_answer_or_the_url() -> None:
    picture = Image.new("RGB", (3, 2), (10, 20, 30))
    data, kind = decode_data_uri(png_data_uri(picture), "replicate")
    assert kind == "image/png"
    assert decode_image(data, "replicate").size == (3, 2)
    with pytest.raises(PixelmillError):
        decode_data_uri("data:image/png;base64,@@@", "replicate")
    with pytest.raises(PixelmillError):
        decode_data_uri("data:text/plain,hello", "fal")
    assert media_type("video/mp4; codecs=avc1", "https://x/y") == "video/mp4"
    assert media_type("application/octet-stream", "https://cdn/out.mp4?sig=1") == "video/mp4"
    assert media_type(None, "https://cdn/out.webp") == "image/webp"
    assert media_type(None, "https://cdn/blob") == "application/octet-stream"


def test_an_undecodable_image_is_upstream_unavailable() -> None:
    with pytest.raises(PixelmillError) as raised:
        decode_image(b"not an image", "fal")
    assert raised.value.code == errors.UPSTREAM_UNAVAILABLE.code


def test_fal_ids_parse_with_subpaths() -> None:
    assert fal.parse_model("fal/fal-ai/flux/schnell").spec.image_field is None
    assert fal.parse_model("fal/fal-ai/flux/dev/image-to-image").spec.image_field == "image_url"
    assert fal.parse_model("fal/owner/app").path == "owner/app"
    for bad in ("fal/app", "fal/owner/../app", "fal/owner/app/", "fal//app", "replicate/a/b"):
        with pytest.raises(PixelmillError):
            fal.parse_model(bad)


def test_fal_input_uses_image_size_for_images_and_aspect_ratio_for_video() -> None:
    image_model = fal.parse_model("fal/fal-ai/flux/dev/image-to-image")
    assert fal.request_input(
        image_model, "p", width=640, height=480, seed=1, n=3, image="data:a", options={"strength": 0.8}
    ) == {
        "prompt": "p",
        "seed": 1,
        "image_size": {"width": 640, "height": 480},
        "num_images": 3,
        "image_url": "data:a",
        "strength": 0.8,
    }
    video = fal.parse_model("fal/fal-ai/minimax/video-01")
    assert fal.request_input(video, "p", width=1280, height=720, seed=0) == {
        "prompt": "p",
        "seed": 0,
        "aspect_ratio": "16:9",
    }
    with pytest.raises(PixelmillError):
        fal.request_input(video, "p", width=8, height=8, seed=0, image="data:a")


def test_fal_reads_detail_strings_and_validation_lists() -> None:
    validation = fal.read_error(
        *answer(422, {"detail": [{"loc": ["body", "image_size", "width"], "msg": "too big", "type": "value_error"}]})
    )
    assert (validation.param, validation.code) == ("image_size.width", "value_error")
    assert validation.message == "image_size.width: too big"
    assert to_error("fal", validation).extra["param"] == "image_size.width"
    plain = fal.read_error(*answer(400, {"detail": "Unsupported image format"}))
    assert (plain.message, plain.param, plain.safety) == ("Unsupported image format", None, False)
    safety = fal.read_error(*answer(400, {"detail": "Prompt rejected by the content policy"}))
    assert to_error("fal", safety).code == errors.SAFETY_REFUSAL.code
    assert to_error("fal", fal.read_error(*answer(403, {"detail": "Forbidden"}))).code == "UPSTREAM_AUTH_FAILED"


def test_fal_flags_an_answer_with_nsfw_concepts() -> None:
    assert fal.refused({"images": [], "has_nsfw_concepts": [False, False]}, None) is None
    refusal = fal.refused({"images": [], "has_nsfw_concepts": [False, True]}, None)
    assert refusal is not None
    assert refusal.code == errors.SAFETY_REFUSAL.code


def test_png_data_uri_round_trips() -> None:
    picture = Image.new("RGB", (5, 4), (7, 8, 9))
    prefix, _, data = png_data_uri(picture).partition(",")
    assert prefix == "data:image/png;base64"
    back = Image.open(io.BytesIO(base64.b64decode(data)))
    assert back.convert("RGB").getpixel((0, 0)) == (7, 8, 9)
