"""One-time sign-in links: how the operator of a loopback server opens the console without typing
the generated password. The token exists in plain text only in the printed link; the database keeps
its SHA-256, and redeeming it is a compare-and-set, so a link works once even under a race."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from pixelmill import errors
from pixelmill.db.models import SignInLink
from pixelmill.errors import PixelmillError
from pixelmill.ids import new_id
from pixelmill.services.tokens import digest, new_opaque_token

SIGN_IN_LINK_PATH = "/v1/auth/session/link"  # where the API redeems a link (``?token=``)


@dataclass(frozen=True, slots=True)
class LinkHolder:
    """Who a redeemed link signs in, and the workspace the session acts in."""

    user_id: str
    workspace_id: str


class SignInLinks:
    """Issue and redeem one-time sign-in tokens."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def issue(self, user_id: str, workspace_id: str, ttl_seconds: int) -> str:
        """A new token for ``user_id`` acting in ``workspace_id``; only its digest is stored."""
        token = new_opaque_token()
        self.session.add(
            SignInLink(
                id=new_id("sil"),
                user_id=user_id,
                workspace_id=workspace_id,
                token_hash=digest(token),
                expires_at=datetime.now(UTC) + timedelta(seconds=ttl_seconds),
            )
        )
        await self.session.flush()
        return token

    async def redeem(self, token: str) -> LinkHolder:
        """Spend ``token``; unknown, used or expired -> 400 SIGN_IN_LINK_INVALID."""
        now = datetime.now(UTC)
        result = await self.session.execute(
            update(SignInLink)
            .where(SignInLink.token_hash == digest(token), SignInLink.used_at.is_(None), SignInLink.expires_at > now)
            .values(used_at=now)
            .returning(SignInLink.user_id, SignInLink.workspace_id)
        )
        row = result.first()
        if row is None:
            raise PixelmillError(errors.SIGN_IN_LINK_INVALID)
        return LinkHolder(user_id=row.user_id, workspace_id=row.workspace_id)
