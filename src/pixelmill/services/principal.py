"""Who is calling: the authenticated identity every service call is scoped by."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from pixelmill import errors
from pixelmill.errors import PixelmillError

Role = Literal["owner", "admin", "member"]
ROLES: tuple[Role, ...] = ("owner", "admin", "member")
ROLE_RANK: dict[str, int] = {"member": 0, "admin": 1, "owner": 2}

# Scopes an API key can carry; a key with no explicit scopes gets all of them.
ALL_SCOPES: tuple[str, ...] = ("runs", "workflows", "files", "keys", "credits", "webhooks", "workspace")


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller acting inside one workspace.

    ``key_id`` is set when the caller used an API key, ``user_id`` when a person is behind it
    (a JWT, or the key's creator). ``mode`` is ``test`` only for ``pm_test_`` keys. Access tokens
    carry every scope; a key carries the scopes it was created with. ``expires_at`` is when the
    credential stops working on its own (a rotated key's grace period), so no cache outlives it.
    """

    workspace_id: str
    plan: str
    user_id: str | None = None
    key_id: str | None = None
    role: Role = "member"
    mode: Literal["live", "test"] = "live"
    scopes: frozenset[str] = field(default_factory=lambda: frozenset(ALL_SCOPES))
    is_operator: bool = False
    expires_at: datetime | None = None

    @property
    def id(self) -> str:
        """A stable id for rate limiting and logs: the key when one was used, else the user."""
        return self.key_id or self.user_id or self.workspace_id

    @property
    def via_key(self) -> bool:
        return self.key_id is not None

    def has_role(self, role: Role) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role]

    def require_role(self, role: Role) -> None:
        """403 INSUFFICIENT_ROLE unless the caller's role in the workspace is at least ``role``."""
        if not self.has_role(role):
            raise PixelmillError(
                errors.INSUFFICIENT_ROLE,
                f"This needs the {role} role in the workspace; you are {self.role}",
                required_role=role,
                role=self.role,
            )

    def require_scope(self, scope: str) -> None:
        """403 INSUFFICIENT_SCOPE when an API key without ``scope`` is used."""
        if scope not in self.scopes:
            raise PixelmillError(
                errors.INSUFFICIENT_SCOPE, f"This API key lacks the '{scope}' scope", required_scope=scope
            )

    def require_user(self) -> str:
        """The person behind the call; a key whose creator is gone acts for nobody in particular."""
        if self.user_id is None:
            raise PixelmillError(errors.FORBIDDEN, "This needs a user's access token or a user's API key")
        return self.user_id
