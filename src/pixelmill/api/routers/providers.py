"""Upstream providers and their keys: which upstreams serve the caller's workspace, with which key
(masked), and setting or removing the workspace's own key or the operator's.

A key is checked against its upstream before it is saved; it is never returned, only its masked
form (``sk-…WXYZ``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from pixelmill import errors
from pixelmill.api.deps import PrincipalDep, RuntimeDep
from pixelmill.api.openapi import error_responses
from pixelmill.services.provider_keys import KeyScope, ProviderKeyService, ProviderStatus
from pixelmill.wire import RequestModel

router = APIRouter(prefix="/v1/providers", tags=["providers"])

# What changing a key can answer besides the errors every authenticated route has.
_CHANGE = (errors.INSUFFICIENT_SCOPE, errors.INSUFFICIENT_ROLE, errors.FORBIDDEN, errors.ENV_KEY_IMMUTABLE)
_SET = (
    *_CHANGE,
    errors.PROVIDER_KEY_REJECTED,
    errors.INVALID_INPUT,
    errors.UPSTREAM_UNAVAILABLE,
    errors.UPSTREAM_TIMEOUT,
    errors.UPSTREAM_RATE_LIMITED,
)
SCOPE_DESCRIPTION = (
    "Whose key: `workspace` (the caller's workspace, for its admins) or `operator` (serves every workspace "
    "without its own, for the operator); default `operator` for the operator, else `workspace`"
)


class ProviderPublic(BaseModel):
    """One upstream as the caller's workspace sees it."""

    id: str
    configured: bool = Field(description="Whether a key serves this workspace, so its models are usable")
    valid: bool | None = Field(description="Result of the last check of the key in effect; null when never checked")
    masked_key: str | None = Field(description="The key in effect, masked; the operator's shown to the operator only")
    source: Literal["env", "config", "workspace"] | None = Field(
        description="Where the key in effect comes from: environment variable, operator's saved key, workspace's own"
    )
    key_env: str = Field(description="The upstream's environment variable for the operator's key")
    models: list[str] = Field(description="Model ids this provider serves with a key")

    @classmethod
    def of(cls, item: ProviderStatus) -> ProviderPublic:
        return cls(
            id=item.id,
            configured=item.configured,
            valid=item.valid,
            masked_key=item.masked_key,
            source=item.source,
            key_env=item.key_env,
            models=item.models,
        )


class ProviderList(BaseModel):
    data: list[ProviderPublic]


class ProviderKeySet(RequestModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1, max_length=16384, description="The upstream's API key; never shown again")
    scope: KeyScope | None = Field(default=None, description=SCOPE_DESCRIPTION)


@router.get("", operation_id="list_providers")
async def list_providers(principal: PrincipalDep, runtime: RuntimeDep) -> ProviderList:
    """Every upstream provider, whether it serves this workspace and with which key."""
    statuses = await ProviderKeyService(runtime).list(principal)
    return ProviderList(data=[ProviderPublic.of(item) for item in statuses])


@router.put(
    "/{provider_id}/key",
    operation_id="set_provider_key",
    responses=error_responses(*_SET),
)
async def set_provider_key(
    provider_id: str, body: ProviderKeySet, principal: PrincipalDep, runtime: RuntimeDep
) -> ProviderPublic:
    """Check the key against the upstream and save it (encrypted); a refused key is not saved."""
    item = await ProviderKeyService(runtime).set_key(principal, provider_id, body.key, body.scope)
    return ProviderPublic.of(item)


@router.delete(
    "/{provider_id}/key",
    operation_id="remove_provider_key",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(*_CHANGE),
)
async def remove_provider_key(
    provider_id: str,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    scope: Annotated[KeyScope | None, Query(description=SCOPE_DESCRIPTION)] = None,
) -> Response:
    """Remove a saved key; the workspace falls back to the environment's or the operator's key."""
    await ProviderKeyService(runtime).remove_key(principal, provider_id, scope)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
