"""Who is calling: the authenticated identity every service call is scoped by."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Role = Literal["owner", "admin", "member"]
ROLE_RANK: dict[str, int] = {"member": 0, "admin": 1, "owner": 2}

# Scopes an API key can carry; a key with no explicit scopes gets all of them.
ALL_SCOPES: tuple[str, ...] = ("runs", "workflows", "files", "keys", "credits", "webhooks", "workspace")


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller acting inside one workspace.

    ``key_id`` is set when the caller used an API key, ``user_id`` when a person is behind it
    (a JWT, or the key's creator). ``mode`` is ``test`` only for ``pm_test_`` keys.
    """

    workspace_id: str
    plan: str
    user_id: str | None = None
    key_id: str | None = None
    role: Role = "member"
    mode: Literal["live", "test"] = "live"
    scopes: frozenset[str] = field(default_factory=lambda: frozenset(ALL_SCOPES))
    is_operator: bool = False

    @property
    def id(self) -> str:
        """A stable id for rate limiting and logs: the key when one was used, else the user."""
        return self.key_id or self.user_id or self.workspace_id

    def has_role(self, role: Role) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role]
