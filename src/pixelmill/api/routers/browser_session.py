"""The console's browser session: sign in with a password or a one-time link, switch workspace, sign out.

Each route that opens a session sets two cookies (see ``pixelmill.api.browser_session``): the
httpOnly session holding an access token, and the CSRF token the console echoes on unsafe
requests. Clients that are not browsers keep using bearer credentials; these routes add nothing
a client could not do with ``POST /v1/auth/login``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from pixelmill import errors
from pixelmill.api.browser_session import SESSION_COOKIE, clear_session, session_credential, set_session
from pixelmill.api.deps import ClientAddressDep, PrincipalDep, RuntimeDep
from pixelmill.api.openapi import error_responses
from pixelmill.api.routers.auth import access_token, verify_login
from pixelmill.errors import PixelmillError
from pixelmill.runtime import Runtime
from pixelmill.services.auth import Authenticator, principal_for_user
from pixelmill.services.passwords import MAX_PASSWORD_LENGTH
from pixelmill.services.sign_in_links import SIGN_IN_LINK_PATH, SignInLinks
from pixelmill.services.tokens import decode_access_token
from pixelmill.wire import RequestModel

router = APIRouter(prefix="/v1/auth/session", tags=["auth"])


class SessionCreate(RequestModel):
    # A plain string, as in the OAuth2 login: the first start's operator@localhost is no EmailStr.
    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)
    workspace_id: str | None = Field(default=None, description="Workspace to act in; default your personal one")


class SessionSwitch(RequestModel):
    workspace_id: str = Field(description="One of your workspaces")


class SessionPublic(BaseModel):
    """The session just opened; the access token itself stays in the httpOnly cookie."""

    workspace_id: str
    expires_in: int
    csrf_token: str = Field(description="Echo in X-CSRF-Token on unsafe requests (also in the pixelmill_csrf cookie)")


class SessionState(BaseModel):
    """Whether the browser holds a live session; lets the console tell "signed out" from an error."""

    signed_in: bool
    workspace_id: str | None = None
    expires_at: datetime | None = None


def _open(request: Request, response: Response, runtime: Runtime, user_id: str, workspace_id: str) -> SessionPublic:
    token = access_token(runtime, user_id, workspace_id)
    csrf = set_session(response, request, runtime.settings.secret, token.access_token, token.expires_in)
    return SessionPublic(workspace_id=workspace_id, expires_in=token.expires_in, csrf_token=csrf)


@router.post(
    "",
    operation_id="create_session",
    responses=error_responses(errors.INVALID_CREDENTIALS, errors.NOT_FOUND, errors.LOGIN_THROTTLED),
)
async def create_session(
    body: SessionCreate, request: Request, response: Response, runtime: RuntimeDep, client: ClientAddressDep
) -> SessionPublic:
    """Sign a browser in with email and password: the same checks and throttling as the OAuth2 login,
    answered with cookies instead of a token in the body."""
    target = await verify_login(runtime, client, body.email, body.password, body.workspace_id)
    return _open(request, response, runtime, target.user_id, target.workspace_id)


@router.get("", operation_id="get_session")
async def get_session(request: Request, runtime: RuntimeDep) -> SessionState:
    """The session cookie's state, 200 either way: a console starting signed out is not an error.
    Membership is checked by the requests that act (``/v1/auth/me`` first)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return SessionState(signed_in=False)
    try:
        claims = decode_access_token(runtime.settings.secret, token)
    except PixelmillError:
        return SessionState(signed_in=False)
    return SessionState(
        signed_in=True, workspace_id=str(claims["ws"]), expires_at=datetime.fromtimestamp(claims["exp"], UTC)
    )


@router.put(
    "",
    operation_id="switch_session_workspace",
    responses=error_responses(errors.CSRF_FAILED, errors.FORBIDDEN, errors.NOT_FOUND),
)
async def switch_session_workspace(
    body: SessionSwitch, request: Request, response: Response, principal: PrincipalDep, runtime: RuntimeDep
) -> SessionPublic:
    """Act in another of your workspaces from now on (404 if you are not a member)."""
    user_id = principal.require_user()
    async with runtime.db.reads() as session:
        if await principal_for_user(session, user_id, body.workspace_id) is None:
            raise PixelmillError(errors.NOT_FOUND, "You are not a member of this workspace", field="workspace_id")
    return _open(request, response, runtime, user_id, body.workspace_id)


@router.delete(
    "",
    operation_id="delete_session",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(errors.CSRF_FAILED),
)
async def delete_session(request: Request, runtime: RuntimeDep) -> Response:
    """Sign the browser out: both cookies are expired and the access token inside is revoked, so a
    copy of the cookie taken earlier stops working too."""
    token = session_credential(request, runtime.settings.secret)  # refuses a forged sign-out (CSRF)
    if token is not None:
        await Authenticator(runtime.db, runtime.settings.secret, runtime.auth_cache).revoke(token)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_session(response, request)
    return response


@router.get(
    SIGN_IN_LINK_PATH.removeprefix("/v1/auth/session"),
    operation_id="redeem_sign_in_link",
    response_class=RedirectResponse,
    status_code=303,
)
async def redeem_sign_in_link(
    request: Request, runtime: RuntimeDep, token: Annotated[str, Query(min_length=1, max_length=200)]
) -> RedirectResponse:
    """Follow a one-time sign-in link (printed by a loopback server's first start): it opens a
    session and goes to the console; a used, expired or unknown link goes to the sign-in page,
    which says so."""
    try:
        async with runtime.db.session() as session:
            holder = await SignInLinks(session).redeem(token)
            allowed = await principal_for_user(session, holder.user_id, holder.workspace_id) is not None
    except PixelmillError as exc:
        if exc.spec is not errors.SIGN_IN_LINK_INVALID:
            raise
        allowed = False
    if not allowed:
        return RedirectResponse(f"/sign-in?error={errors.SIGN_IN_LINK_INVALID.code}", status_code=303)
    response = RedirectResponse("/", status_code=303)
    _open(request, response, runtime, holder.user_id, holder.workspace_id)
    return response
