"""Workspaces, memberships and invitations: who belongs where, with which role.

Rules, enforced here so the API, the CLI and the MCP server share them:
- owners and admins manage members and invitations (an API key needs the ``workspace`` scope);
- only an owner grants the owner role or changes or removes another owner;
- anyone may leave a workspace by removing themselves;
- a workspace always keeps at least one owner;
- personal workspaces stay single-user; teams are created for sharing.
Every change to members forgets the workspace's cached principals in this process.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pixelmill import errors
from pixelmill.db.models import Invitation, Membership, User, Workspace
from pixelmill.errors import PixelmillError
from pixelmill.ids import new_id
from pixelmill.services.accounts import normalise_email
from pixelmill.services.examples import install_examples
from pixelmill.services.principal import ROLES, Principal, Role
from pixelmill.services.principal_cache import PrincipalCache
from pixelmill.services.tokens import digest, new_opaque_token


@dataclass(frozen=True, slots=True)
class WorkspaceView:
    """A workspace as one user sees it: with their role in it."""

    id: str
    name: str
    kind: str
    plan: str
    role: Role
    created_at: datetime


@dataclass(frozen=True, slots=True)
class MemberView:
    user_id: str
    email: str
    name: str
    role: Role
    joined_at: datetime


@dataclass(frozen=True, slots=True)
class IssuedInvitation:
    """A new invitation; ``token`` goes only into the mail, the database keeps its digest."""

    invitation: Invitation
    workspace: Workspace
    token: str


def _check_role(role: str, field: str = "role") -> Role:
    if role not in ROLES:
        raise PixelmillError(errors.VALIDATION_ERROR, f"{field}: must be one of {', '.join(ROLES)}", field=field)
    return role


class WorkspaceService:
    """Team workspaces, their members and invitations, and workspace plans."""

    def __init__(self, session: AsyncSession, cache: PrincipalCache | None = None) -> None:
        self.session = session
        self.cache = cache

    def _forget(self, workspace_id: str) -> None:
        if self.cache is not None:
            self.cache.forget_workspace_on_commit(self.session, workspace_id)

    async def get(self, workspace_id: str) -> Workspace:
        workspace = await self.session.get(Workspace, workspace_id)
        if workspace is None:
            raise PixelmillError(errors.NOT_FOUND, "Workspace not found", workspace_id=workspace_id)
        return workspace

    async def create_team(self, owner_id: str, name: str, *, plan: str) -> Workspace:
        """A team workspace on ``plan`` with ``owner_id`` as its first owner."""
        name = name.strip()
        if not name:
            raise PixelmillError(errors.VALIDATION_ERROR, "name: must not be blank", field="name")
        workspace = Workspace(id=new_id("ws"), name=name, kind="team", plan=plan)
        self.session.add(workspace)
        await self.session.flush()  # the membership's foreign key needs the workspace row first
        self.session.add(Membership(workspace_id=workspace.id, user_id=owner_id, role="owner"))
        await self.session.flush()
        await install_examples(self.session, workspace.id)
        return workspace

    async def list_for_user(self, user_id: str) -> list[WorkspaceView]:
        """Every workspace ``user_id`` belongs to, oldest first, with their role."""
        result = await self.session.execute(
            select(Workspace.id, Workspace.name, Workspace.kind, Workspace.plan, Membership.role, Workspace.created_at)
            .join(Membership, Membership.workspace_id == Workspace.id)
            .where(Membership.user_id == user_id)
            .order_by(Workspace.created_at, Workspace.id)
        )
        return [WorkspaceView(row[0], row[1], row[2], row[3], cast(Role, row[4]), row[5]) for row in result]

    async def members(self, principal: Principal) -> list[MemberView]:
        """The members of the caller's workspace; any member may see who else is in it."""
        principal.require_scope("workspace")
        result = await self.session.execute(
            select(User.id, User.email, User.name, Membership.role, Membership.created_at)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.workspace_id == principal.workspace_id)
            .order_by(Membership.id)
        )
        return [MemberView(row[0], row[1], row[2], cast(Role, row[3]), row[4]) for row in result]

    async def _membership(self, workspace_id: str, user_id: str) -> Membership:
        result = await self.session.execute(
            select(Membership).where(Membership.workspace_id == workspace_id, Membership.user_id == user_id)
        )
        membership = result.scalar_one_or_none()
        if membership is None:
            raise PixelmillError(errors.NOT_FOUND, "No such member in this workspace", user_id=user_id)
        return membership

    async def _owner_count(self, workspace_id: str) -> int:
        # FOR UPDATE on PostgreSQL serialises two owners demoting each other; SQLite has one writer.
        result = await self.session.execute(
            select(Membership.id)
            .where(Membership.workspace_id == workspace_id, Membership.role == "owner")
            .with_for_update()
        )
        return len(result.all())

    def _check_can_manage(self, principal: Principal, target_role: str, new_role: str | None = None) -> None:
        principal.require_scope("workspace")
        principal.require_role("admin")
        if "owner" in (target_role, new_role) and not principal.has_role("owner"):
            raise PixelmillError(
                errors.INSUFFICIENT_ROLE,
                "Only an owner can grant, change or remove the owner role",
                required_role="owner",
            )

    async def change_role(self, principal: Principal, user_id: str, role: str) -> MemberView:
        """Give a member a new role; the last owner cannot be demoted."""
        new_role = _check_role(role)
        membership = await self._membership(principal.workspace_id, user_id)
        self._check_can_manage(principal, membership.role, new_role)
        if membership.role == "owner" and new_role != "owner" and await self._owner_count(principal.workspace_id) <= 1:
            raise PixelmillError(errors.CONFLICT, "A workspace needs at least one owner; make someone else owner first")
        membership.role = new_role
        await self.session.flush()
        self._forget(principal.workspace_id)
        user = await self.session.get(User, user_id)
        assert user is not None
        return MemberView(user.id, user.email, user.name, new_role, membership.created_at)

    async def remove_member(self, principal: Principal, user_id: str) -> None:
        """Remove a member (or leave, when ``user_id`` is the caller); the last owner stays."""
        membership = await self._membership(principal.workspace_id, user_id)
        if user_id != principal.user_id:
            self._check_can_manage(principal, membership.role)
        if membership.role == "owner" and await self._owner_count(principal.workspace_id) <= 1:
            raise PixelmillError(errors.CONFLICT, "The last owner cannot be removed; make someone else owner first")
        await self.session.delete(membership)
        await self.session.flush()
        self._forget(principal.workspace_id)

    async def invite(self, principal: Principal, email: str, role: str, *, ttl_seconds: int) -> IssuedInvitation:
        """Invite ``email`` into the caller's team workspace with ``role``; earlier pending invitations
        of that email are withdrawn so only the newest link works."""
        new_role = _check_role(role)
        self._check_can_manage(principal, "member", new_role)
        inviter = principal.require_user()
        workspace = await self.get(principal.workspace_id)
        if workspace.kind != "team":
            raise PixelmillError(
                errors.CONFLICT, "Personal workspaces have one member; create a team workspace to invite people"
            )
        email = normalise_email(email)
        already = await self.session.execute(
            select(Membership.id)
            .join(User, User.id == Membership.user_id)
            .where(Membership.workspace_id == workspace.id, User.email == email)
        )
        if already.first() is not None:
            raise PixelmillError(errors.CONFLICT, "This person is already a member of the workspace", field="email")
        now = datetime.now(UTC)
        await self.session.execute(
            update(Invitation)
            .where(
                Invitation.workspace_id == workspace.id,
                Invitation.email == email,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        )
        token = new_opaque_token()
        invitation = Invitation(
            id=new_id("inv"),
            workspace_id=workspace.id,
            email=email,
            role=new_role,
            token_hash=digest(token),
            invited_by=inviter,
            expires_at=now + timedelta(seconds=ttl_seconds),
        )
        self.session.add(invitation)
        await self.session.flush()
        return IssuedInvitation(invitation=invitation, workspace=workspace, token=token)

    async def pending_invitations(self, principal: Principal) -> list[Invitation]:
        """The caller's workspace's invitations still usable (not accepted, withdrawn or expired), newest first."""
        self._check_can_manage(principal, "member")
        result = await self.session.scalars(
            select(Invitation)
            .where(
                Invitation.workspace_id == principal.workspace_id,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > datetime.now(UTC),
            )
            .order_by(Invitation.created_at.desc(), Invitation.id.desc())
        )
        return list(result)

    async def revoke_invitation(self, principal: Principal, invitation_id: str) -> None:
        """Withdraw a pending invitation so its link stops working; 404 when it is not the caller's
        workspace's or no longer pending (accepted, already withdrawn), so nothing else leaks."""
        self._check_can_manage(principal, "member")
        result = await self.session.execute(
            update(Invitation)
            .where(
                Invitation.id == invitation_id,
                Invitation.workspace_id == principal.workspace_id,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
            )
            .values(revoked_at=datetime.now(UTC))
        )
        if cast(CursorResult[Any], result).rowcount != 1:
            raise PixelmillError(errors.NOT_FOUND, "Invitation not found", invitation_id=invitation_id)

    async def accept(self, user_id: str, token: str) -> WorkspaceView:
        """Join the invitation's workspace as ``user_id``, whose email must be the invited one.

        The token is spent by a compare-and-set update; unknown, used, withdrawn or expired
        invitations are 400 INVITATION_INVALID, and a mismatched email leaves the invitation usable.
        """
        user = await self.session.get(User, user_id)
        if user is None:
            raise PixelmillError(errors.UNAUTHENTICATED)
        now = datetime.now(UTC)
        result = await self.session.execute(
            select(Invitation).where(
                Invitation.token_hash == digest(token),
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > now,
            )
        )
        invitation = result.scalar_one_or_none()
        if invitation is None:
            raise PixelmillError(errors.INVITATION_INVALID)
        if invitation.email != user.email:
            raise PixelmillError(errors.FORBIDDEN, "This invitation was sent to a different email address")
        spent = await self.session.execute(
            update(Invitation)
            .where(Invitation.id == invitation.id, Invitation.accepted_at.is_(None))
            .values(accepted_at=now)
        )
        if cast(CursorResult[Any], spent).rowcount != 1:
            raise PixelmillError(errors.INVITATION_INVALID)
        existing = await self.session.execute(
            select(Membership).where(Membership.workspace_id == invitation.workspace_id, Membership.user_id == user_id)
        )
        membership = existing.scalar_one_or_none()
        if membership is None:
            membership = Membership(workspace_id=invitation.workspace_id, user_id=user_id, role=invitation.role)
            self.session.add(membership)
            await self.session.flush()
        workspace = await self.get(invitation.workspace_id)
        self._forget(workspace.id)
        return WorkspaceView(
            workspace.id,
            workspace.name,
            workspace.kind,
            workspace.plan,
            cast(Role, membership.role),
            workspace.created_at,
        )

    async def first_owner(self, workspace_id: str) -> str | None:
        """The longest-standing owner: whom the operator's CLI attributes a key to."""
        result = await self.session.execute(
            select(Membership.user_id)
            .where(Membership.workspace_id == workspace_id, Membership.role == "owner")
            .order_by(Membership.id)
            .limit(1)
        )
        return result.scalar_one_or_none()

    async def set_plan(self, workspace_id: str, plan: str, plans: Mapping[str, Any]) -> Workspace:
        """Move a workspace to ``plan`` (an operator action); unknown plan names are refused."""
        if plan not in plans:
            raise PixelmillError(
                errors.VALIDATION_ERROR, f"plan: must be one of {', '.join(sorted(plans))}", field="plan"
            )
        workspace = await self.get(workspace_id)
        workspace.plan = plan
        await self.session.flush()
        self._forget(workspace_id)
        return workspace
