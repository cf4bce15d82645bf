"""A short-lived, in-process memory of who a credential belongs to.

Resolving an API key costs a database round trip; most callers send the same key many times a
second, so the answer is kept for ``ttl_seconds`` (``Settings.auth_cache_ttl_seconds``). Every
change that could alter the answer (revoking or rotating a key, a plan change, a member's role
changing or being removed) forgets the workspace's entries *in this process* as soon as it
commits. Other API processes keep their entry until it expires, so a revocation takes up to
``ttl_seconds`` to apply there; a TTL of 0 turns the cache off for deployments that cannot
accept that delay.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from datetime import UTC, datetime

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from pixelmill.services.principal import Principal


class PrincipalCache:
    """Credential fingerprint -> Principal, bounded in size and age."""

    def __init__(self, ttl_seconds: float = 10.0, max_entries: int = 10_000) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float, Principal]] = OrderedDict()

    def get(self, fingerprint: str) -> Principal | None:
        entry = self._entries.get(fingerprint)
        if entry is None:
            return None
        expires, principal = entry
        if time.monotonic() >= expires:
            del self._entries[fingerprint]
            return None
        return principal

    def put(self, fingerprint: str, principal: Principal) -> None:
        """Remember ``principal`` for ttl_seconds, or until its credential expires if that is sooner."""
        ttl = self.ttl_seconds
        if principal.expires_at is not None:
            ttl = min(ttl, (principal.expires_at - datetime.now(UTC)).total_seconds())
        if ttl <= 0:
            return
        self._entries[fingerprint] = (time.monotonic() + ttl, principal)
        self._entries.move_to_end(fingerprint)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def forget(self, fingerprint: str) -> None:
        self._entries.pop(fingerprint, None)

    def forget_workspace(self, workspace_id: str) -> None:
        """Drop every entry acting in ``workspace_id``; called after any change to its keys or members."""
        stale = [fp for fp, (_, principal) in self._entries.items() if principal.workspace_id == workspace_id]
        for fingerprint in stale:
            del self._entries[fingerprint]

    def forget_workspace_on_commit(self, session: AsyncSession, workspace_id: str) -> None:
        """Forget ``workspace_id``'s entries once ``session`` commits.

        Forgetting before the commit would let a concurrent request re-read and re-cache the old
        state in between; after the commit, every fresh read sees the change.
        """

        def forget(_session: Session) -> None:
            self.forget_workspace(workspace_id)

        event.listen(session.sync_session, "after_commit", forget, once=True)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
