"""ImagineLab <-> canonical generations, and the dialects' shared error envelope and id parsing, without HTTP."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from pixelmill import errors
from pixelmill.api.dialects.common.errors import ErrorEnvelope
from pixelmill.api.dialects.common.ids import parse_number
from pixelmill.api.dialects.imaginelab import translate
from pixelmill.api.dialects.imaginelab.routes import ENVELOPE
from pixelmill.api.dialects.imaginelab.schemas import GenerationCreate
from pixelmill.errors import PixelmillError
from pixelmill.providers.base import ModelInfo
from pixelmill.services.generations import GenerationError, GenerationPublic

ALIASES = {"seedream-5.0-lite": "image", "flux-dev": "openai/gpt-image-1", "gone": "replicate/nothing"}
CATALOGUE = ["local/procedural", "local/espeak", "openai/gpt-image-1"]


def view(**changes: Any) -> GenerationPublic:
    base: dict[str, Any] = {
        "id": "run_01",
        "generation_type": "image",
        "model_name": "local/procedural",
        "prompt": "A neon city",
        "mode": None,
        "settings": {"aspect_ratio": "16:9"},
        "project_id": None,
        "source_file_id": None,
        "status": "pending",
        "progress": 0,
        "credit_cost": 5,
        "outputs": [],
        "output_type": None,
        "error": None,
        "created_at": datetime(2026, 6, 7, 12, 0, 0, 123456, tzinfo=UTC),
        "started_at": None,
        "completed_at": None,
    }
    return GenerationPublic(**{**base, **changes})


def test_a_record_is_the_documented_one_with_integer_ids() -> None:
    record = translate.record(view(), number=1842, user_number=17, project_number=None, model_name="seedream-5.0-lite")
    assert json.loads(record.model_dump_json()) == {
        "id": 1842,
        "user_id": 17,
        "generation_type": "image",
        "model_name": "seedream-5.0-lite",
        "prompt": "A neon city",
        "status": "pending",
        "credit_cost": 5,
        "created_at": "2026-06-07T12:00:00Z",
        "outputs": [],
        "project_id": None,
        "settings": {"aspect_ratio": "16:9"},
        "error": None,
    }


def test_without_the_name_the_client_sent_the_record_names_the_model_that_ran() -> None:
    assert translate.record(view(), number=1, user_number=None, project_number=3).model_name == "local/procedural"


@pytest.mark.parametrize(
    ("canonical", "imaginelab"),
    [
        ("pending", "pending"),
        ("processing", "processing"),
        ("completed", "completed"),
        ("failed", "failed"),
        ("cancelled", "failed"),  # ImagineLab has no cancelled: the documented poll loop must end
    ],
)
def test_statuses(canonical: str, imaginelab: str) -> None:
    assert translate.status(view(status=canonical, progress=40), 9).model_dump() == {
        "id": 9,
        "status": imaginelab,
        "progress": 40,
    }


def test_a_failed_generation_says_why_and_lists_text_outputs_as_they_are() -> None:
    failed = view(status="failed", error=GenerationError(code="UPSTREAM_UNAVAILABLE", message="The upstream failed"))
    assert translate.record(failed, number=1, user_number=1, project_number=None).error == "The upstream failed"
    text = view(generation_type="text", status="completed", outputs=["Once upon a time."])
    assert translate.record(text, number=1, user_number=1, project_number=None).outputs == ["Once upon a time."]


def test_timestamps_are_utc_to_the_second_with_z() -> None:
    east = timezone(timedelta(hours=2))
    assert translate.timestamp(datetime(2026, 6, 7, 14, 0, 5, 999999, tzinfo=east)) == "2026-06-07T12:00:05Z"


def test_model_names() -> None:
    assert translate.model_target(None, ALIASES, CATALOGUE) is None
    assert translate.model_target("local/espeak", ALIASES, CATALOGUE) == "local/espeak"
    assert translate.model_target("seedream-5.0-lite", ALIASES, CATALOGUE) is None  # the type's default
    assert translate.model_target("flux-dev", ALIASES, CATALOGUE) == "openai/gpt-image-1"
    with pytest.raises(PixelmillError) as refused:
        translate.model_target("dall-e-9", ALIASES, CATALOGUE)
    assert refused.value.spec is errors.VALIDATION_ERROR
    assert refused.value.extra["field"] == "model_name"
    assert "seedream-5.0-lite" in refused.value.message


def test_a_create_becomes_the_canonical_request() -> None:
    body = GenerationCreate.model_validate(
        {
            "generation_type": "image",
            "model_name": "seedream-5.0-lite",
            "prompt": "A neon city",
            "settings": {"aspect_ratio": "16:9"},
            "project_id": 4,
            "unknown": "ignored",
        }
    )
    request = translate.canonical_request(body, ALIASES, CATALOGUE, "prj_1")
    assert request.model_dump(exclude_none=True) == {
        "generation_type": "image",
        "prompt": "A neon city",
        "settings": {"aspect_ratio": "16:9"},
        "project_id": "prj_1",
    }


def model(model_id: str, generation_type: str, cost: int) -> ModelInfo:
    return ModelInfo(
        id=model_id,
        provider=model_id.split("/")[0],
        generation_type=generation_type,  # type: ignore[arg-type]
        capabilities=("text-to-image",),
        cost=cost,
        description=model_id,
    )


def test_the_model_list_puts_imaginelab_names_first_and_drops_those_not_installed() -> None:
    models = [model("local/procedural", "image", 5), model("openai/gpt-image-1", "image", 20)]
    entries = translate.model_entries(models, ALIASES, {"image": "local/procedural"})
    assert [(e.name, e.runs, e.credit_cost, e.default) for e in entries] == [
        ("seedream-5.0-lite", "local/procedural", 5, False),
        ("flux-dev", "openai/gpt-image-1", 20, False),
        ("local/procedural", "local/procedural", 5, True),
        ("openai/gpt-image-1", "openai/gpt-image-1", 20, False),
    ]


@pytest.mark.parametrize(
    ("spec", "status"),
    [
        (errors.VALIDATION_ERROR, 400),
        (errors.INVALID_IMAGE, 400),
        (errors.EMAIL_TAKEN, 400),
        (errors.PAYLOAD_TOO_LARGE, 400),
        (errors.UNAUTHENTICATED, 401),
        (errors.INSUFFICIENT_CREDITS, 402),
        (errors.NOT_FOUND, 404),
        (errors.RATE_LIMITED, 429),
        (errors.INTERNAL_ERROR, 500),
        (errors.UPSTREAM_UNAVAILABLE, 502),
        (errors.UPSTREAM_TIMEOUT, 502),
    ],
)
def test_imaginelab_statuses(spec: errors.ErrorSpec, status: int) -> None:
    assert ENVELOPE.status(PixelmillError(spec)) == status


def test_the_envelope_is_detail_only_and_keeps_headers() -> None:
    exc = PixelmillError(errors.RATE_LIMITED, "Slow down", headers={"Retry-After": "7"}, retry_after=7)
    response = ENVELOPE.response(exc)
    assert json.loads(bytes(response.body)) == {"detail": "Slow down"}
    assert response.headers["retry-after"] == "7"
    short = PixelmillError(errors.INSUFFICIENT_CREDITS, "Insufficient credits: 3 available", balance=3, required=5)
    assert json.loads(bytes(ENVELOPE.response(short).body)) == {"detail": "Insufficient credits"}


def test_an_envelope_with_its_own_body_and_code_overrides() -> None:
    envelope = ErrorEnvelope(
        statuses={422: 400},
        codes={"INVALID_IMAGE": 415},
        body=lambda exc, message: {"error": {"code": exc.code.lower(), "message": message}},
    )
    assert envelope.status(PixelmillError(errors.INVALID_IMAGE)) == 415
    assert envelope.status(PixelmillError(errors.MISSING_INPUT)) == 400
    response = envelope.response(PixelmillError(errors.NOT_FOUND, "Job not found"))
    assert json.loads(bytes(response.body)) == {"error": {"code": "not_found", "message": "Job not found"}}


@pytest.mark.parametrize(
    ("raw", "number"),
    [
        ("12", 12),
        (12, 12),
        ("0", None),
        (0, None),
        (-3, None),
        ("-1", None),
        ("+1", None),
        ("1e3", None),
        ("abc", None),
        ("١٢", None),
        ("9" * 20, None),
    ],
)
def test_integer_ids_in_paths(raw: str | int, number: int | None) -> None:
    assert parse_number(raw) == number
