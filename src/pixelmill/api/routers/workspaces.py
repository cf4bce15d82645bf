"""Team workspaces, their members and invitations.

A credential acts in one workspace, so member and invitation routes name that workspace in the path
and answer 404 for any other (switch with ``POST /v1/auth/token``). Owners and admins manage
members; only owners touch the owner role; anyone may remove themselves; the last owner stays.
Invitations are mailed (or logged for the operator when no SMTP server is configured) and never
returned in a response.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, cast

from fastapi import APIRouter, BackgroundTasks, Response, status
from pydantic import BaseModel, EmailStr, Field

from pixelmill import errors
from pixelmill.api.account_schemas import WorkspacePublic
from pixelmill.api.deps import PrincipalDep, RuntimeDep
from pixelmill.api.openapi import error_responses
from pixelmill.errors import PixelmillError
from pixelmill.services.mail import Mailer, invitation_mail
from pixelmill.services.principal import Principal, Role
from pixelmill.services.workspaces import MemberView, WorkspaceService, WorkspaceView
from pixelmill.wire import RequestModel

router = APIRouter(tags=["workspaces"])


class WorkspaceCreate(RequestModel):
    name: str = Field(min_length=1, max_length=200)


class WorkspaceList(BaseModel):
    data: list[WorkspacePublic]


class MemberPublic(BaseModel):
    user_id: str
    email: str
    name: str
    role: Role
    joined_at: datetime

    @classmethod
    def of(cls, view: MemberView) -> MemberPublic:
        return cls(user_id=view.user_id, email=view.email, name=view.name, role=view.role, joined_at=view.joined_at)


class MemberList(BaseModel):
    data: list[MemberPublic]


class MemberUpdate(RequestModel):
    role: Role


class InvitationCreate(RequestModel):
    email: EmailStr
    role: Role = "member"


class InvitationPublic(BaseModel):
    id: str
    workspace_id: str
    email: str
    role: Role
    expires_at: datetime
    delivery: Literal["smtp", "log"] = Field(
        description="How the invitation travels: by mail, or in the server log for the operator to pass on"
    )


class InvitationAccept(RequestModel):
    token: str = Field(min_length=1, max_length=200)


def _in_scope(principal: Principal, workspace_id: str) -> None:
    if workspace_id != principal.workspace_id:
        raise PixelmillError(
            errors.NOT_FOUND,
            "Workspace not found; this credential acts in another workspace (switch with POST /v1/auth/token)",
            workspace_id=workspace_id,
        )


_MANAGE = error_responses(errors.INSUFFICIENT_SCOPE, errors.INSUFFICIENT_ROLE, errors.FORBIDDEN, errors.CONFLICT)


@router.post(
    "/v1/workspaces",
    operation_id="create_workspace",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(errors.INSUFFICIENT_SCOPE, errors.FORBIDDEN),
)
async def create_workspace(body: WorkspaceCreate, principal: PrincipalDep, runtime: RuntimeDep) -> WorkspacePublic:
    """Create a team workspace with you as its owner, on the sign-up plan (the operator changes plans)."""
    principal.require_scope("workspace")
    user_id = principal.require_user()
    async with runtime.db.session() as session:
        ws = await WorkspaceService(session).create_team(user_id, body.name, plan=runtime.settings.signup_plan)
    return WorkspacePublic.of(WorkspaceView(ws.id, ws.name, ws.kind, ws.plan, "owner", ws.created_at))


@router.get("/v1/workspaces", operation_id="list_workspaces", responses=error_responses(errors.FORBIDDEN))
async def list_workspaces(principal: PrincipalDep, runtime: RuntimeDep) -> WorkspaceList:
    """Every workspace you belong to, with your role in each."""
    user_id = principal.require_user()
    async with runtime.db.session() as session:
        views = await WorkspaceService(session).list_for_user(user_id)
    return WorkspaceList(data=[WorkspacePublic.of(v) for v in views])


@router.get(
    "/v1/workspaces/{workspace_id}/members",
    operation_id="list_members",
    responses=error_responses(errors.INSUFFICIENT_SCOPE),
)
async def list_members(workspace_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> MemberList:
    """Members of the workspace and their roles."""
    _in_scope(principal, workspace_id)
    async with runtime.db.session() as session:
        members = await WorkspaceService(session).members(principal)
    return MemberList(data=[MemberPublic.of(m) for m in members])


@router.patch("/v1/workspaces/{workspace_id}/members/{user_id}", operation_id="update_member", responses=_MANAGE)
async def update_member(
    workspace_id: str, user_id: str, body: MemberUpdate, principal: PrincipalDep, runtime: RuntimeDep
) -> MemberPublic:
    """Change a member's role (owners and admins; only owners grant or take the owner role)."""
    _in_scope(principal, workspace_id)
    async with runtime.db.session() as session:
        member = await WorkspaceService(session, runtime.auth_cache).change_role(principal, user_id, body.role)
    return MemberPublic.of(member)


