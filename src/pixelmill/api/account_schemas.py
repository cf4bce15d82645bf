"""Public request and response shapes shared by the account routers (auth, keys, workspaces)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal, cast

from pydantic import BaseModel, Field

from pixelmill.config import Plan
from pixelmill.db.models import ApiKey
from pixelmill.services.keys import KeyMode, KeyStatus, key_status
from pixelmill.services.principal import Role
from pixelmill.services.workspaces import WorkspaceView

WorkspaceKind = Literal["personal", "team"]


class UserPublic(BaseModel):
    id: str
    email: str
    name: str
    is_operator: bool


class WorkspacePublic(BaseModel):
    id: str
    name: str
    kind: WorkspaceKind
    plan: str
    role: Role = Field(description="Your role in this workspace")
    created_at: datetime

    @classmethod
    def of(cls, view: WorkspaceView) -> WorkspacePublic:
        kind = cast(WorkspaceKind, view.kind)
        return cls(id=view.id, name=view.name, kind=kind, plan=view.plan, role=view.role, created_at=view.created_at)


class PlanPublic(Plan):
    name: str


class AccessToken(BaseModel):
    """The OAuth2 password-flow answer, plus how long the token lives and where it acts."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (the OAuth2 token type, not a secret)
    expires_in: int = Field(description="Seconds until the token expires")
    workspace_id: str = Field(description="The workspace this token acts in (its `ws` claim)")


class KeyPublic(BaseModel):
    """An API key as lists show it: never the secret, never its hash."""

    id: str
    name: str
    prefix: str = Field(description="The first characters of the key, to recognise it")
    mode: KeyMode
    scopes: list[str] = Field(description="Explicit scopes; empty means every scope")
    created_at: datetime
    last_used_at: datetime | None = Field(description="Updated at most once a minute")
    revoked_at: datetime | None = None
    status: KeyStatus = Field(
        default="active",
        description="active; rotating (replaced, still working until expires_at); expired; revoked",
    )
    expires_at: datetime | None = Field(
        default=None, description="When a rotated key stops working (its grace period ends); null: it does not expire"
    )
    replaced_by: str | None = Field(default=None, description="Id of the key that replaced this one by rotation")

    @classmethod
    def of(cls, key: ApiKey) -> KeyPublic:
        return cls(
            id=key.id,
            name=key.name,
            prefix=key.prefix,
            mode=cast(KeyMode, key.mode),
            scopes=list(key.scopes),
            created_at=key.created_at,
            last_used_at=key.last_used_at,
            revoked_at=key.revoked_at,
            status=key_status(key, datetime.now(UTC)),
            expires_at=key.expires_at,
            replaced_by=key.replaced_by,
        )


class KeyCreated(KeyPublic):
    key: str = Field(description="The full key. It is shown only in this response; store it now")


class KeyRotated(KeyCreated):
    """The replacement key, with the key it replaces as that one now stands."""

    previous: KeyPublic = Field(description="The rotated key: status rotating, working until its expires_at")


class Message(BaseModel):
    status: str
    message: str
