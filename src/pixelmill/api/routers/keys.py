"""API keys of the caller's workspace.

Managing keys needs the owner or admin role (and, when the caller is an API key, the ``keys``
scope); the workspace's plan must include API access to create or rotate one. The full key is in
the create and rotate responses only; lists show its prefix. Rotating keeps the old key working
for ``key_rotation_grace_seconds`` (its ``expires_at``); revoking ends any key at once.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from pixelmill import errors
from pixelmill.api.account_schemas import KeyCreated, KeyPublic, KeyRotated
from pixelmill.api.deps import PrincipalDep, RuntimeDep
from pixelmill.api.openapi import error_responses
from pixelmill.services.keys import ApiKeyService, CreatedKey, KeyMode
from pixelmill.services.principal import ALL_SCOPES
from pixelmill.wire import RequestModel

# Every key route needs the admin role (and the keys scope of an API key).
router = APIRouter(
    prefix="/v1/keys",
    tags=["keys"],
    responses=error_responses(errors.INSUFFICIENT_SCOPE, errors.INSUFFICIENT_ROLE, errors.PLAN_FORBIDS),
)


class KeyCreate(RequestModel):
    name: str = Field(min_length=1, max_length=200)
    mode: KeyMode = Field(default="live", description="`test` keys run against sandbox models and spend no credits")
    scopes: list[str] | None = Field(
        default=None, description=f"A subset of {', '.join(ALL_SCOPES)}; omitted means every scope"
    )


class KeyList(BaseModel):
    data: list[KeyPublic]


def _created(created: CreatedKey) -> KeyCreated:
    return KeyCreated(**KeyPublic.of(created.row).model_dump(), key=created.secret)


@router.post("", operation_id="create_key", status_code=status.HTTP_201_CREATED)
async def create_key(body: KeyCreate, principal: PrincipalDep, runtime: RuntimeDep) -> KeyCreated:
    """Create a key; the response holds the full key, shown this once."""
    plan = runtime.settings.plan(principal.plan)
    async with runtime.db.session() as session:
        created = await ApiKeyService(session, runtime.auth_cache).issue(
            principal, plan, name=body.name, mode=body.mode, scopes=body.scopes
        )
    return _created(created)


@router.get("", operation_id="list_keys")
async def list_keys(principal: PrincipalDep, runtime: RuntimeDep) -> KeyList:
    """Working keys of the workspace, newest first: active ones, and rotated ones until their expires_at."""
    principal.require_scope("keys")
    principal.require_role("admin")
    async with runtime.db.session() as session:
        keys = await ApiKeyService(session).list(principal.workspace_id)
    return KeyList(data=[KeyPublic.of(key) for key in keys])


@router.get("/{key_id}", operation_id="get_key")
async def get_key(key_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> KeyPublic:
    """One key, whatever its status: a rotated key says when it stops working and what replaced it."""
    async with runtime.db.session() as session:
        key = await ApiKeyService(session).get(principal, key_id)
    return KeyPublic.of(key)


@router.delete("/{key_id}", operation_id="revoke_key", responses=error_responses(errors.KEY_REVOKED))
async def revoke_key(key_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> KeyPublic:
    """Revoke a key, in its rotation grace period too: it stops authenticating at once (other API
    processes: within auth_cache_ttl_seconds); 409 KEY_REVOKED when it already stopped working."""
    async with runtime.db.session() as session:
        key = await ApiKeyService(session, runtime.auth_cache).revoke(principal, key_id)
    return KeyPublic.of(key)


@router.post(
    "/{key_id}/rotate",
    operation_id="rotate_key",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(errors.KEY_REVOKED, errors.KEY_ALREADY_ROTATED),
)
async def rotate_key(key_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> KeyRotated:
    """Return a replacement with the same name, mode and scopes; the old key keeps working until its
    expires_at (key_rotation_grace_seconds), so clients can switch without downtime. 409 KEY_REVOKED
    for a revoked or expired key, 409 KEY_ALREADY_ROTATED for one already replaced."""
    plan = runtime.settings.plan(principal.plan)
    grace = timedelta(seconds=runtime.settings.key_rotation_grace_seconds)
    async with runtime.db.session() as session:
        rotation = await ApiKeyService(session, runtime.auth_cache).rotate(principal, plan, key_id, grace=grace)
    return KeyRotated(**_created(rotation.replacement).model_dump(), previous=KeyPublic.of(rotation.previous))
