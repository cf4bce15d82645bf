"""imagerift's routes: ``POST /api/v1/generate``, ``GET /api/v1/jobs/{jobId}`` and
``POST /api/v1/jobs/{jobId}/cancel``, each a translation onto the canonical generations.

A job is one generation run (``GET /v1/runs/{id}`` and ``/v1/generations`` show it) whose credits are
held when it is queued and captured only if it succeeds (``charge_only_on_success``). Only plans with
``api_access`` may call these routes (403 otherwise), whatever the credential. Errors leave as
``{"error": {"code", "message", …}, "requestId"}`` with the catalogue's statuses. The routes stay out
of the canonical OpenAPI document: imagerift's own document describes them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from pixelmill import errors
from pixelmill.api.deps import PrincipalDep, RuntimeDep
from pixelmill.api.dialects.common.errors import ErrorEnvelope
from pixelmill.api.dialects.common.ids import not_found_as
from pixelmill.api.dialects.imagerift import schemas, translate
from pixelmill.api.ratelimit import RATE_LIMIT_STATE_KEY
from pixelmill.api.routers.runs import public_base_url
from pixelmill.db.models import Run, Workspace
from pixelmill.errors import PixelmillError
from pixelmill.ids import new_uuid_id
from pixelmill.runtime import Runtime
from pixelmill.services.credits import CreditLedger
from pixelmill.services.generations import GenerationService, progress_of
from pixelmill.services.principal import Principal
from pixelmill.services.ratelimit import RateLimitState
from pixelmill.services.run_views import RunViews


def _error_body(exc: PixelmillError, message: str) -> dict[str, Any]:
    return schemas.error_body(exc.code, message, exc.extra)


ENVELOPE = ErrorEnvelope(body=_error_body, request_id_field="requestId")
router = APIRouter(prefix="/api/v1", tags=["imagerift"], route_class=ENVELOPE.route_class(), include_in_schema=False)
PREFIXES = ("/api/v1/generate", "/api/v1/jobs/")
DIALECT = "imagerift"


async def api_principal(principal: PrincipalDep, runtime: RuntimeDep) -> Principal:
    """The caller, if their plan includes API access (imagerift: pro and business, not free or starter)."""
    translate.check_api_access(principal.plan, runtime.settings.plan(principal.plan))
    return principal


ApiPrincipalDep = Annotated[Principal, Depends(api_principal)]


@router.post("/generate", status_code=202)
async def generate(
    body: schemas.GenerateBody, request: Request, principal: ApiPrincipalDep, runtime: RuntimeDep
) -> schemas.Queued:
    """Queue a job; its credits are reserved now and charged only if it succeeds."""
    translate.check_export_size(body.exportSize, principal.plan, runtime.settings.plan(principal.plan))
    async with runtime.db.session() as session:
        service = GenerationService(session, runtime)
        source_generation = await _source_generation(session, runtime, principal, body.sourceGenerationId)
        canonical = translate.canonical_request(body, source_generation)
        try:
            source_file_id = await service.source_file(principal, canonical)
        except PixelmillError as exc:
            raise translate.wire_error(exc) from None
        if source_file_id is None:  # canonical_request refused a request without a source
            raise PixelmillError(errors.INTERNAL_ERROR)
        providers = await runtime.workspace_providers.registry(session, principal.workspace_id)
        available = [m.id for m in providers.models() if "image-to-image" in m.capabilities]
        model = translate.mode_model(
            body.mode, runtime.settings.imagerift_mode_models, available, test_mode=principal.mode == "test"
        )
        plan = translate.plan_job(body, source_file_id, model)
        run = await service.create_planned(
            principal,
            canonical,
            plan,
            source_file_id=source_file_id,
            dialect={"name": DIALECT},
            run_id=new_uuid_id("run"),
            charge_only_on_success=True,
        )
        wallet = await CreditLedger(session).wallet(principal.workspace_id)
        workspace = await session.get(Workspace, principal.workspace_id)
    job_id = translate.job_id(run.id)
    limit = request.scope.get("state", {}).get(RATE_LIMIT_STATE_KEY)
    return schemas.Queued(
        jobId=job_id,
        statusUrl=f"{router.prefix}/jobs/{job_id}",
        requestId=str(request.scope.get("state", {}).get("request_id", "")),
        quota=schemas.Quota(
            source="sandbox" if run.test_mode else "plan",
            scope="team" if workspace is not None and workspace.kind == "team" else "user",
            remaining=wallet.balance,
            remainingAfterQueue=wallet.available,
        ),
        rateLimit=schemas.RateLimit(remainingThisMinute=limit.remaining if isinstance(limit, RateLimitState) else 0),
    )


@router.get("/jobs/{job_id}")
async def get_job(job_id: str, request: Request, principal: ApiPrincipalDep, runtime: RuntimeDep) -> schemas.Job:
    """The job; once succeeded, with signed download links that expire (read again for fresh ones)."""
    async with runtime.db.sessions() as session:
        run = await _job_run(session, runtime, principal, job_id)
        return await _job(session, runtime, request, run)


@router.post("/jobs/{job_id}/cancel")
async def cancel_job(job_id: str, request: Request, principal: ApiPrincipalDep, runtime: RuntimeDep) -> schemas.Job:
    """Cancel a queued job at once, or ask a running one to stop (it reads ``canceled`` once it has);
    its reserved credits are all released. 409 once the job has finished."""
    async with runtime.db.session() as session:
        run = await _job_run(session, runtime, principal, job_id)
        try:
            await GenerationService(session, runtime).cancel(principal, run.id)
        except PixelmillError as exc:
            if exc.spec is not errors.RUN_NOT_CANCELLABLE:
                raise
            status = translate.STATUS_NAMES.get(run.status, run.status)
            raise PixelmillError(
                errors.RUN_NOT_CANCELLABLE, f"Job {job_id} has already {status}", status=status
            ) from None
    async with runtime.db.sessions() as session:
        run = await _job_run(session, runtime, principal, job_id)
        return await _job(session, runtime, request, run)


async def _job_run(session: AsyncSession, runtime: Runtime, principal: Principal, raw: str) -> Run:
    """The run behind jobId ``raw``: one 404 for what is not a UUID, unknown, another workspace's, or
    a generation not made through imagerift."""
    run_id = translate.run_id_of(raw)
    if run_id is None:
        raise PixelmillError(errors.NOT_FOUND, "Job not found")
    with not_found_as("Job"):
        run = await GenerationService(session, runtime).get(principal, run_id)
    if ((run.run_metadata or {}).get("dialect") or {}).get("name") != DIALECT:
        raise PixelmillError(errors.NOT_FOUND, "Job not found")
    return run


async def _source_generation(
    session: AsyncSession, runtime: Runtime, principal: Principal, raw: str | None
) -> str | None:
    """The generation a ``sourceGenerationId`` names: an earlier job's jobId, or a pixelmill run id."""
    if raw is None:
        return None
    run_id = translate.run_id_of(raw) or raw
    try:
        source = await GenerationService(session, runtime).get(principal, run_id)
    except PixelmillError as exc:
        if exc.spec is not errors.NOT_FOUND:
            raise
        raise PixelmillError(
            errors.NOT_FOUND, "sourceGenerationId names no job of yours", field="sourceGenerationId"
        ) from None
    if source.status != "completed":
        status = translate.STATUS_NAMES.get(source.status, source.status)
        raise PixelmillError(
            errors.CONFLICT,
            f"sourceGenerationId names a job that is {status}; only a succeeded job can be a source",
            field="sourceGenerationId",
            status=status,
        )
    return run_id


async def _job(session: AsyncSession, runtime: Runtime, request: Request, run: Run) -> schemas.Job:
    view = await RunViews(session, runtime, public_base_url(request, runtime)).one(run)
    # The links RunViews signed just now expire this long from now (a presigned store's alike).
    expires = datetime.now(UTC) + timedelta(seconds=runtime.settings.signed_url_ttl_seconds)
    order = [str(node.get("id")) for node in run.graph.get("nodes", [])]
    return translate.job(view, graph_order=order, progress=progress_of(view), link_expires_at=expires)
