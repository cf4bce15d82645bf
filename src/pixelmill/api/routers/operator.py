"""The operator's routes: every workspace and account, plans, credit grants (``pixelmill admin`` over HTTP).

Only an operator's own session or key reaches these; anyone else gets 404 as if the routes did not
exist, so a member cannot learn that an operator surface is there to probe.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from pixelmill import errors
from pixelmill.api.deps import PrincipalDep, RuntimeDep
from pixelmill.api.openapi import error_responses
from pixelmill.errors import PixelmillError
from pixelmill.services.credits import CreditLedger
from pixelmill.services.operator import OperatorService
from pixelmill.services.paging import split_page
from pixelmill.services.principal import Principal
from pixelmill.services.workspaces import WorkspaceService
from pixelmill.wire import RequestModel

router = APIRouter(prefix="/v1/operator", tags=["operator"], responses=error_responses(errors.NOT_FOUND))


def _require_operator(principal: Principal) -> None:
    if not principal.is_operator:
        raise PixelmillError(errors.NOT_FOUND, "Not found")


class OperatorWorkspace(BaseModel):
    id: str
    name: str
    kind: str
    plan: str
    owner_email: str | None
    members: int
    balance: int
    reserved: int
    created_at: datetime


class OperatorWorkspacePage(BaseModel):
    data: list[OperatorWorkspace]
    next_cursor: str | None


class OperatorUser(BaseModel):
    id: str
    email: str
    name: str
    is_operator: bool
    personal_workspace_id: str | None
    created_at: datetime


class OperatorUserPage(BaseModel):
    data: list[OperatorUser]
    next_cursor: str | None


class PlanPublic(BaseModel):
    name: str
    api_access: bool
    monthly_credits: int
    requests_per_minute: int
    concurrent_runs: int


class PlanList(BaseModel):
    data: list[PlanPublic]


class PlanChange(RequestModel):
    plan: str = Field(min_length=1, max_length=40)


class CreditGrant(RequestModel):
    amount: int = Field(ge=1, le=1_000_000_000, description="Credits to add")
    note: str = Field(default="operator grant", max_length=200, description="Kept in the ledger entry")


Cursor = Annotated[str | None, Query(max_length=40, description="next_cursor of the previous page")]
Limit = Annotated[int, Query(ge=1, le=200)]


@router.get("/workspaces", operation_id="operator_list_workspaces")
async def list_workspaces(
    principal: PrincipalDep, runtime: RuntimeDep, cursor: Cursor = None, limit: Limit = 50
) -> OperatorWorkspacePage:
    """Every workspace with its plan, first owner, member count and wallet."""
    _require_operator(principal)
    async with runtime.db.session() as session:
        items = await OperatorService(session).workspaces(limit=limit + 1, after=cursor)
    page, next_cursor = split_page(items, limit)
    return OperatorWorkspacePage(
        data=[OperatorWorkspace.model_validate(item, from_attributes=True) for item in page], next_cursor=next_cursor
    )


@router.get("/users", operation_id="operator_list_users")
async def list_users(
    principal: PrincipalDep, runtime: RuntimeDep, cursor: Cursor = None, limit: Limit = 50
) -> OperatorUserPage:
    """Every account and its personal workspace."""
    _require_operator(principal)
    async with runtime.db.session() as session:
        items = await OperatorService(session).users(limit=limit + 1, after=cursor)
    page, next_cursor = split_page(items, limit)
    return OperatorUserPage(
        data=[OperatorUser.model_validate(u, from_attributes=True) for u in page], next_cursor=next_cursor
    )


@router.get("/plans", operation_id="operator_list_plans")
async def list_plans(principal: PrincipalDep, runtime: RuntimeDep) -> PlanList:
    """The configured plans a workspace can be moved to."""
    _require_operator(principal)
    return PlanList(
        data=[
            PlanPublic(
                name=name,
                api_access=plan.api_access,
                monthly_credits=plan.monthly_credits,
                requests_per_minute=plan.requests_per_minute,
                concurrent_runs=plan.concurrent_runs,
            )
            for name, plan in runtime.settings.plans.items()
        ]
    )


@router.put(
    "/workspaces/{workspace_id}/plan",
    operation_id="operator_set_plan",
    responses=error_responses(errors.VALIDATION_ERROR),
)
async def set_plan(
    workspace_id: str, body: PlanChange, principal: PrincipalDep, runtime: RuntimeDep
) -> OperatorWorkspace:
    """Move a workspace to another plan; its cached credentials see the new plan at once."""
    _require_operator(principal)
    async with runtime.db.session() as session:
        await WorkspaceService(session, runtime.auth_cache).set_plan(workspace_id, body.plan, runtime.settings.plans)
    return await _summary(runtime, workspace_id)


@router.post(
    "/workspaces/{workspace_id}/credits",
    operation_id="operator_grant_credits",
    responses=error_responses(errors.VALIDATION_ERROR),
)
async def grant_credits(
    workspace_id: str, body: CreditGrant, principal: PrincipalDep, runtime: RuntimeDep
) -> OperatorWorkspace:
    """Add credits to a workspace's wallet, as a grant entry in its ledger."""
    _require_operator(principal)
    async with runtime.db.session() as session:
        await WorkspaceService(session).get(workspace_id)  # 404 for an unknown workspace, before any write
        await CreditLedger(session).grant(workspace_id, body.amount, body.note)
    return await _summary(runtime, workspace_id)


async def _summary(runtime: RuntimeDep, workspace_id: str) -> OperatorWorkspace:
    async with runtime.db.session() as session:
        return OperatorWorkspace.model_validate(
            await OperatorService(session).workspace(workspace_id), from_attributes=True
        )
