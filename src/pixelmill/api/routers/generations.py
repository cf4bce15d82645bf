"""Generations: image, video, voice, music, infographic and text jobs in the ImagineLab shape.

``POST /v1/generations`` answers 201 with the generation (``status: "pending"``, ``outputs: []``);
poll ``GET /v1/generations/{id}/status`` and read ``GET /v1/generations/{id}``. With
``Prefer: wait=N`` (1–60 s) the create answers once the generation finished or N seconds passed.
Each generation is a run too (``GET /v1/runs/{id}``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from pixelmill import errors
from pixelmill.api.deps import PrincipalDep, RuntimeDep
from pixelmill.api.openapi import error_responses
from pixelmill.api.routers.models import ModelPublic, model_public
from pixelmill.api.routers.runs import PreferHeader, as_utc, public_base_url, wait_preference
from pixelmill.db.models import Run
from pixelmill.services.default_models import DefaultModelService, with_default
from pixelmill.services.generation_graphs import (
    CPU_MODE_NODES,
    GENERATION_TYPES,
    GenerationRequest,
    GenerationType,
    default_models,
)
from pixelmill.services.generations import (
    GenerationFilters,
    GenerationPublic,
    GenerationService,
    GenerationStatus,
    GenerationStatusName,
    GenerationViews,
)
from pixelmill.services.runs import wait_for_terminal
from pixelmill.wire import IsoDateTime

router = APIRouter(prefix="/v1/generations", tags=["generations"])
_SCOPED = error_responses(errors.INSUFFICIENT_SCOPE)


class GenerationList(BaseModel):
    object: Literal["list"] = "list"
    data: list[GenerationPublic]
    next_cursor: str | None


class GenerationModels(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelPublic]
    defaults: dict[str, str | None]
    image_modes: list[str]


class Ok(BaseModel):
    ok: bool = True


@router.post(
    "",
    operation_id="create_generation",
    status_code=201,
    responses=error_responses(
        errors.INSUFFICIENT_CREDITS,
        errors.INSUFFICIENT_SCOPE,
        errors.SANDBOX_ONLY,
        errors.NOT_FOUND,
        errors.CONFLICT,
        errors.TOO_MANY_JOBS,
        errors.INVALID_IMAGE,
        errors.IMAGE_TOO_LARGE,
        errors.UNSUPPORTED_IMAGE_FORMAT,
        errors.SERVICE_UNAVAILABLE,
    ),
)
async def create_generation(
    body: GenerationRequest,
    request: Request,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    prefer: PreferHeader = None,
) -> JSONResponse:
    """Queue a generation; its cost is held from the workspace's credits (402 when short)."""
    async with runtime.db.session() as session:
        run = await GenerationService(session, runtime).create(principal, body)
    wait = wait_preference(prefer)
    headers = {"Location": f"/v1/generations/{run.id}"}
    if wait is not None:
        await wait_for_terminal(runtime, run.id, wait)
        headers["Preference-Applied"] = f"wait={wait}"
    async with runtime.db.sessions() as session:
        if wait is not None:
            current = await session.get(Run, run.id)
            assert current is not None  # only a finished run can be deleted, and nobody has seen its id yet
            run = current
        # Without a wait the answer is the generation as created (pending), even if a worker
        # claimed it in the meantime, as ImagineLab documents.
        view = await GenerationViews(session, runtime, public_base_url(request, runtime)).one(run)
    return JSONResponse(view.model_dump(mode="json"), status_code=201, headers=headers)


