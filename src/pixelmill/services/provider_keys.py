"""Upstream keys through the API: what each upstream uses for the caller's workspace, and saving
or removing the workspace's own key or the operator's.

A key is checked against its upstream (``check_key``) before it is saved, and a refused key is not
saved (PROVIDER_KEY_REJECTED). Keys are sealed at rest (providers/key_vault.py), and only their
masked form is ever shown or logged. Workspace keys are set by workspace admins; operator keys,
which serve every workspace without a key of its own, by the operator. A key from the upstream's
environment variable is the operator's to change in the environment: ENV_KEY_IMMUTABLE here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from pixelmill import errors
from pixelmill.db.base import utcnow
from pixelmill.db.models.providers import OPERATOR_OWNER, ProviderKey
from pixelmill.errors import PixelmillError
from pixelmill.ids import new_id
from pixelmill.providers.base import UpstreamProvider
from pixelmill.providers.key_vault import mask_key
from pixelmill.services.principal import Principal
from pixelmill.services.workspace_providers import KeySource, saved_keys

if TYPE_CHECKING:
    from pixelmill.runtime import Runtime

log = logging.getLogger(__name__)

KeyScope = Literal["workspace", "operator"]


@dataclass(frozen=True, slots=True)
class ProviderStatus:
    """One upstream as the caller's workspace sees it."""

    id: str
    configured: bool  # a key serves this workspace
    valid: bool | None  # the last check of the key in effect; None when never checked (env keys)
    masked_key: str | None
    source: KeySource | None
    key_env: str
    models: list[str]


def key_text_problem(key: str) -> str | None:
    """Why ``key`` cannot be a key, or None: a key is one token of printable ASCII (it goes into a
    header as it is), or a JSON document (a service account), where whitespace is allowed."""
    if not key:
        return "The key is empty"
    if not key.isascii():
        return "A key is ASCII text"
    spaces = " \t\r\n" if key.startswith("{") else ""
    if all((char.isprintable() and not char.isspace()) or char in spaces for char in key):
        return None
    return "A key has no spaces or control characters (a JSON document may span lines)"


