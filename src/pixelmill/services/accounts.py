"""Accounts: sign-up creates a user, their personal workspace and the owner membership together."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from pixelmill import errors
from pixelmill.db.models import Membership, User, Workspace
from pixelmill.errors import PixelmillError
from pixelmill.ids import new_id
from pixelmill.services.passwords import hash_password


def normalise_email(email: str) -> str:
    return email.strip().lower()


class AccountService:
    """Users and their personal workspaces."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def signup(
        self, email: str, password: str, *, name: str = "", plan: str, is_operator: bool = False
    ) -> tuple[User, Workspace]:
        """Create a user with a personal workspace on ``plan``; 409 EMAIL_TAKEN if the email exists."""
        email = normalise_email(email)
        if await self.find_by_email(email) is not None:
            raise PixelmillError(errors.EMAIL_TAKEN)
        user = User(
            id=new_id("usr"),
            email=email,
            name=name,
            password_hash=hash_password(password),
            is_operator=is_operator,
        )
        workspace = Workspace(id=new_id("ws"), name=name or email.split("@")[0], kind="personal", plan=plan)
        user.personal_workspace_id = workspace.id
        self.session.add_all([user, workspace])
        try:
            await self.session.flush()
        except IntegrityError as exc:  # a concurrent sign-up with the same email won the race
            raise PixelmillError(errors.EMAIL_TAKEN) from exc
        # Without relationship() the unit of work does not order inserts across tables, so the
        # membership goes in after its user and workspace exist.
        self.session.add(Membership(workspace_id=workspace.id, user_id=user.id, role="owner"))
        await self.session.flush()
        return user, workspace

    async def find_by_email(self, email: str) -> User | None:
        result = await self.session.execute(select(User).where(User.email == normalise_email(email)))
        return result.scalar_one_or_none()

    async def get(self, user_id: str) -> User | None:
        return await self.session.get(User, user_id)
