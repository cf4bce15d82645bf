"""FastAPI dependencies as ``Annotated`` aliases: ``RuntimeDep``, ``SessionDep``, ``PrincipalDep``.

``PrincipalDep`` is the one door to every authenticated route: it resolves the bearer credential
(or, without one, the console's session cookie, CSRF-checked on unsafe methods) and counts the
request against the plan's per-minute quota, so no authenticated route can forget the rate limit.
The ``RateLimit``/``RateLimit-Policy`` fields it computes are added to whatever response the route
produces by ``RateLimitHeadersMiddleware``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.base import SecurityBase
from sqlalchemy.ext.asyncio import AsyncSession

from pixelmill import errors
from pixelmill.api.browser_session import session_credential
from pixelmill.api.ratelimit import RATE_LIMIT_STATE_KEY
from pixelmill.config import Settings, is_loopback_host
from pixelmill.errors import PixelmillError
from pixelmill.runtime import Runtime
from pixelmill.services.auth import Authenticator
from pixelmill.services.principal import Principal

# Dependencies are ``async def`` even when they do not await: FastAPI runs a plain ``def`` dependency
# in a worker thread, which costs more than everything authentication does.


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_settings(runtime: RuntimeDep) -> Settings:
    return runtime.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    """One session per request, committed when the handler returns without error."""
    async with runtime.db.session() as session:
        yield session


# scope="function": commit before the response is sent, so a client never holds an answer whose
# writes it cannot read yet (FastAPI's default ends yield dependencies after the response).
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


_bearer = HTTPBearer(auto_error=False, description="An API key (pm_live_…, pm_test_…) or an access token")


async def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    *,
    console: bool = False,
) -> Principal:
    """The authenticated caller, after counting this request against their plan's rate limit.

    Routes take it as ``PrincipalDep``; a route that authenticates only sometimes (signed links)
    calls it directly with the credentials it read. ``console``: the credential came from the
    browser session cookie, whose requests count in a bucket of their own with at least
    ``console_requests_per_minute``.
    """
    runtime: Runtime = request.app.state.runtime
    authenticator = Authenticator(runtime.db, runtime.settings.secret, runtime.auth_cache)
    if credentials is None or not credentials.credentials:
        principal = await _anonymous_principal(request, runtime, authenticator)
    else:
        try:
            principal = await authenticator.authenticate(credentials.credentials)
        except PixelmillError as exc:
            if exc.status == 401:
                exc.headers.setdefault("WWW-Authenticate", "Bearer")
            raise
    state = request.scope.setdefault("state", {})
    state["principal_id"] = principal.id
    plan = runtime.settings.plan(principal.plan)
    if console:
        quota = max(plan.requests_per_minute, runtime.settings.console_requests_per_minute)
        limit = await runtime.limiter.hit(f"console:{principal.id}", quota)
    else:
        limit = await runtime.limiter.hit(principal.id, plan.requests_per_minute)
    state[RATE_LIMIT_STATE_KEY] = limit
    if not limit.allowed:
        raise PixelmillError(
            errors.RATE_LIMITED,
            f"The {principal.plan} plan allows {limit.quota} requests per minute; retry in {limit.reset_seconds} s",
            headers=limit.headers(),
            retry_after=limit.reset_seconds,
            limit=limit.quota,
        )
    return principal


async def _anonymous_principal(request: Request, runtime: Runtime, authenticator: Authenticator) -> Principal:
    """The operator in single-user mode (``anonymous_loopback``, a loopback server, a loopback peer);
    401 otherwise. The peer is checked too, so a misconfigured proxy in front cannot widen it."""
    peer = request.client.host if request.client else ""
    if runtime.settings.anonymous_loopback and is_loopback_host(peer):
        principal = await authenticator.anonymous()
        if principal is not None:
            return principal
    raise PixelmillError(errors.UNAUTHENTICATED, headers={"WWW-Authenticate": "Bearer"})


class BearerAuthentication(SecurityBase):
    """``get_principal`` as one dependency that reads the header itself.

    This runs on every authenticated request, and each sub-dependency FastAPI resolves (the
    HTTPBearer scheme, the Request) costs about as much as the key lookup and the rate limit
    together. Being a SecurityBase, it still appears in the OpenAPI document as the bearer scheme.
    """

    def __init__(self) -> None:
        self.model = _bearer.model
        self.scheme_name = _bearer.scheme_name

    async def __call__(self, request: Request) -> Principal:
        scheme, _, credential = request.headers.get("authorization", "").partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            # A browser session stands in for the header; an explicit bearer always wins over it.
            cookie = session_credential(request, request.app.state.runtime.settings.secret)
            if cookie is not None:
                credentials = HTTPAuthorizationCredentials(scheme="Bearer", credentials=cookie)
                return await get_principal(request, credentials, console=True)
        credentials = HTTPAuthorizationCredentials(scheme=scheme, credentials=credential)
        return await get_principal(request, credentials if scheme.lower() == "bearer" else None)


PrincipalDep = Annotated[Principal, Depends(BearerAuthentication())]


async def get_client_address(request: Request) -> str:
    """The peer address as the server sees it (a reverse proxy's address when behind one)."""
    return request.client.host if request.client else "unknown"


ClientAddressDep = Annotated[str, Depends(get_client_address)]
