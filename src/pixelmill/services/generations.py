"""Generations (the ImagineLab and imagerift shapes) as one-node runs of kind ``generation``.

A generation IS a run: the same id reads at ``GET /v1/runs/{id}``, and credits, queueing, cancel and
delete are the run's. This module resolves the source image, asks :mod:`generation_graphs` for the
graph, creates the run with the request kept as its metadata, and shows runs in the generation shape.

Statuses as ImagineLab names them: ``queued -> pending``, ``running -> processing``; ``completed``,
``failed`` and ``cancelled`` keep their names. ``progress`` is 0 while pending, 100 once completed,
and in between the share of the graph's nodes that finished (a node executing counts half).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, cast

from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from pixelmill import errors
from pixelmill.db.models import Run
from pixelmill.errors import PixelmillError
from pixelmill.json_bounds import scrub_json
from pixelmill.services.default_models import DefaultModelService, with_default
from pixelmill.services.files import FileService
from pixelmill.services.generation_graphs import GenerationPlan, GenerationRequest, plan_generation
from pixelmill.services.principal import Principal
from pixelmill.services.projects import PROJECT_PREFIX, ProjectService
from pixelmill.services.run_lifecycle import TERMINAL_STATUSES, RunStatus
from pixelmill.services.run_outputs import output_refs
from pixelmill.services.run_views import RunPublic, RunViews
from pixelmill.services.runs import RunPage, RunService

if TYPE_CHECKING:
    from pixelmill.providers.registry import ProviderRegistry
    from pixelmill.runtime import Runtime

GenerationStatusName = Literal["pending", "processing", "completed", "failed", "cancelled"]
STATUS_NAMES: dict[str, GenerationStatusName] = {
    "queued": "pending",
    "running": "processing",
    "completed": "completed",
    "failed": "failed",
    "cancelled": "cancelled",
}


@dataclass(frozen=True, slots=True)
class GenerationFilters:
    """What a history listing keeps: each given field must match; None matches everything."""

    generation_type: str | None = None
    model_name: str | None = None
    status: GenerationStatusName | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None


_DATA_URL = re.compile(r"^data:[\w/+.-]*(;[\w=.-]+)*;base64,", re.IGNORECASE)


class GenerationError(BaseModel):
    code: str
    message: str


class GenerationPublic(BaseModel):
    """A generation as clients see it; ``outputs`` holds media URLs (signed, on this server) or text."""

    id: str
    object: Literal["generation"] = "generation"
    generation_type: str
    model_name: str
    prompt: str
    mode: str | None
    settings: dict[str, Any]
    project_id: str | int | None
    source_file_id: str | None
    status: GenerationStatusName
    progress: int = Field(ge=0, le=100)
    credit_cost: int = Field(description="Credits held while unfinished; credits spent once finished")
    outputs: list[Any]
    output_type: str | None = Field(description="image, images, video, audio, text or json")
    error: GenerationError | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None


class GenerationStatus(BaseModel):
    id: str
    status: GenerationStatusName
    progress: int = Field(ge=0, le=100)


def progress_of(view: RunPublic) -> int:
    """0–100 from the run's node statuses (see the module docstring)."""
    if view.status == "completed":
        return 100
    if view.status == "queued" or not view.nodes:
        return 0
    done = sum(1 for node in view.nodes if node.status == "completed")
    active = sum(1 for node in view.nodes if node.status == "running")
    return max(0, min(99, round(100 * (done + 0.5 * active) / len(view.nodes))))


def _decode_base64(text: str, limit: int) -> bytes:
    payload = _DATA_URL.sub("", text.strip(), count=1)
    if len(payload) * 3 // 4 > limit:
        raise PixelmillError(
            errors.PAYLOAD_TOO_LARGE, f"image_base64 holds more than {limit} bytes", field="image_base64", limit=limit
        )
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise PixelmillError(
            errors.INVALID_IMAGE, "image_base64 is not valid base64 or a base64 data URL", field="image_base64"
        ) from None


def _remap(exc: PixelmillError, plan: GenerationPlan) -> PixelmillError:
    """Name the request field (``settings.duration``, ``prompt``) behind a node input the graph refused."""
    mapped = plan.request_field(exc.extra.get("node_id"), exc.extra.get("field"))
    if mapped is not None:
        exc.extra["field"] = mapped
    for problem in exc.extra.get("errors") or []:
        if isinstance(problem, dict):
            found = plan.request_field(problem.get("node_id"), problem.get("field"))
            if found is not None:
                problem["field"] = found
    return exc


