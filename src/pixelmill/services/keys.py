"""API keys: ``pm_live_…`` / ``pm_test_…`` with 256 random bits, shown once, stored as SHA-256."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pixelmill import errors
from pixelmill.db.models import ApiKey, Membership, User, Workspace
from pixelmill.errors import PixelmillError
from pixelmill.ids import new_id
from pixelmill.services.principal import ALL_SCOPES, Principal
from pixelmill.services.tokens import digest

KEY_PREFIXES = ("pm_live_", "pm_test_")
_SHOWN_PREFIX_CHARS = 4  # characters of the secret part kept in lists ("pm_live_AbCd…")
LAST_USED_RESOLUTION = timedelta(seconds=60)  # last_used_at is written at most once a minute


@dataclass(frozen=True, slots=True)
class CreatedKey:
    """A new key: the row, and the full secret that is never shown again."""

    row: ApiKey
    secret: str


def looks_like_key(token: str) -> bool:
    return token.startswith(KEY_PREFIXES)


def generate_key(mode: Literal["live", "test"]) -> str:
    return f"pm_{mode}_{secrets.token_urlsafe(32)}"


class ApiKeyService:
    """Create, list, revoke and rotate keys; resolve a presented key to a Principal."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(
        self,
        workspace_id: str,
        *,
        name: str,
        mode: Literal["live", "test"] = "live",
        scopes: list[str] | None = None,
        created_by: str | None = None,
    ) -> CreatedKey:
        unknown = sorted(set(scopes or ()) - set(ALL_SCOPES))
        if unknown:
            raise PixelmillError(errors.VALIDATION_ERROR, f"Unknown scopes: {', '.join(unknown)}", field="scopes")
        secret = generate_key(mode)
        row = ApiKey(
            id=new_id("key"),
            workspace_id=workspace_id,
            created_by=created_by,
            name=name,
            mode=mode,
            prefix=secret[: len("pm_live_") + _SHOWN_PREFIX_CHARS],
            key_hash=digest(secret),
            scopes=sorted(set(scopes)) if scopes else [],
        )
        self.session.add(row)
        await self.session.flush()
        return CreatedKey(row=row, secret=secret)

    async def authenticate(self, secret: str) -> Principal:
        """The principal behind a presented key; unknown, revoked or malformed keys are 401."""
        if not looks_like_key(secret):
            raise PixelmillError(errors.UNAUTHENTICATED)
        result = await self.session.execute(
            select(ApiKey, Workspace.plan)
            .join(Workspace, Workspace.id == ApiKey.workspace_id)
            .where(ApiKey.key_hash == digest(secret))
        )
        found = result.first()
        if found is None or found[0].revoked_at is not None:
            raise PixelmillError(errors.UNAUTHENTICATED)
        key, plan = found
        role = "member"
        is_operator = False
        if key.created_by is not None:
            member = await self.session.execute(
                select(Membership.role, User.is_operator)
                .join(User, User.id == Membership.user_id)
                .where(Membership.workspace_id == key.workspace_id, Membership.user_id == key.created_by)
            )
            row = member.first()
            if row is not None:
                role, is_operator = row
        now = datetime.now(UTC)
        if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
            await self.session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
        return Principal(
            workspace_id=key.workspace_id,
            plan=plan,
            user_id=key.created_by,
            key_id=key.id,
            role=role,  # type: ignore[arg-type]
            mode=key.mode,  # type: ignore[arg-type]
            scopes=frozenset(key.scopes or ALL_SCOPES),
            is_operator=is_operator,
        )
