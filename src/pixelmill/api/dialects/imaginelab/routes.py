"""ImagineLab's routes at ``/api/v1``: each one a translation onto the canonical services.

Auth calls the canonical auth handlers; generations are canonical generations (one run, one ledger,
the same events), shown under integer ids (:mod:`pixelmill.services.numeric_ids`). Errors leave as
``{"detail": "..."}`` with ImagineLab's statuses (400 where pixelmill says 409, 413, 415 or 422).
The routes stay out of the canonical OpenAPI document: ImagineLab's own document describes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from pixelmill import errors
from pixelmill.api.deps import ClientAddressDep, PrincipalDep, RuntimeDep
from pixelmill.api.dialects.common.errors import ErrorEnvelope
from pixelmill.api.dialects.common.ids import not_found_as, resolve
from pixelmill.api.dialects.imaginelab import schemas, translate
from pixelmill.api.dialects.invokeai import routes_auth as invokeai_auth
from pixelmill.api.routers import auth
from pixelmill.api.routers.runs import public_base_url
from pixelmill.config import CreditPackage
from pixelmill.db.models import Run
from pixelmill.errors import PixelmillError
from pixelmill.runtime import Runtime
from pixelmill.services.credits import CreditLedger
from pixelmill.services.generation_graphs import default_models
from pixelmill.services.generations import GenerationService, GenerationViews
from pixelmill.services.numeric_ids import NumericIds
from pixelmill.services.passwords import MAX_PASSWORD_LENGTH
from pixelmill.services.principal import Principal
from pixelmill.services.projects import ProjectService
from pixelmill.services.run_lifecycle import TERMINAL_STATUSES
from pixelmill.services.runs import wait_for_terminal

ENVELOPE = ErrorEnvelope(
    statuses={409: 400, 413: 400, 415: 400, 422: 400, 428: 400, 504: 502},
    plain_codes=frozenset({"INSUFFICIENT_CREDITS"}),
)
router = APIRouter(prefix="/api/v1", tags=["imaginelab"], route_class=ENVELOPE.route_class(), include_in_schema=False)
# How long DELETE of a processing generation waits for it to stop before it answers.
DELETE_STOP_WAIT_SECONDS = 10.0


# Auth -----------------------------------------------------------------------------------------


class LoginForm(BaseModel):
    username: str = Field(max_length=320)
    password: str = Field(max_length=MAX_PASSWORD_LENGTH)


@router.post("/auth/login", response_model=None)
async def login(request: Request, runtime: RuntimeDep, client: ClientAddressDep) -> schemas.Token | Response:
    """OAuth2 password flow: the canonical login, answered as ``{access_token, token_type}``.

    InvokeAI's clients log in on this same path with a JSON body; the content type tells the two
    apart, and a JSON login is answered in InvokeAI's shape (:func:`invokeai.routes_auth.login_json`).
    """
    if request.headers.get("content-type", "").split(";")[0].strip().lower() == "application/json":
        return await invokeai_auth.login_json(request, runtime, client)
    async with request.form(max_files=0, max_fields=8) as form:
        fields = {name: value for name, value in form.items() if isinstance(value, str)}
    try:
        credentials = LoginForm.model_validate(fields)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("form", *e["loc"])} for e in exc.errors()]) from None
    token = await auth.login(credentials.username, credentials.password, runtime, client)
    return schemas.Token(access_token=token.access_token)


@router.post("/auth/signup", status_code=201)
async def signup(body: schemas.SignupBody, runtime: RuntimeDep) -> schemas.SignedUp:
    created = await auth.signup(
        auth.SignupRequest(email=body.email, password=body.password, name=body.full_name), runtime
    )
    async with runtime.db.session() as session:
        number = await NumericIds(session, "user").number(created.user.id)
        wallet = await CreditLedger(session).wallet(created.workspace.id)
    return schemas.SignedUp(
        id=number,
        email=created.user.email,
        full_name=created.user.name,
        credits=wallet.available,
        access_token=created.access_token,
    )


@router.get("/auth/me")
async def me(principal: PrincipalDep, runtime: RuntimeDep) -> schemas.User:
    info = await auth.me(principal, runtime)
    async with runtime.db.session() as session:
        number = await NumericIds(session, "user").number(info.user.id) if info.user else None
        wallet = await CreditLedger(session).wallet(principal.workspace_id)
    return schemas.User(
        id=number,
        email=info.user.email if info.user else None,
        full_name=info.user.name if info.user else "",
        credits=wallet.available,
    )


@router.post("/auth/forgot-password")
async def forgot_password(
    body: schemas.ForgotPasswordBody, runtime: RuntimeDep, background: BackgroundTasks
) -> schemas.Message:
    answer = await auth.forgot_password(auth.ForgotPasswordRequest(email=body.email), runtime, background)
    return schemas.Message(message=answer.message)


# Generations ----------------------------------------------------------------------------------


@router.get("/generations/models")
async def list_models(principal: PrincipalDep, runtime: RuntimeDep) -> list[schemas.ModelEntry]:
    models = runtime.providers.models()
    defaults = default_models(models, test_mode=principal.mode == "test")
    return translate.model_entries(models, runtime.settings.imaginelab_models, defaults)


@router.post("/generations", status_code=201)
async def create_generation(
    body: schemas.GenerationCreate, request: Request, principal: PrincipalDep, runtime: RuntimeDep
) -> schemas.GenerationRecord:
    """Queue a generation; the record answers ``pending`` with its credit cost held."""
    catalogue = [m.id for m in runtime.providers.models()]
    async with runtime.db.session() as session:
        # The only 404 a create without a source image can meet: a project that is not the workspace's.
        with not_found_as("Project"):
            project = await resolve(session, "project", body.project_id, "Project") if body.project_id else None
            canonical = translate.canonical_request(body, runtime.settings.imaginelab_models, catalogue, project)
            dialect = {"name": "imaginelab", "model_name": body.model_name} if body.model_name else None
            run = await GenerationService(session, runtime).create(principal, canonical, dialect=dialect)
        await NumericIds(session, "run").number(run.id)
    # The answer is the generation as created (pending), even if a worker claimed it meanwhile.
    return (await _records(runtime, request, principal, [run]))[0]


@router.get("/generations")
async def list_generations(
    request: Request,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    skip: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    project_id: Annotated[int | None, Query(ge=1, lt=2**63)] = None,
) -> list[schemas.GenerationRecord]:
    """The history, newest first, ``skip`` and ``limit`` at a time; one project's with ``project_id``."""
    async with runtime.db.session() as session:
        with not_found_as("Project"):
            project = await resolve(session, "project", project_id, "Project") if project_id is not None else None
            page = await GenerationService(session, runtime).list(
                principal, project_id=project, offset=skip, limit=limit
            )
    return await _records(runtime, request, principal, page.runs)


