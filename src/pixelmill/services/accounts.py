"""Accounts: sign-up, credential checks and password resets.

Sign-up creates the user, their personal workspace and the owner membership in one transaction.
Password hashing (argon2, tens of milliseconds) runs in a worker thread so one login never stalls
every other request on the event loop.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from pixelmill import errors
from pixelmill.db.models import Membership, PasswordResetToken, User, Workspace
from pixelmill.errors import PixelmillError
from pixelmill.ids import new_id
from pixelmill.services.examples import install_examples
from pixelmill.services.passwords import check_password_policy, hash_password, verify_password
from pixelmill.services.tokens import digest, new_opaque_token


def normalise_email(email: str) -> str:
    return email.strip().lower()


@dataclass(frozen=True, slots=True)
class IssuedResetToken:
    """A reset token for ``user``; ``token`` goes only into the mail, the database keeps its digest."""

    user: User
    token: str
    expires_at: datetime


class AccountService:
    """Users, their personal workspaces, credentials and password resets."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def signup(
        self, email: str, password: str, *, name: str = "", plan: str, is_operator: bool = False
    ) -> tuple[User, Workspace]:
        """Create a user with a personal workspace on ``plan``; 409 EMAIL_TAKEN if the email exists."""
        email = normalise_email(email)
        check_password_policy(password)
        if await self.find_by_email(email) is not None:
            raise PixelmillError(errors.EMAIL_TAKEN, field="email")
        user = User(
            id=new_id("usr"),
            email=email,
            name=name,
            password_hash=await asyncio.to_thread(hash_password, password),
            is_operator=is_operator,
        )
        workspace = Workspace(id=new_id("ws"), name=name or email.split("@")[0], kind="personal", plan=plan)
        user.personal_workspace_id = workspace.id
        self.session.add_all([user, workspace])
        try:
            await self.session.flush()
        except IntegrityError as exc:  # a concurrent sign-up with the same email won the race
            raise PixelmillError(errors.EMAIL_TAKEN, field="email") from exc
        # Without relationship() the unit of work does not order inserts across tables, so the
        # membership goes in after its user and workspace exist.
        self.session.add(Membership(workspace_id=workspace.id, user_id=user.id, role="owner"))
        await self.session.flush()
        await install_examples(self.session, workspace.id)
        return user, workspace

    async def find_by_email(self, email: str) -> User | None:
        result = await self.session.execute(select(User).where(User.email == normalise_email(email)))
        return result.scalar_one_or_none()

    async def get(self, user_id: str) -> User | None:
        return await self.session.get(User, user_id)

    async def has_users(self) -> bool:
        result = await self.session.execute(select(User.id).limit(1))
        return result.first() is not None

    async def verify_credentials(self, email: str, password: str) -> User:
        """The user with this email and password; an unknown email and a wrong password are the same 401."""
        user = await self.find_by_email(email)
        matches = await asyncio.to_thread(verify_password, user.password_hash if user else None, password)
        if user is None or not matches:
            raise PixelmillError(errors.INVALID_CREDENTIALS)
        return user

    async def default_workspace_id(self, user: User) -> str:
        """The workspace a fresh login acts in: the personal one, else the oldest membership."""
        if user.personal_workspace_id is not None:
            return user.personal_workspace_id
        result = await self.session.execute(
            select(Membership.workspace_id).where(Membership.user_id == user.id).order_by(Membership.id).limit(1)
        )
        workspace_id = result.scalar_one_or_none()
        if workspace_id is None:
            raise PixelmillError(errors.FORBIDDEN, "This account belongs to no workspace")
        return workspace_id

    async def issue_reset_token(self, email: str, ttl_seconds: int) -> IssuedResetToken | None:
        """A single-use reset token for the account with ``email``, or None when there is none.

        The caller answers the same either way, so the response never says whether an email is
        registered.
        """
        user = await self.find_by_email(email)
        if user is None:
            return None
        token = new_opaque_token()
        expires_at = datetime.now(UTC) + timedelta(seconds=ttl_seconds)
        self.session.add(
            PasswordResetToken(id=new_id("prt"), user_id=user.id, token_hash=digest(token), expires_at=expires_at)
        )
        await self.session.flush()
        return IssuedResetToken(user=user, token=token, expires_at=expires_at)

    async def reset_password(self, token: str, new_password: str) -> User:
        """Set a new password with a reset token; unknown, used or expired -> 400 RESET_TOKEN_INVALID.

        The token is spent by a compare-and-set update, so two requests racing with one token
        cannot both succeed; the other outstanding tokens of the user are spent with it.
        """
        check_password_policy(new_password, field="new_password")
        now = datetime.now(UTC)
        result = await self.session.execute(
            update(PasswordResetToken)
            .where(
                PasswordResetToken.token_hash == digest(token),
                PasswordResetToken.used_at.is_(None),
                PasswordResetToken.expires_at > now,
            )
            .values(used_at=now)
            .returning(PasswordResetToken.user_id)
        )
        user_id = result.scalar_one_or_none()
        if user_id is None:
            raise PixelmillError(errors.RESET_TOKEN_INVALID)
        user = await self.session.get(User, user_id)
        if user is None:  # the account was deleted after the token was issued
            raise PixelmillError(errors.RESET_TOKEN_INVALID)
        user.password_hash = await asyncio.to_thread(hash_password, new_password)
        await self.session.execute(
            update(PasswordResetToken)
            .where(PasswordResetToken.user_id == user_id, PasswordResetToken.used_at.is_(None))
            .values(used_at=now)
        )
        await self.session.flush()
        return user
