"""API keys: ``pm_live_…`` / ``pm_test_…`` with 256 random bits, shown once, stored as SHA-256.

Who may manage keys: owners and admins of the workspace (members use keys, they do not mint them),
and, when the caller is itself an API key, only a key carrying the ``keys`` scope. A key never
creates a key with more than it has: requested scopes must be a subset of its own, and a test key
creates only test keys. The workspace's plan decides whether keys may be created at all.

Rotation overlaps, as webhook secrets do: the old key names its replacement and keeps working
until ``expires_at`` (``key_rotation_grace_seconds`` later), so a client that rotates its own key
is not locked out before its deploy has the new one. Revoking ends a key at once, in its grace
period too. A key is therefore ``active``, ``rotating`` (replaced, still working), ``expired`` or
``revoked``; only an active key can be rotated.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, cast

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pixelmill import errors
from pixelmill.config import Plan
from pixelmill.db.models import ApiKey, Membership, User, Workspace
from pixelmill.errors import PixelmillError
from pixelmill.ids import new_id
from pixelmill.services.principal import ALL_SCOPES, Principal, Role
from pixelmill.services.principal_cache import PrincipalCache
from pixelmill.services.tokens import digest

KeyMode = Literal["live", "test"]
KeyStatus = Literal["active", "rotating", "expired", "revoked"]
KEY_PREFIXES = ("pm_live_", "pm_test_")
_SHOWN_PREFIX_CHARS = 4  # characters of the secret part kept in lists ("pm_live_AbCd…")
LAST_USED_RESOLUTION = timedelta(seconds=60)  # last_used_at is written at most once a minute


@dataclass(frozen=True, slots=True)
class CreatedKey:
    """A new key: the row, and the full secret that is never shown again."""

    row: ApiKey
    secret: str


@dataclass(frozen=True, slots=True)
class Rotation:
    """A rotation's outcome: the replacement (with its secret) and the old key, now in its grace period."""

    replacement: CreatedKey
    previous: ApiKey


def looks_like_key(token: str) -> bool:
    return token.startswith(KEY_PREFIXES)


def generate_key(mode: KeyMode) -> str:
    return f"pm_{mode}_{secrets.token_urlsafe(32)}"


def key_status(key: ApiKey, now: datetime) -> KeyStatus:
    """Where a key stands at ``now``: revocation wins over everything, then the end of a grace period."""
    if key.revoked_at is not None:
        return "revoked"
    if key.expires_at is not None:
        return "rotating" if key.expires_at > now else "expired"
    return "active"


def _check_scopes(scopes: list[str] | None) -> list[str]:
    unknown = sorted(set(scopes or ()) - set(ALL_SCOPES))
    if unknown:
        raise PixelmillError(errors.VALIDATION_ERROR, f"scopes: unknown scopes {', '.join(unknown)}", field="scopes")
    return sorted(set(scopes)) if scopes else []