@router.get("/generations/{generation_number}/status")
async def get_status(
    generation_number: str, request: Request, principal: PrincipalDep, runtime: RuntimeDep
) -> schemas.GenerationStatus:
    async with runtime.db.sessions() as session:
        number, run = await _generation(session, runtime, principal, generation_number)
        views = GenerationViews(session, runtime, public_base_url(request, runtime))
        return translate.status(await views.one(run), number)


@router.get("/generations/{generation_number}")
async def get_generation(
    generation_number: str, request: Request, principal: PrincipalDep, runtime: RuntimeDep
) -> schemas.GenerationRecord:
    """The generation with its outputs: media URLs (signed, on this server) or the text."""
    async with runtime.db.sessions() as session:
        _number, run = await _generation(session, runtime, principal, generation_number)
    return (await _records(runtime, request, principal, [run]))[0]


@router.delete("/generations/{generation_number}")
async def delete_generation(generation_number: str, principal: PrincipalDep, runtime: RuntimeDep) -> JSONResponse:
    """Delete a generation; a pending one is cancelled first (its credits released), a processing one
    is stopped and deleted once it stopped (400 when it takes longer than a few seconds)."""
    async with runtime.db.session() as session:
        _number, run = await _generation(session, runtime, principal, generation_number)
        if run.status not in TERMINAL_STATUSES:
            await GenerationService(session, runtime).cancel(principal, run.id)
    if run.status == "running":
        await wait_for_terminal(runtime, run.id, DELETE_STOP_WAIT_SECONDS)
    async with runtime.db.session() as session:
        try:
            with not_found_as("Generation"):
                await GenerationService(session, runtime).delete(principal, run.id)
        except PixelmillError as exc:
            if exc.spec is not errors.RUN_NOT_FINISHED:
                raise
            raise PixelmillError(
                errors.RUN_NOT_FINISHED, "The generation is still stopping; delete it again in a moment"
            ) from None
    return JSONResponse({"message": "Generation deleted"})


