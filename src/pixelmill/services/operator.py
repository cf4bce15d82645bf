"""What the operator sees across workspaces: every workspace with its plan, owner and wallet.

The console's operator pages and ``pixelmill admin`` do the same things (plans, credit grants);
this is the read side the HTTP routes need, which the CLI never did (it names one workspace).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pixelmill import errors
from pixelmill.db.models import Membership, User, Wallet, Workspace
from pixelmill.errors import PixelmillError


@dataclass(frozen=True, slots=True)
class WorkspaceSummary:
    id: str
    name: str
    kind: str
    plan: str
    owner_email: str | None  # the earliest owner; None when the workspace has none left
    members: int
    balance: int
    reserved: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class UserSummary:
    id: str
    email: str
    name: str
    is_operator: bool
    personal_workspace_id: str | None
    created_at: datetime


class OperatorService:
    """Reads over every workspace; the caller checks that the principal is an operator."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def workspace(self, workspace_id: str) -> WorkspaceSummary:
        """One workspace's summary; 404 NOT_FOUND for an unknown id."""
        found = await self.workspaces(limit=1, only=workspace_id)
        if not found:
            raise PixelmillError(errors.NOT_FOUND, "Workspace not found", workspace_id=workspace_id)
        return found[0]

    async def workspaces(
        self, *, limit: int, after: str | None = None, only: str | None = None
    ) -> list[WorkspaceSummary]:
        """Workspaces in id order (ids sort by creation), ``limit`` after the id ``after``."""
        members = select(Membership.workspace_id, func.count().label("n")).group_by(Membership.workspace_id).subquery()
        query = (
            select(Workspace, Wallet.balance, Wallet.reserved, members.c.n)
            .outerjoin(Wallet, Wallet.workspace_id == Workspace.id)
            .outerjoin(members, members.c.workspace_id == Workspace.id)
            .order_by(Workspace.id)
            .limit(limit)
        )
        if after is not None:
            query = query.where(Workspace.id > after)
        if only is not None:
            query = query.where(Workspace.id == only)
        rows = (await self.session.execute(query)).all()
        owners = await self._owners([row[0].id for row in rows])
        return [
            WorkspaceSummary(
                id=ws.id,
                name=ws.name,
                kind=ws.kind,
                plan=ws.plan,
                owner_email=owners.get(ws.id),
                members=int(count or 0),
                balance=int(balance or 0),
                reserved=int(reserved or 0),
                created_at=ws.created_at,
            )
            for ws, balance, reserved, count in rows
        ]

    async def users(self, *, limit: int, after: str | None = None) -> list[UserSummary]:
        """Accounts in id order, ``limit`` after the id ``after``."""
        query = select(User).order_by(User.id).limit(limit)
        if after is not None:
            query = query.where(User.id > after)
        return [
            UserSummary(
                id=u.id,
                email=u.email,
                name=u.name,
                is_operator=u.is_operator,
                personal_workspace_id=u.personal_workspace_id,
                created_at=u.created_at,
            )
            for u in (await self.session.scalars(query))
        ]

    async def _owners(self, workspace_ids: list[str]) -> dict[str, str]:
        if not workspace_ids:
            return {}
        result = await self.session.execute(
            select(Membership.workspace_id, User.email)
            .join(User, User.id == Membership.user_id)
            .where(Membership.workspace_id.in_(workspace_ids), Membership.role == "owner")
            .order_by(Membership.id.desc())
        )
        return {workspace_id: email for workspace_id, email in result.all()}  # the earliest owner comes last, wins