@router.delete(
    "/v1/workspaces/{workspace_id}/members/{user_id}",
    operation_id="remove_member",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=_MANAGE,
)
async def remove_member(workspace_id: str, user_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> Response:
    """Remove a member, or leave when ``user_id`` is you; the last owner cannot be removed (409)."""
    _in_scope(principal, workspace_id)
    async with runtime.db.session() as session:
        await WorkspaceService(session, runtime.auth_cache).remove_member(principal, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/v1/workspaces/{workspace_id}/invitations",
    operation_id="invite_member",
    status_code=status.HTTP_201_CREATED,
    responses=_MANAGE,
)
async def invite_member(
    workspace_id: str,
    body: InvitationCreate,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    background: BackgroundTasks,
) -> InvitationPublic:
    """Invite someone by email into this team workspace with a role; the token goes only into the mail."""
    _in_scope(principal, workspace_id)
    settings = runtime.settings
    async with runtime.db.session() as session:
        issued = await WorkspaceService(session).invite(
            principal, body.email, body.role, ttl_seconds=settings.invitation_ttl_seconds
        )
    invitation = issued.invitation
    mailer = Mailer(settings)
    background.add_task(
        mailer.send,
        invitation_mail(
            invitation.email,
            issued.token,
            workspace_name=issued.workspace.name,
            role=invitation.role,
            public_url=settings.resolved_public_url,
            ttl_seconds=settings.invitation_ttl_seconds,
        ),
    )
    return InvitationPublic(
        id=invitation.id,
        workspace_id=invitation.workspace_id,
        email=invitation.email,
        role=body.role,
        expires_at=invitation.expires_at,
        delivery="smtp" if mailer.uses_smtp else "log",
    )


class PendingInvitation(BaseModel):
    id: str
    email: str
    role: Role
    created_at: datetime
    expires_at: datetime


class PendingInvitationList(BaseModel):
    data: list[PendingInvitation]


@router.get("/v1/workspaces/{workspace_id}/invitations", operation_id="list_invitations", responses=_MANAGE)
async def list_invitations(workspace_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> PendingInvitationList:
    """Invitations still waiting to be accepted (owners and admins); the tokens are never shown again."""
    _in_scope(principal, workspace_id)
    async with runtime.db.session() as session:
        rows = await WorkspaceService(session).pending_invitations(principal)
    return PendingInvitationList(
        data=[
            PendingInvitation(
                id=row.id,
                email=row.email,
                role=cast(Role, row.role),
                created_at=row.created_at,
                expires_at=row.expires_at,
            )
            for row in rows
        ]
    )


@router.delete(
    "/v1/workspaces/{workspace_id}/invitations/{invitation_id}",
    operation_id="revoke_invitation",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=_MANAGE,
)
async def revoke_invitation(
    workspace_id: str, invitation_id: str, principal: PrincipalDep, runtime: RuntimeDep
) -> Response:
    """Withdraw a pending invitation: its link stops working (404 when it is accepted or already withdrawn)."""
    _in_scope(principal, workspace_id)
    async with runtime.db.session() as session:
        await WorkspaceService(session).revoke_invitation(principal, invitation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/v1/invitations/accept",
    operation_id="accept_invitation",
    responses=error_responses(errors.INVITATION_INVALID, errors.FORBIDDEN),
)
async def accept_invitation(body: InvitationAccept, principal: PrincipalDep, runtime: RuntimeDep) -> WorkspacePublic:
    """Join the workspace of an invitation sent to your email (400 INVITATION_INVALID when it is
    unknown, used, withdrawn or expired). Switch to it with ``POST /v1/auth/token``."""
    user_id = principal.require_user()
    async with runtime.db.session() as session:
        view = await WorkspaceService(session, runtime.auth_cache).accept(user_id, body.token)
    return WorkspacePublic.of(view)