async def _generation(
    session: AsyncSession, runtime: Runtime, principal: Principal, generation_number: str
) -> tuple[int, Run]:
    """The run behind integer id ``generation_number``: 404 alike for unknown ids and other tenants'."""
    with not_found_as("Generation"):
        run_id = await resolve(session, "run", generation_number, "Generation")
        run = await GenerationService(session, runtime).get(principal, run_id)
    return int(generation_number), run


async def _records(
    runtime: Runtime, request: Request, principal: Principal, runs: Sequence[Run]
) -> list[schemas.GenerationRecord]:
    """ImagineLab records of ``runs``, giving each run, owner and project its integer id."""
    owners = {run.id: (run.run_metadata or {}).get("user_id") or principal.user_id for run in runs}
    async with runtime.db.session() as session:
        numbers = await NumericIds(session, "run").numbers(run.id for run in runs)
        users = await NumericIds(session, "user").numbers(o for o in owners.values() if isinstance(o, str))
        projects = await NumericIds(session, "project").numbers(r.project_id for r in runs if r.project_id)
        views = await GenerationViews(session, runtime, public_base_url(request, runtime)).many(runs)
    records = []
    for run, view in zip(runs, views, strict=True):
        dialect = (run.run_metadata or {}).get("dialect") or {}
        owner = owners[run.id]
        records.append(
            translate.record(
                view,
                number=numbers[run.id],
                user_number=users.get(owner) if isinstance(owner, str) else None,
                project_number=projects.get(run.project_id) if run.project_id else None,
                model_name=dialect.get("model_name") if isinstance(dialect, dict) else None,
            )
        )
    return records


# Credits --------------------------------------------------------------------------------------


@router.get("/credits/wallet")
async def get_wallet(principal: PrincipalDep, runtime: RuntimeDep) -> schemas.Wallet:
    async with runtime.db.sessions() as session:
        wallet = await CreditLedger(session).wallet(principal.workspace_id)
    return schemas.Wallet(balance=wallet.balance, reserved=wallet.reserved, available=wallet.available)


@router.get("/credits/packages")
async def list_packages(_principal: PrincipalDep, runtime: RuntimeDep) -> list[CreditPackage]:
    return runtime.settings.credit_packages


# Projects -------------------------------------------------------------------------------------


@router.get("/projects")
async def list_projects(
    principal: PrincipalDep,
    runtime: RuntimeDep,
    skip: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[schemas.Project]:
    async with runtime.db.session() as session:
        projects = await ProjectService(session).list(principal, offset=skip, limit=limit)
        numbers = await NumericIds(session, "project").numbers(p.id for p in projects)
    return [
        schemas.Project(id=numbers[p.id], name=p.name, created_at=translate.timestamp(p.created_at)) for p in projects
    ]


@router.post("/projects", status_code=201)
async def create_project(body: schemas.ProjectCreate, principal: PrincipalDep, runtime: RuntimeDep) -> schemas.Project:
    async with runtime.db.session() as session:
        project = await ProjectService(session).create(principal, body.name)
        number = await NumericIds(session, "project").number(project.id)
    return schemas.Project(id=number, name=project.name, created_at=translate.timestamp(project.created_at))
