"""FastAPI dependencies as ``Annotated`` aliases: ``RuntimeDep``, ``SessionDep``, ``PrincipalDep``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from pixelmill import errors
from pixelmill.config import Settings
from pixelmill.errors import PixelmillError
from pixelmill.runtime import Runtime
from pixelmill.services.auth import authenticate_bearer
from pixelmill.services.principal import Principal, Role


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_settings(runtime: RuntimeDep) -> Settings:
    return runtime.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    """One session per request, committed when the handler returns without error."""
    async with runtime.db.session() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]

_bearer = HTTPBearer(auto_error=False, description="An API key (pm_live_…, pm_test_…) or an access token")


async def get_principal(
    request: Request,
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise PixelmillError(errors.UNAUTHENTICATED, headers={"WWW-Authenticate": "Bearer"})
    async with runtime.db.session() as session:
        principal = await authenticate_bearer(session, runtime.settings.secret, credentials.credentials)
    request.scope.setdefault("state", {})["principal_id"] = principal.id
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_role(role: Role) -> object:
    """A dependency that refuses callers below ``role`` in their workspace."""

    async def check(principal: PrincipalDep) -> Principal:
        if not principal.has_role(role):
            raise PixelmillError(errors.INSUFFICIENT_ROLE, required_role=role)
        return principal

    return Depends(check)
