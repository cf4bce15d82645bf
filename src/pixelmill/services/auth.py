"""Resolve a bearer credential (an API key or an access token) to a Principal."""

from __future__ import annotations

from typing import cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pixelmill import errors
from pixelmill.db.models import Membership, User, Workspace
from pixelmill.errors import PixelmillError
from pixelmill.services.keys import ApiKeyService, looks_like_key
from pixelmill.services.principal import Principal, Role
from pixelmill.services.tokens import decode_access_token


async def authenticate_bearer(session: AsyncSession, secret: bytes, credential: str) -> Principal:
    """API keys (``pm_…``) and JWTs both arrive as ``Authorization: Bearer``; dispatch on shape."""
    if looks_like_key(credential):
        return await ApiKeyService(session).authenticate(credential)
    claims = decode_access_token(secret, credential)
    result = await session.execute(
        select(Membership.role, Workspace.plan, User.is_operator)
        .join(Workspace, Workspace.id == Membership.workspace_id)
        .join(User, User.id == Membership.user_id)
        .where(Membership.user_id == claims["sub"], Membership.workspace_id == claims["ws"])
    )
    row = result.first()
    if row is None:  # the user was removed from the workspace after the token was issued
        raise PixelmillError(errors.UNAUTHENTICATED)
    role, plan, is_operator = row
    return Principal(
        workspace_id=claims["ws"], plan=plan, user_id=claims["sub"], role=cast(Role, role), is_operator=is_operator
    )
