"""imagerift <-> pixelmill generations without HTTP: job graphs (validated against the real nodes),
plan rules, job ids as UUIDs, the job view and the error envelope."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

import pixelmill.nodes  # noqa: F401 - registers the built-in node types
from pixelmill import errors
from pixelmill.api.dialects.imagerift import translate
from pixelmill.api.dialects.imagerift.routes import ENVELOPE, PREFIXES
from pixelmill.api.dialects.imagerift.schemas import GenerateBody, Mode
from pixelmill.api.errors import under_prefix
from pixelmill.config import Settings, default_plans
from pixelmill.engine.node import default_registry
from pixelmill.engine.validation import validate_graph
from pixelmill.errors import PixelmillError
from pixelmill.ids import as_uuid, from_uuid, new_id, new_uuid_id
from pixelmill.services.run_views import RunErrorPublic, RunOutputPublic, RunPublic

PLANS = default_plans()


def body(**fields: Any) -> GenerateBody:
    return GenerateBody.model_validate({"mode": "style", "imageBase64": "aGk=", **fields})


def nodes(plan_graph: dict[str, Any]) -> list[tuple[str, str, bool]]:
    return [(n["id"], n["type"], n["is_intermediate"]) for n in plan_graph["nodes"]]


def inputs(plan_graph: dict[str, Any], node_id: str) -> dict[str, Any]:
    return dict(next(n["inputs"] for n in plan_graph["nodes"] if n["id"] == node_id))


def test_a_style_job_is_style_then_the_export_size_on_the_cpu() -> None:
    plan = translate.plan_job(body(prompt="an oil painting of it"), "file_1", "local/cv")
    validate_graph(plan.graph, default_registry, Settings())
    assert nodes(plan.graph) == [("image", "image.style", True), ("export", "image.resize", False)]
    assert inputs(plan.graph, "image") == {"image": {"file_id": "file_1"}, "style": "oil_paint"}
    assert inputs(plan.graph, "export") == {"width": 1024, "height": 1024, "mode": "fit"}
    assert (plan.model_name, plan.mode, plan.main_node) == ("local/cv", "style", "export")
    assert plan.request_field("image", "image") == "imageBase64"
    assert plan.request_field("export", "width") == "exportSize"


def test_an_aspect_adds_a_reframe_and_the_export_class_sets_the_long_side() -> None:
    request = body(outputAspect="9:16", exportSize="2k", imageBase64=None, imageKey="f")
    plan = translate.plan_job(request, "f", "local/cv")
    validate_graph(plan.graph, default_registry, Settings())
    assert [n[1] for n in nodes(plan.graph)] == ["image.style", "image.reframe", "image.resize"]
    assert inputs(plan.graph, "aspect") == {"aspect_ratio": "9:16", "mode": "crop"}
    assert inputs(plan.graph, "export")["width"] == 2048
    assert [(e["source"]["node_id"], e["destination"]["node_id"]) for e in plan.graph["edges"]] == [
        ("image", "aspect"),
        ("aspect", "export"),
    ]
    assert plan.request_field("image", "image") == "imageKey"
    assert plan.request_field("aspect", "aspect_ratio") == "outputAspect"


def test_variations_are_five_branches_of_different_styles() -> None:
    plan = translate.plan_job(body(mode="variations", style="noir", outputAspect="1:1"), "f", "local/cv")
    validate_graph(plan.graph, default_registry, Settings())
    finals = [n[0] for n in nodes(plan.graph) if not n[2]]
    assert finals == ["export1", "export2", "export3", "export4", "export5"]
    styles = [inputs(plan.graph, f"image{i}")["style"] for i in range(1, 6)]
    assert styles == ["noir", "soft_3d", "watercolor", "vintage", "cartoon"]
    assert [inputs(plan.graph, f"image{i}")["seed"] for i in range(1, 6)] == [0, 1, 2, 3, 4]
    assert len(plan.graph["edges"]) == 10


def test_avatars_default_to_anime_and_take_only_avatar_looks() -> None:
    assert inputs(translate.plan_job(body(mode="avatar"), "f", "local/cv").graph, "image")["style"] == "anime"
    for spelled in ("oil-paint", "Soft 3D", "soft_3d"):
        assert translate.style_of(body(mode="avatar", style=spelled)) in ("oil_paint", "soft_3d")
    assert translate.style_of(body(mode="avatar", prompt="a watercolor portrait")) == "anime"
    with pytest.raises(PixelmillError) as caught:
        translate.style_of(body(mode="avatar", style="noir"))
    assert (caught.value.code, caught.value.extra["field"]) == ("VALIDATION_ERROR", "style")
    assert "anime, soft_3d, oil_paint" in caught.value.message


def test_enhance_sharpens_then_reframes() -> None:
    plan = translate.plan_job(body(mode="enhance", outputAspect="16:9"), "f", "local/cv")
    validate_graph(plan.graph, default_registry, Settings())
    assert [n[1] for n in nodes(plan.graph)] == ["image.enhance", "image.reframe", "image.resize"]
    assert inputs(plan.graph, "image")["sharpen"] > 0


def test_a_configured_upstream_model_runs_the_mode_through_image_edit() -> None:
    plan = translate.plan_job(body(mode="avatar", style="soft_3d", prompt="smiling"), "f", "openai/gpt-image-1")
    assert nodes(plan.graph)[0] == ("image", "image.edit", True)
    edit = inputs(plan.graph, "image")
    assert edit["model"] == "openai/gpt-image-1"
    assert edit["prompt"].startswith("Turn this selfie into a soft 3D cartoon avatar portrait")
    assert edit["prompt"].endswith("smiling")
    variations = translate.plan_job(body(mode="variations"), "f", "openai/gpt-image-1")
    assert [inputs(variations.graph, f"image{i}")["seed"] for i in range(1, 6)] == [0, 1, 2, 3, 4]


def test_the_mode_model_falls_back_to_the_cpu() -> None:
    configured: dict[Mode, str] = {"style": "openai/gpt-image-1"}
    available = ["local/cv", "openai/gpt-image-1"]
    assert translate.mode_model("style", configured, available, test_mode=False) == "openai/gpt-image-1"
    assert translate.mode_model("style", configured, available, test_mode=True) == "local/cv"
    assert translate.mode_model("avatar", configured, available, test_mode=False) == "local/cv"
    assert translate.mode_model("style", configured, ["local/cv"], test_mode=False) == "local/cv"


@pytest.mark.parametrize(
    ("plan", "size", "allowed"),
    [
        ("pro", "2k", True),
        ("pro", "4k", False),
        ("business", "4k", True),
        ("free", "base", True),
        ("starter", "2k", False),
        ("operator", "4k", True),
    ],
)
def test_export_sizes_are_gated_by_the_plan(plan: str, size: str, allowed: bool) -> None:
    if allowed:
        translate.check_export_size(size, plan, PLANS[plan])
        return
    with pytest.raises(PixelmillError) as caught:
        translate.check_export_size(size, plan, PLANS[plan])
    assert (caught.value.code, caught.value.status, caught.value.extra["field"]) == ("PLAN_FORBIDS", 403, "exportSize")


def test_only_plans_with_api_access_use_the_api() -> None:
    for plan in ("pro", "business", "operator"):
        translate.check_api_access(plan, PLANS[plan])
    for plan in ("free", "starter"):
        with pytest.raises(PixelmillError) as caught:
            translate.check_api_access(plan, PLANS[plan])
        assert caught.value.code == "PLAN_FORBIDS"


def test_a_request_needs_exactly_one_source() -> None:
    with pytest.raises(PixelmillError) as missing:
        translate.canonical_request(body(imageBase64=None), None)
    assert missing.value.extra["field"] == "imageBase64"
    with pytest.raises(PixelmillError) as both:
        translate.canonical_request(body(sourceGenerationId="x"), "run_x")
    assert both.value.extra["field"] == "sourceGenerationId"
    request = translate.canonical_request(body(imageBase64=None, sourceGenerationId="j", outputAspect="4:5"), "run_1")
    assert (request.generation_type, request.source_generation_id, request.image_base64) == ("image", "run_1", None)
    assert request.settings == {"exportSize": "base", "outputAspect": "4:5"}


@pytest.mark.parametrize(
    "fields",
    [{"mode": "cubism"}, {"exportSize": "8k"}, {"outputAspect": "7:3"}, {"prompt": 5}],
)
def test_the_wire_schema_refuses_what_it_does_not_document(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        body(**fields)


def test_job_ids_are_the_run_ids_as_uuids() -> None:
    run_id = new_uuid_id("run")
    job_id = translate.job_id(run_id)
    parsed = uuid.UUID(job_id)
    assert (parsed.version, parsed.variant) == (7, uuid.RFC_4122)
    assert translate.run_id_of(job_id) == run_id
    assert translate.run_id_of(job_id.upper()) == run_id
    assert translate.run_id_of("not-a-uuid") is None
    # Any run id (a canonical one too) has its UUID; the first 48 bits are the creation time either way.
    older = new_id("run")
    assert from_uuid("run", as_uuid(older)) == older
    assert abs((as_uuid(older).int >> 80) - (parsed.int >> 80)) < 60_000
    with pytest.raises(ValueError, match="not a prefixed ULID"):
        as_uuid("run_short")


def view(status: str, **changes: Any) -> RunPublic:
    base: dict[str, Any] = {
        "run_id": new_uuid_id("run"),
        "kind": "generation",
        "status": status,
        "mode": "live",
        "workflow_id": None,
        "workflow_version": None,
        "outputs": {},
        "nodes": [],
        "credits_reserved": 15,
        "credits_used": 0,
        "error": None,
        "queue_position": None,
        "priority": 5,
        "attempt": 1,
        "metadata": {
            "mode": "variations",
            "model_name": "local/cv",
            "settings": {"exportSize": "2k", "outputAspect": "1:1"},
        },
        "created_at": datetime(2026, 6, 7, 12, 0, 0, 500, tzinfo=UTC),
        "started_at": None,
        "completed_at": None,
    }
    return RunPublic(**{**base, **changes})


def test_a_succeeded_job_lists_its_links_in_graph_order() -> None:
    outputs = {
        f"export{i}": RunOutputPublic(type="image", value=f"http://h/v1/outputs/x/export{i}.png?sig={i}")
        for i in (2, 1)
    }
    done = view("completed", outputs=outputs, credits_used=15, completed_at=datetime(2026, 6, 7, 12, 1, tzinfo=UTC))
    expires = datetime(2026, 6, 7, 13, 1, tzinfo=UTC)
    order = ["image1", "export1", "image2", "export2"]
    job = translate.job(done, graph_order=order, progress=100, link_expires_at=expires)
    assert job.status == "succeeded"
    assert job.downloadUrls == ["http://h/v1/outputs/x/export1.png?sig=1", "http://h/v1/outputs/x/export2.png?sig=2"]
    assert job.downloadUrl == job.downloadUrls[0]
    assert (job.downloadExpiresAt, job.createdAt, job.completedAt) == (
        "2026-06-07T13:01:00Z",
        "2026-06-07T12:00:00Z",
        "2026-06-07T12:01:00Z",
    )
    assert (job.mode, job.exportSize, job.outputAspect, job.credits) == ("variations", "2k", "1:1", 15)
    assert uuid.UUID(job.jobId) == as_uuid(done.run_id)


@pytest.mark.parametrize(
    ("status", "named", "credits"),
    [("queued", "queued", 15), ("running", "running", 15), ("failed", "failed", 0), ("cancelled", "canceled", 0)],
)
def test_an_unfinished_or_failed_job_has_no_links(status: str, named: str, credits: int) -> None:
    error = RunErrorPublic(code="IMAGE_TOO_LARGE", message="too big") if status == "failed" else None
    job = translate.job(view(status, error=error), graph_order=[], progress=0, link_expires_at=None)
    assert (job.status, job.downloadUrl, job.downloadUrls, job.downloadExpiresAt, job.credits) == (
        named,
        None,
        [],
        None,
        credits,
    )
    assert (job.error is not None) == (status == "failed")


def test_errors_name_imagerifts_fields() -> None:
    exc = translate.wire_error(
        PixelmillError(errors.INVALID_IMAGE, "image_base64 is not valid base64", field="image_base64")
    )
    assert (exc.message, exc.extra["field"]) == ("imageBase64 is not valid base64", "imageBase64")
    assert translate.wire_error(PixelmillError(errors.NOT_FOUND, field="file_id")).extra["field"] == "imageKey"


def test_the_error_envelope_carries_code_message_extras_and_the_request_id() -> None:
    exc = PixelmillError(errors.PLAN_FORBIDS, "exportSize 4k is not included", field="exportSize")
    response = ENVELOPE.response(exc, {"type": "http", "state": {"request_id": "req_abc"}})
    assert response.status_code == 403
    assert json.loads(bytes(response.body)) == {
        "error": {"code": "PLAN_FORBIDS", "message": "exportSize 4k is not included", "field": "exportSize"},
        "requestId": "req_abc",
    }


def test_the_prefixes_claim_imagerifts_paths_and_not_imaginelabs() -> None:
    generate, jobs = PREFIXES
    assert under_prefix("/api/v1/generate", generate)
    assert under_prefix("/api/v1/jobs/abc/cancel", jobs)
    assert not under_prefix("/api/v1/generations", generate)
    assert not under_prefix("/api/v1/generations/12/status", generate)
    assert re.fullmatch(r"/api/v1/\w+", generate)
    assert jobs.endswith("/")
