"""Resolve a bearer credential (an API key or an access token) to a Principal.

Authentication runs on every request, so a resolved credential is remembered for a few seconds
in the process's PrincipalCache (see its docstring for what that means for revocation). A JWT's
signature and expiry are still checked on every request; the membership lookup and whether the
token was signed out (revoked_tokens) are cached.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from pixelmill import errors
from pixelmill.db.models import Membership, RevokedToken, User, Workspace
from pixelmill.db.session import Database
from pixelmill.errors import PixelmillError
from pixelmill.services.keys import ApiKeyService, looks_like_key
from pixelmill.services.principal import Principal, Role
from pixelmill.services.principal_cache import PrincipalCache
from pixelmill.services.tokens import decode_access_token, digest

ANONYMOUS_FINGERPRINT = "anonymous:operator"


async def principal_for_user(session: AsyncSession, user_id: str, workspace_id: str) -> Principal | None:
    """The principal of ``user_id`` acting in ``workspace_id``, or None when they are not a member."""
    result = await session.execute(
        select(Membership.role, Workspace.plan, User.is_operator)
        .join(Workspace, Workspace.id == Membership.workspace_id)
        .join(User, User.id == Membership.user_id)
        .where(Membership.user_id == user_id, Membership.workspace_id == workspace_id)
    )
    row = result.first()
    if row is None:
        return None
    role, plan, is_operator = row
    return Principal(
        workspace_id=workspace_id, plan=plan, user_id=user_id, role=cast(Role, role), is_operator=bool(is_operator)
    )


async def operator_principal(session: AsyncSession) -> Principal | None:
    """The first operator acting in the first workspace they joined: who an anonymous request on a
    single-user loopback server acts as (``anonymous_loopback``). None before anyone signed up."""
    result = await session.execute(
        select(Membership.user_id, Membership.workspace_id)
        .join(User, User.id == Membership.user_id)
        .where(User.is_operator.is_(True))
        .order_by(User.created_at, User.id, Membership.created_at, Membership.id)
        .limit(1)
    )
    row = result.first()
    return None if row is None else await principal_for_user(session, row.user_id, row.workspace_id)


async def authenticate_bearer(session: AsyncSession, secret: bytes, credential: str) -> Principal:
    """Resolve a credential without the cache: API keys (``pm_…``) and JWTs both arrive as bearer
    credentials, told apart by their shape."""
    if looks_like_key(credential):
        return await ApiKeyService(session).authenticate(credential)
    claims = decode_access_token(secret, credential)
    if await session.get(RevokedToken, digest(credential)) is not None:
        raise PixelmillError(errors.UNAUTHENTICATED, "This session was signed out")
    principal = await principal_for_user(session, str(claims["sub"]), str(claims["ws"]))
    if principal is None:  # removed from the workspace after the token was issued
        raise PixelmillError(errors.UNAUTHENTICATED, "You are no longer a member of this token's workspace")
    return principal


class Authenticator:
    """Turns the credential of ``Authorization: Bearer`` into a Principal, through the cache."""

    def __init__(self, db: Database, secret: bytes, cache: PrincipalCache) -> None:
        self.db = db
        self.secret = secret
        self.cache = cache

    async def authenticate(self, credential: str) -> Principal:
        if looks_like_key(credential):
            fingerprint = "key:" + digest(credential)
        else:
            # The signature and expiry are checked on every request; the membership and revocation
            # lookups are cached, per token so that signing one session out leaves the others be.
            decode_access_token(self.secret, credential)
            fingerprint = "jwt:" + digest(credential)
        principal = self.cache.get(fingerprint)
        if principal is None:
            async with self.db.session() as session:
                principal = await authenticate_bearer(session, self.secret, credential)
            self.cache.put(fingerprint, principal)
        return principal

    async def revoke(self, credential: str) -> None:
        """Sign an access token out before its expiry: every later request with it is 401 (after at
        most the cache's few seconds on other processes). An expired or invalid token needs nothing."""
        try:
            claims = decode_access_token(self.secret, credential)
        except PixelmillError:
            return
        now = datetime.now(UTC)
        async with self.db.session() as session:
            # Rows of tokens that expired since are dead weight: the expiry check refuses those first.
            await session.execute(delete(RevokedToken).where(RevokedToken.expires_at < now))
            token_hash = digest(credential)
            if await session.get(RevokedToken, token_hash) is None:
                session.add(RevokedToken(token_hash=token_hash, expires_at=datetime.fromtimestamp(claims["exp"], UTC)))
        self.cache.forget("jwt:" + token_hash)

    async def anonymous(self) -> Principal | None:
        """The operator, for a credential-less request in single-user mode (cached like a credential)."""
        principal = self.cache.get(ANONYMOUS_FINGERPRINT)
        if principal is None:
            async with self.db.session() as session:
                principal = await operator_principal(session)
            if principal is None:
                return None
            self.cache.put(ANONYMOUS_FINGERPRINT, principal)
        return principal