class GenerationService:
    """Create, read, list, cancel and delete the generations of the caller's workspace."""

    def __init__(self, session: AsyncSession, runtime: Runtime) -> None:
        self.session = session
        self.runtime = runtime
        self.runs = RunService(session, runtime)

    async def create(
        self, principal: Principal, request: GenerationRequest, *, dialect: Mapping[str, Any] | None = None
    ) -> Run:
        """Queue the generation's run (credits held as for any run); 422 names the request field.
        ``dialect`` is what a foreign API needs to show the generation as it was asked for (kept in
        the metadata, e.g. the model name its client sent)."""
        principal.require_scope("runs")
        source_file_id = await self.source_file(principal, request)
        test_mode = principal.mode == "test"
        providers = await self.runtime.workspace_providers.registry(self.session, principal.workspace_id)
        request = self._unaliased(request, providers)
        models = providers.models()
        defaults = await DefaultModelService(self.session, self.runtime).get(principal.workspace_id)
        request = with_default(request, defaults, models, test_mode=test_mode)
        plan = plan_generation(
            request,
            models,
            self.runtime.nodes,
            source_file_id=source_file_id,
            test_mode=test_mode,
        )
        return await self.create_planned(principal, request, plan, source_file_id=source_file_id, dialect=dialect)

    async def create_planned(
        self,
        principal: Principal,
        request: GenerationRequest,
        plan: GenerationPlan,
        *,
        source_file_id: str | None,
        dialect: Mapping[str, Any] | None = None,
        run_id: str | None = None,
        charge_only_on_success: bool = False,
    ) -> Run:
        """Queue ``plan`` as the generation ``request`` asked for: for a dialect that builds its own
        graph (imagerift's modes) on a source resolved by :meth:`source_file`. ``run_id`` and
        ``charge_only_on_success`` pass to :meth:`RunService.create`."""
        project = await self._project(principal, request.project_id)
        metadata = {
            "user_id": principal.user_id,
            "generation_type": request.generation_type,
            "model_name": plan.model_name,
            "prompt": request.prompt,
            "mode": plan.mode,
            "settings": request.settings,
            "project_id": request.project_id,
            "source_file_id": source_file_id,
        }
        if dialect is not None:
            metadata["dialect"] = dict(dialect)
        try:
            return await self.runs.create(
                principal,
                plan.graph,
                kind="generation",
                metadata=metadata,
                project_id=project,
                run_id=run_id,
                charge_only_on_success=charge_only_on_success,
            )
        except PixelmillError as exc:
            raise _remap(exc, plan) from None

    def _unaliased(self, request: GenerationRequest, providers: ProviderRegistry) -> GenerationRequest:
        """The request naming the model an operator alias stands for, so the generation shows it."""
        if request.model_name is None:
            return request
        try:
            model = providers.canonical(request.model_name)
        except PixelmillError as exc:
            exc.extra["field"] = "model_name"
            raise
        return request if model == request.model_name else request.model_copy(update={"model_name": model})

    async def get(self, principal: Principal, generation_id: str) -> Run:
        """The generation's run; one 404 for unknown ids, deleted and other workspaces' runs, and runs
        that are not generations."""
        try:
            run = await self.runs.get(principal, generation_id)
        except PixelmillError as exc:
            if exc.spec is not errors.NOT_FOUND:
                raise
            run = None
        if run is None or run.kind != "generation":
            raise PixelmillError(errors.NOT_FOUND, f"Generation {generation_id} not found", generation_id=generation_id)
        return run

    async def list(
        self,
        principal: Principal,
        *,
        project_id: str | None = None,
        filters: GenerationFilters | None = None,
        cursor: str | None = None,
        offset: int = 0,
        limit: int = 20,
    ) -> RunPage:
        """Generations newest first (the history), or those filed under one project of the workspace,
        narrowed by ``filters``."""
        if project_id is not None:
            await ProjectService(self.session).get(principal, project_id)
        filters = filters or GenerationFilters()
        metadata = {"generation_type": filters.generation_type, "model_name": filters.model_name}
        return await self.runs.list(
            principal,
            kind="generation",
            project_id=project_id,
            statuses=[cast("RunStatus", run) for run, name in STATUS_NAMES.items() if name == filters.status],
            created_after=filters.created_after,
            created_before=filters.created_before,
            metadata={key: value for key, value in metadata.items() if value is not None},
            cursor=cursor,
            offset=offset,
            limit=limit,
        )

    async def cancel(self, principal: Principal, generation_id: str) -> Run:
        await self.get(principal, generation_id)
        return await self.runs.cancel(principal, generation_id)

    async def delete(self, principal: Principal, generation_id: str) -> None:
        await self.get(principal, generation_id)
        await self.runs.delete(principal, generation_id)

    async def _project(self, principal: Principal, project_id: str | int | None) -> str | None:
        """The project a ``prj_`` id names (404 unless it is the workspace's); other values are free tags."""
        if not (isinstance(project_id, str) and project_id.startswith(PROJECT_PREFIX)):
            return None
        try:
            return (await ProjectService(self.session).get(principal, project_id)).id
        except PixelmillError as exc:
            exc.extra.setdefault("field", "project_id")
            raise

    async def source_file(self, principal: Principal, request: GenerationRequest) -> str | None:
        """The source image as a file of the workspace: an upload made now (in the caller's
        transaction, so a refused create leaves no file row), a file, or an earlier output."""
        files = FileService(self.session, self.runtime.blobs, self.runtime.settings)
        if request.image_base64:
            data = _decode_base64(request.image_base64, self.runtime.settings.max_upload_bytes)
            try:
                row = await files.create(principal.workspace_id, data)
            except PixelmillError as exc:
                exc.extra.setdefault("field", "image_base64")
                raise
            return self._image_file(row.id, row.mime, "image_base64")
        if request.file_id:
            try:
                row = await files.get(principal.workspace_id, request.file_id)
            except PixelmillError as exc:
                exc.extra.setdefault("field", "file_id")
                raise
            return self._image_file(row.id, row.mime, "file_id")
        if request.source_generation_id:
            return await self._generated_image(principal, request.source_generation_id)
        return None

    @staticmethod
    def _image_file(file_id: str, mime: str, field: str) -> str:
        if not mime.startswith("image/"):
            raise PixelmillError(
                errors.UNSUPPORTED_IMAGE_FORMAT, f"The source is {mime}, not an image", field=field, mime=mime
            )
        return file_id

    async def _generated_image(self, principal: Principal, generation_id: str) -> str:
        try:
            source = await self.get(principal, generation_id)
        except PixelmillError as exc:
            exc.extra.setdefault("field", "source_generation_id")
            raise
        if source.status != "completed":
            raise PixelmillError(
                errors.CONFLICT,
                f"Generation {generation_id} is {STATUS_NAMES.get(source.status, source.status)}; "
                "only a completed generation can be a source",
                field="source_generation_id",
                status=STATUS_NAMES.get(source.status, source.status),
            )
        for output in (source.outputs or {}).values():
            for ref in output_refs(output):
                file_id = ref.get("file_id")
                if ref.get("kind") == "image" and isinstance(file_id, str):
                    return file_id
        raise PixelmillError(
            errors.VALIDATION_ERROR, f"Generation {generation_id} made no image", field="source_generation_id"
        )