@router.get("", operation_id="list_generations", responses=error_responses(errors.INSUFFICIENT_SCOPE, errors.NOT_FOUND))
async def list_generations(
    request: Request,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=40, description="next_cursor of the previous page")] = None,
    project_id: Annotated[
        str | None, Query(min_length=1, max_length=40, description="Only this project's (prj_…)")
    ] = None,
    generation_type: Annotated[GenerationType | None, Query(description="Only generations of this type")] = None,
    model_name: Annotated[
        str | None, Query(min_length=1, max_length=200, description="Only those made with this model (its id)")
    ] = None,
    status: Annotated[GenerationStatusName | None, Query(description="Only generations in this status")] = None,
    created_after: Annotated[
        IsoDateTime | None, Query(description="Only those created at or after this time (ISO 8601)")
    ] = None,
    created_before: Annotated[IsoDateTime | None, Query(description="Only those created before this time")] = None,
) -> GenerationList:
    """The generation history, newest first, narrowed by the filters given (all must match); 404 for
    a project that is not the workspace's."""
    filters = GenerationFilters(
        generation_type=generation_type,
        model_name=model_name,
        status=status,
        created_after=as_utc(created_after),
        created_before=as_utc(created_before),
    )
    async with runtime.db.sessions() as session:
        service = GenerationService(session, runtime)
        page = await service.list(principal, project_id=project_id, filters=filters, cursor=cursor, limit=limit)
        views = await GenerationViews(session, runtime, public_base_url(request, runtime)).many(page.runs)
    return GenerationList(data=views, next_cursor=page.next_cursor)


@router.get("/models", operation_id="list_generation_models")
async def list_generation_models(principal: PrincipalDep, runtime: RuntimeDep) -> GenerationModels:
    """The models a generation may name, and the one each type uses when ``model_name`` is left out
    (the workspace's default where it set one that still serves)."""
    test_mode = principal.mode == "test"
    async with runtime.db.reads() as session:
        providers = await runtime.workspace_providers.registry(session, principal.workspace_id)
        chosen = await DefaultModelService(session, runtime).get(principal.workspace_id)
    models = providers.models()
    defaults = default_models(models, test_mode=test_mode)
    for generation_type in GENERATION_TYPES:
        preferred = with_default(
            GenerationRequest(generation_type=generation_type), chosen, models, test_mode=test_mode
        ).model_name
        defaults[generation_type] = preferred or defaults[generation_type]
    return GenerationModels(
        data=[model_public(m, runtime.providers) for m in models],
        defaults=defaults,
        image_modes=[*CPU_MODE_NODES, "edit"],
    )


@router.get("/{generation_id}", operation_id="get_generation", responses=_SCOPED)
async def get_generation(
    generation_id: str, request: Request, principal: PrincipalDep, runtime: RuntimeDep
) -> GenerationPublic:
    """The generation with its outputs: signed media URLs on this server, or the text."""
    async with runtime.db.sessions() as session:
        run = await GenerationService(session, runtime).get(principal, generation_id)
        return await GenerationViews(session, runtime, public_base_url(request, runtime)).one(run)


@router.get("/{generation_id}/status", operation_id="get_generation_status", responses=_SCOPED)
async def get_generation_status(
    generation_id: str, request: Request, principal: PrincipalDep, runtime: RuntimeDep
) -> GenerationStatus:
    """Status (pending, processing, completed, failed, cancelled) and progress 0–100."""
    async with runtime.db.sessions() as session:
        run = await GenerationService(session, runtime).get(principal, generation_id)
        return await GenerationViews(session, runtime, public_base_url(request, runtime)).status(run)


@router.post(
    "/{generation_id}/cancel",
    operation_id="cancel_generation",
    responses=error_responses(errors.INSUFFICIENT_SCOPE, errors.RUN_NOT_CANCELLABLE),
)
async def cancel_generation(
    generation_id: str, request: Request, principal: PrincipalDep, runtime: RuntimeDep
) -> GenerationPublic:
    """Cancel a pending generation at once, or stop a processing one (409 RUN_NOT_CANCELLABLE once finished)."""
    async with runtime.db.session() as session:
        await GenerationService(session, runtime).cancel(principal, generation_id)
    async with runtime.db.sessions() as session:
        run = await GenerationService(session, runtime).get(principal, generation_id)
        return await GenerationViews(session, runtime, public_base_url(request, runtime)).one(run)


@router.delete(
    "/{generation_id}",
    operation_id="delete_generation",
    responses=error_responses(errors.INSUFFICIENT_SCOPE, errors.RUN_NOT_FINISHED),
)
async def delete_generation(generation_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> Ok:
    """Delete a finished generation from the history (409 RUN_NOT_FINISHED while pending or processing)."""
    async with runtime.db.session() as session:
        await GenerationService(session, runtime).delete(principal, generation_id)
    return Ok()