class ProviderKeyService:
    """List upstreams with their keys, save and remove keys (see the module docstring)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.resolver = runtime.workspace_providers

    def _upstream(self, provider_id: str) -> UpstreamProvider:
        upstream = self.resolver.base.upstreams().get(provider_id)
        if upstream is None:
            known = sorted(self.resolver.base.upstreams())
            raise PixelmillError(
                errors.NOT_FOUND,
                f"Unknown provider {provider_id!r}; providers that take keys: {', '.join(known)}",
                provider=provider_id,
            )
        return upstream

    def _owner(self, principal: Principal, scope: KeyScope | None) -> str:
        """Whose key a change is about, once the caller may change it; no scope means the operator's
        for the operator and the workspace's for everybody else."""
        principal.require_scope("workspace")
        chosen = scope or ("operator" if principal.is_operator else "workspace")
        if chosen == "operator":
            if not principal.is_operator:
                raise PixelmillError(errors.FORBIDDEN, "Only the operator sets keys that serve every workspace")
            return OPERATOR_OWNER
        principal.require_role("admin")
        return principal.workspace_id

    def _env_immutable(self, provider_id: str, upstream: UpstreamProvider) -> PixelmillError:
        return PixelmillError(
            errors.ENV_KEY_IMMUTABLE,
            f"The {provider_id} key comes from {upstream.key_env} in the server's environment; change it there",
            provider=provider_id,
            key_env=upstream.key_env,
        )

    async def list(self, principal: Principal) -> list[ProviderStatus]:
        """Every upstream with the key it uses for the caller's workspace. A key that is not the
        workspace's own shows its masked form to the operator only."""
        async with self.runtime.db.reads() as session:
            rows = await saved_keys(session, principal.workspace_id)
        effective = self.resolver.in_effect(rows, principal.workspace_id)
        statuses = []
        for provider_id, upstream in sorted(self.resolver.base.upstreams().items()):
            found = effective.get(provider_id)
            row = found.row if found is not None else None
            own = found is not None and found.source == "workspace"
            masked = None
            if row is not None and (own or principal.is_operator):
                masked = row.masked
            elif found is not None and found.source == "env" and principal.is_operator:
                masked = upstream.key_hint()
            statuses.append(
                ProviderStatus(
                    id=provider_id,
                    configured=found is not None,
                    valid=row.valid if row is not None else None,
                    masked_key=masked,
                    source=found.source if found is not None else None,
                    key_env=upstream.key_env,
                    models=[info.id for info in upstream.models()],
                )
            )
        return statuses

    async def status(self, principal: Principal, provider_id: str) -> ProviderStatus:
        return next(status for status in await self.list(principal) if status.id == provider_id)

    async def set_key(self, principal: Principal, provider_id: str, key: str, scope: KeyScope | None) -> ProviderStatus:
        """Check ``key`` against the upstream, then save it sealed; a refused key is not saved."""
        upstream = self._upstream(provider_id)
        owner = self._owner(principal, scope)
        if owner == OPERATOR_OWNER and self.resolver.base.is_configured(provider_id):
            raise self._env_immutable(provider_id, upstream)
        key = key.strip()
        problem = key_text_problem(key)
        if problem is not None:
            raise PixelmillError(errors.INVALID_INPUT, problem, field="key", provider=provider_id)
        await self._check(provider_id, upstream, key)
        sealed, masked = self.resolver.vault.seal(key), mask_key(key)
        for attempt in (1, 2):
            try:
                await self._save(owner, provider_id, sealed, masked, principal.user_id)
                break
            except IntegrityError:  # a concurrent PUT inserted the row first: update it instead
                if attempt == 2:
                    raise
        log.info(
            "upstream key saved",
            extra={"provider": provider_id, "owner": owner, "user_id": principal.user_id, "masked_key": masked},
        )
        return await self.status(principal, provider_id)

    async def _save(self, owner: str, provider_id: str, sealed: str, masked: str, user_id: str | None) -> None:
        now = utcnow()
        async with self.runtime.db.session() as session:
            row = await session.scalar(
                select(ProviderKey).where(ProviderKey.owner == owner, ProviderKey.provider == provider_id)
            )
            if row is None:
                row = ProviderKey(
                    id=new_id("pkey"),
                    owner=owner,
                    workspace_id=None if owner == OPERATOR_OWNER else owner,
                    provider=provider_id,
                )
                session.add(row)
            row.ciphertext = sealed
            row.masked = masked
            row.set_by = user_id
            row.set_at = now
            row.checked_at = now
            row.valid = True

    async def _check(self, provider_id: str, upstream: UpstreamProvider, key: str) -> None:
        """PROVIDER_KEY_REJECTED when the upstream refuses ``key``; an upstream that cannot be
        reached answers its own error (the key may be fine: nothing is saved either way)."""
        try:
            candidate = upstream.with_key(key)
        except ValueError:  # an adapter that reads the key (a service-account document) found it unusable
            raise PixelmillError(
                errors.PROVIDER_KEY_REJECTED,
                f"{provider_id} cannot use this key; it was not saved",
                field="key",
                provider=provider_id,
            ) from None
        try:
            await candidate.check_key()
        except PixelmillError as exc:
            if exc.spec is not errors.UPSTREAM_AUTH_FAILED:
                raise
            raise PixelmillError(
                errors.PROVIDER_KEY_REJECTED,
                f"{provider_id} refused the key; it was not saved",
                field="key",
                provider=provider_id,
                **{name: exc.extra[name] for name in ("upstream_status", "upstream_code") if name in exc.extra},
            ) from None
        finally:
            await candidate.aclose()

    async def remove_key(self, principal: Principal, provider_id: str, scope: KeyScope | None) -> None:
        """Remove the saved key of the scope; the key in effect coming from the environment is 409."""
        upstream = self._upstream(provider_id)
        owner = self._owner(principal, scope)
        async with self.runtime.db.session() as session:
            row = await session.scalar(
                select(ProviderKey).where(ProviderKey.owner == owner, ProviderKey.provider == provider_id)
            )
            if row is None:
                if self.resolver.base.is_configured(provider_id):
                    raise self._env_immutable(provider_id, upstream)
                whose = "the operator" if owner == OPERATOR_OWNER else "this workspace"
                raise PixelmillError(
                    errors.NOT_FOUND, f"No {provider_id} key is saved for {whose}", provider=provider_id
                )
            await session.delete(row)
        log.info("upstream key removed", extra={"provider": provider_id, "owner": owner, "user_id": principal.user_id})