class GenerationViews:
    """Generations in their public shape, built on the run views (fresh signed URLs on every read)."""

    def __init__(self, session: AsyncSession, runtime: Runtime, base_url: str) -> None:
        self.runs = RunViews(session, runtime, base_url)

    async def one(self, run: Run) -> GenerationPublic:
        return (await self.many([run]))[0]

    async def many(self, runs: Sequence[Run]) -> list[GenerationPublic]:
        views = await self.runs.many(runs)
        return [self._public(run, view) for run, view in zip(runs, views, strict=True)]

    async def status(self, run: Run) -> GenerationStatus:
        view = (await self.runs.many([run]))[0]
        return GenerationStatus(id=run.id, status=STATUS_NAMES[view.status], progress=progress_of(view))

    @staticmethod
    def _public(run: Run, view: RunPublic) -> GenerationPublic:
        meta = scrub_json(run.run_metadata or {})
        outputs: list[Any] = []
        output_type = None
        for output in view.outputs.values():
            output_type = output_type or output.type
            if isinstance(output.value, list):
                outputs.extend(output.value)
            elif output.value is not None:
                outputs.append(output.value)
        error = GenerationError(code=view.error.code, message=view.error.message) if view.error else None
        return GenerationPublic(
            id=run.id,
            generation_type=str(meta.get("generation_type", "")),
            model_name=str(meta.get("model_name", "")),
            prompt=str(meta.get("prompt", "")),
            mode=meta.get("mode"),
            settings=dict(meta.get("settings") or {}),
            project_id=meta.get("project_id"),
            source_file_id=meta.get("source_file_id"),
            status=STATUS_NAMES[view.status],
            progress=progress_of(view),
            credit_cost=view.credits_used if view.status in TERMINAL_STATUSES else view.credits_reserved,
            outputs=outputs,
            output_type=output_type,
            error=error,
            created_at=view.created_at,
            started_at=view.started_at,
            completed_at=view.completed_at,
        )
