"""The providers one workspace's runs use: the operator's, with each upstream keyed as that workspace
may use it.

Per upstream, the key in effect is the first of: the workspace's own saved key (source
``workspace``), the upstream's environment variable (``env``), the operator's saved key
(``config``). Saved keys are read from the database each time they are needed and opened with the
server secret, so a key set through the API serves a Celery worker's next run as well.

A keyed copy of an upstream is made once per (provider, SHA-256 of the key) and reused, so every
run with that key shares its pooled HTTP client; copies are closed at shutdown. A workspace with no
saved key gets the operator's registry itself.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pixelmill.config import Settings
from pixelmill.db.models.providers import OPERATOR_OWNER, ProviderKey
from pixelmill.db.session import Database
from pixelmill.providers.base import Provider, UpstreamProvider
from pixelmill.providers.key_vault import KeyVault, UnreadableKey
from pixelmill.providers.registry import ProviderRegistry

log = logging.getLogger(__name__)

KeySource = Literal["env", "config", "workspace"]


@dataclass(frozen=True, slots=True)
class KeyInEffect:
    """Which key an upstream uses for one workspace; ``row`` is the saved key (None for env)."""

    source: KeySource
    row: ProviderKey | None
    key: str | None  # the opened saved key; None for env (the adapter holds it)


def _fingerprint(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def saved_keys(session: AsyncSession, workspace_id: str) -> list[ProviderKey]:
    """The keys saved for ``workspace_id`` and the operator's, in one query."""
    rows = await session.scalars(select(ProviderKey).where(ProviderKey.owner.in_((workspace_id, OPERATOR_OWNER))))
    return list(rows)


class WorkspaceProviders:
    """Resolves and caches the keyed registries of workspaces (see the module docstring)."""

    def __init__(self, base: ProviderRegistry, settings: Settings) -> None:
        self.base = base
        self._settings = settings
        self._vault: KeyVault | None = None
        self._keyed: dict[tuple[str, str], UpstreamProvider] = {}
        self._derived: dict[tuple[tuple[str, str], ...], ProviderRegistry] = {}

    @property
    def vault(self) -> KeyVault:
        """Made on first use: deriving it reads (or creates) the server secret."""
        if self._vault is None:
            self._vault = KeyVault(self._settings.secret)
        return self._vault

    def in_effect(self, rows: Iterable[ProviderKey], workspace_id: str) -> dict[str, KeyInEffect]:
        """The key each upstream uses for ``workspace_id``, given its saved ``rows``; upstreams with
        none are absent. A saved key this secret cannot open is skipped (and logged, without it)."""
        by_owner: dict[tuple[str, str], ProviderKey] = {(row.owner, row.provider): row for row in rows}
        chosen: dict[str, KeyInEffect] = {}
        for provider_id in self.base.upstreams():
            own = self._opened(by_owner.get((workspace_id, provider_id)))
            if own is not None:
                chosen[provider_id] = KeyInEffect("workspace", *own)
            elif self.base.is_configured(provider_id):
                chosen[provider_id] = KeyInEffect("env", None, None)
            else:
                operator = self._opened(by_owner.get((OPERATOR_OWNER, provider_id)))
                if operator is not None:
                    chosen[provider_id] = KeyInEffect("config", *operator)
        return chosen

    def _opened(self, row: ProviderKey | None) -> tuple[ProviderKey, str] | None:
        if row is None:
            return None
        try:
            return row, self.vault.open(row.ciphertext)
        except UnreadableKey:
            log.warning(
                "the saved %s key of %s cannot be decrypted with this server secret; set it again",
                row.provider,
                row.owner,
                extra={"provider": row.provider, "owner": row.owner},
            )
            return None

    async def registry(self, session: AsyncSession, workspace_id: str) -> ProviderRegistry:
        """The registry ``workspace_id``'s runs use, read with ``session``."""
        effective = self.in_effect(await saved_keys(session, workspace_id), workspace_id)
        return self.keyed_registry({pid: found.key for pid, found in effective.items() if found.key is not None})

    async def registry_in(self, db: Database, workspace_id: str) -> ProviderRegistry:
        """:meth:`registry` in a read-only session of its own (the dispatcher's)."""
        async with db.reads() as session:
            return await self.registry(session, workspace_id)

    def keyed_registry(self, keys: Mapping[str, str]) -> ProviderRegistry:
        """The operator's registry with each upstream in ``keys`` calling with that key."""
        upstreams = self.base.upstreams()
        chosen = {pid: key for pid, key in keys.items() if pid in upstreams}
        if not chosen:
            return self.base
        signature = tuple(sorted((pid, _fingerprint(key)) for pid, key in chosen.items()))
        derived = self._derived.get(signature)
        if derived is None:
            replacements: dict[str, Provider] = {pid: self.keyed(upstreams[pid], key) for pid, key in chosen.items()}
            derived = self.base.with_upstreams(replacements)
            self._derived[signature] = derived
        return derived

    def keyed(self, upstream: UpstreamProvider, key: str) -> UpstreamProvider:
        """The one copy of ``upstream`` calling with ``key`` (made on first use)."""
        cache_key = (upstream.id, _fingerprint(key))
        copy = self._keyed.get(cache_key)
        if copy is None:
            copy = upstream.with_key(key)
            self._keyed[cache_key] = copy
        return copy

    async def aclose(self) -> None:
        """Close the keyed copies' pooled clients (the operator's are the base registry's to close)."""
        copies = list(self._keyed.values())
        self._keyed.clear()
        self._derived.clear()
        for copy in copies:
            await copy.aclose()