class ApiKeyService:
    """Create, list, revoke and rotate keys; resolve a presented key to a Principal.

    ``cache`` is the process's PrincipalCache: revoking or rotating forgets the workspace's
    entries so the old key stops working in this process at once.
    """

    def __init__(self, session: AsyncSession, cache: PrincipalCache | None = None) -> None:
        self.session = session
        self.cache = cache

    async def create(
        self,
        workspace_id: str,
        *,
        name: str,
        mode: KeyMode = "live",
        scopes: list[str] | None = None,
        created_by: str | None = None,
    ) -> CreatedKey:
        """Mint a key with no policy checks: for the operator's CLI and bootstrap; the API uses ``issue``."""
        checked = _check_scopes(scopes)
        secret = generate_key(mode)
        row = ApiKey(
            id=new_id("key"),
            workspace_id=workspace_id,
            created_by=created_by,
            name=name,
            mode=mode,
            prefix=secret[: len("pm_live_") + _SHOWN_PREFIX_CHARS],
            key_hash=digest(secret),
            scopes=checked,
        )
        self.session.add(row)
        await self.session.flush()
        return CreatedKey(row=row, secret=secret)

    def _authorise(self, principal: Principal, plan: Plan, mode: KeyMode, scopes: list[str]) -> None:
        principal.require_scope("keys")
        principal.require_role("admin")
        if not plan.api_access:
            raise PixelmillError(
                errors.PLAN_FORBIDS, f"The {principal.plan} plan does not include API keys", plan=principal.plan
            )
        if principal.mode == "test" and mode == "live":
            raise PixelmillError(errors.INSUFFICIENT_SCOPE, "A test key can create only test keys", field="mode")
        wider = sorted(set(scopes or ALL_SCOPES) - principal.scopes)
        if wider:
            raise PixelmillError(
                errors.INSUFFICIENT_SCOPE,
                f"A key cannot grant scopes it does not have: {', '.join(wider)}",
                field="scopes",
            )

    async def issue(
        self, principal: Principal, plan: Plan, *, name: str, mode: KeyMode = "live", scopes: list[str] | None = None
    ) -> CreatedKey:
        """Create a key on behalf of ``principal``, enforcing role, scope, mode and the plan."""
        checked = _check_scopes(scopes)
        # "Every scope" asked for by a key that lacks some means that key's own scopes.
        if not checked and principal.scopes != frozenset(ALL_SCOPES):
            checked = sorted(principal.scopes)
        self._authorise(principal, plan, mode, checked)
        return await self.create(
            principal.workspace_id, name=name, mode=mode, scopes=checked, created_by=principal.user_id
        )

    async def list(self, workspace_id: str) -> list[ApiKey]:
        """The workspace's working keys (active, and rotated ones in their grace period), newest first
        (ids sort by creation time)."""
        now = datetime.now(UTC)
        result = await self.session.execute(
            select(ApiKey)
            .where(
                ApiKey.workspace_id == workspace_id,
                ApiKey.revoked_at.is_(None),
                or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now),
            )
            .order_by(ApiKey.id.desc())
        )
        return list(result.scalars())

    async def get(self, principal: Principal, key_id: str) -> ApiKey:
        """One key of the caller's workspace, whatever its status (a revoked one says when it was)."""
        principal.require_scope("keys")
        principal.require_role("admin")
        return await self._owned(principal.workspace_id, key_id)

    async def _owned(self, workspace_id: str, key_id: str) -> ApiKey:
        key = await self.session.get(ApiKey, key_id)
        # Another workspace's key is reported exactly like a missing one: ids are not an oracle.
        if key is None or key.workspace_id != workspace_id:
            raise PixelmillError(errors.NOT_FOUND, "API key not found", key_id=key_id)
        return key

    async def _working(self, workspace_id: str, key_id: str, now: datetime) -> ApiKey:
        """A key of the workspace that still authenticates; 409 KEY_REVOKED for one that no longer does."""
        key = await self._owned(workspace_id, key_id)
        status = key_status(key, now)
        if status in ("revoked", "expired"):
            raise PixelmillError(
                errors.KEY_REVOKED,
                f"API key {key_id} was {status}; it no longer works and cannot be changed",
                key_id=key_id,
                key_status=status,
            )
        return key

    async def revoke(self, principal: Principal, key_id: str) -> ApiKey:
        """Revoke a key of the caller's workspace, in its grace period too; it stops authenticating at
        once in this process (others: within auth_cache_ttl_seconds)."""
        principal.require_scope("keys")
        principal.require_role("admin")
        now = datetime.now(UTC)
        key = await self._working(principal.workspace_id, key_id, now)
        key.revoked_at = now
        await self.session.flush()
        if self.cache is not None:
            self.cache.forget_workspace_on_commit(self.session, principal.workspace_id)
        return key

    async def rotate(self, principal: Principal, plan: Plan, key_id: str, *, grace: timedelta) -> Rotation:
        """Create a key's replacement (same name, mode, scopes and creator); the old key keeps working
        for ``grace`` and then stops. One transaction; a key is rotated once (409 KEY_ALREADY_ROTATED
        names its replacement, which is the one to rotate next)."""
        now = datetime.now(UTC)
        key = await self._working(principal.workspace_id, key_id, now)
        if key.replaced_by is not None:
            raise PixelmillError(
                errors.KEY_ALREADY_ROTATED,
                f"API key {key_id} was already rotated; it works until {key.expires_at:%Y-%m-%dT%H:%M:%SZ} "
                f"and its replacement is {key.replaced_by}",
                key_id=key_id,
                replaced_by=key.replaced_by,
            )
        mode = cast(KeyMode, key.mode)
        self._authorise(principal, plan, mode, list(key.scopes))
        replacement = await self.create(
            key.workspace_id, name=key.name, mode=mode, scopes=list(key.scopes), created_by=key.created_by
        )
        key.replaced_by = replacement.row.id
        key.expires_at = now + grace
        await self.session.flush()
        if self.cache is not None:  # cached answers for the old key do not know it now expires
            self.cache.forget_workspace_on_commit(self.session, principal.workspace_id)
        return Rotation(replacement=replacement, previous=key)

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
        now = datetime.now(UTC)
        if found is None or key_status(found[0], now) in ("revoked", "expired"):
            raise PixelmillError(errors.UNAUTHENTICATED)
        key, plan = found
        # The key acts with its creator's role while the creator is still a member; a key whose
        # creator left keeps working for the workspace, as a member acting for nobody in particular.
        role: Role = "member"
        user_id: str | None = None
        is_operator = False
        if key.created_by is not None:
            member = await self.session.execute(
                select(Membership.role, User.is_operator)
                .join(User, User.id == Membership.user_id)
                .where(Membership.workspace_id == key.workspace_id, Membership.user_id == key.created_by)
            )
            row = member.first()
            if row is not None:
                role, is_operator, user_id = cast(Role, row[0]), bool(row[1]), key.created_by
        if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
            await self.session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
        return Principal(
            workspace_id=key.workspace_id,
            plan=plan,
            user_id=user_id,
            key_id=key.id,
            role=role,
            mode=cast(KeyMode, key.mode),
            scopes=frozenset(key.scopes or ALL_SCOPES),
            is_operator=is_operator,
            expires_at=key.expires_at,
        )
