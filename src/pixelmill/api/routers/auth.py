"""Accounts over HTTP: sign-up, OAuth2 password login, workspace switching, me, password reset.

An access token (JWT) acts in one workspace, named by its ``ws`` claim. Log in with the optional
form field ``workspace_id`` to pick it (default: your personal workspace), or exchange a token for
one acting in another of your workspaces with ``POST /v1/auth/token``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Form, status
from pydantic import BaseModel, EmailStr, Field

from pixelmill import errors
from pixelmill.api.account_schemas import AccessToken, Message, PlanPublic, UserPublic, WorkspacePublic
from pixelmill.api.deps import ClientAddressDep, PrincipalDep, RuntimeDep
from pixelmill.api.openapi import error_responses
from pixelmill.errors import PixelmillError
from pixelmill.runtime import Runtime
from pixelmill.services.accounts import AccountService
from pixelmill.services.auth import principal_for_user
from pixelmill.services.credits import CreditLedger
from pixelmill.services.mail import Mailer, password_reset_mail
from pixelmill.services.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from pixelmill.services.principal import Principal, Role
from pixelmill.services.tokens import issue_access_token
from pixelmill.services.workspaces import WorkspaceService, WorkspaceView
from pixelmill.wire import RequestModel

router = APIRouter(prefix="/v1/auth", tags=["auth"])

Password = Annotated[str, Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)]


class SignupRequest(RequestModel):
    email: EmailStr
    password: Password
    name: str = Field(default="", max_length=200)


class SignupResponse(AccessToken):
    user: UserPublic
    workspace: WorkspacePublic


class TokenRequest(RequestModel):
    workspace_id: str = Field(description="One of your workspaces; the new token acts in it")


class AuthInfo(BaseModel):
    method: Literal["api_key", "access_token"]
    key_id: str | None
    mode: Literal["live", "test"]
    scopes: list[str]


class MeResponse(BaseModel):
    user: UserPublic | None = Field(description="The person behind the credential; null for an orphaned key")
    workspace: WorkspacePublic = Field(description="The workspace this credential acts in")
    role: Role
    plan: PlanPublic
    workspaces: list[WorkspacePublic] = Field(description="Every workspace you belong to")
    auth: AuthInfo


class ForgotPasswordRequest(RequestModel):
    email: EmailStr


class ResetPasswordRequest(RequestModel):
    token: str = Field(min_length=1, max_length=200)
    new_password: Password


@dataclass(frozen=True, slots=True)
class LoginTarget:
    """Who logged in, and the workspace their token acts in."""

    user_id: str
    workspace_id: str


def access_token(runtime: Runtime, user_id: str, workspace_id: str) -> AccessToken:
    ttl = runtime.settings.jwt_ttl_seconds
    token = issue_access_token(runtime.settings.secret, user_id, workspace_id, ttl)
    return AccessToken(access_token=token, expires_in=ttl, workspace_id=workspace_id)


@router.post(
    "/signup",
    operation_id="signup",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(errors.FORBIDDEN, errors.EMAIL_TAKEN),
)
async def signup(body: SignupRequest, runtime: RuntimeDep) -> SignupResponse:
    """Create an account with a personal workspace on the sign-up plan; 409 EMAIL_TAKEN if it exists."""
    settings = runtime.settings
    if not settings.signup_enabled:
        raise PixelmillError(errors.FORBIDDEN, "Sign-up is closed on this server; ask the operator for an account")
    async with runtime.db.session() as session:
        user, workspace = await AccountService(session).signup(
            body.email, body.password, name=body.name, plan=settings.signup_plan
        )
        if settings.signup_credits:
            await CreditLedger(session).grant(workspace.id, settings.signup_credits, "sign-up credits")
    token = access_token(runtime, user.id, workspace.id)
    view = WorkspaceView(workspace.id, workspace.name, workspace.kind, workspace.plan, "owner", workspace.created_at)
    return SignupResponse(
        **token.model_dump(),
        user=UserPublic(id=user.id, email=user.email, name=user.name, is_operator=user.is_operator),
        workspace=WorkspacePublic.of(view),
    )


@router.post(
    "/login",
    operation_id="login",
    responses=error_responses(errors.INVALID_CREDENTIALS, errors.NOT_FOUND, errors.LOGIN_THROTTLED),
)
async def login(
    username: Annotated[str, Form(description="Your email address", max_length=320)],
    password: Annotated[str, Form(max_length=MAX_PASSWORD_LENGTH)],
    runtime: RuntimeDep,
    client: ClientAddressDep,
    workspace_id: Annotated[
        str | None, Form(description="Workspace the token acts in; default your personal workspace")
    ] = None,
) -> AccessToken:
    """OAuth2 password flow (form fields ``username`` and ``password``) -> a bearer access token.

    The token acts in ``workspace_id`` when given (default: your personal workspace); change it
    later with ``POST /v1/auth/token``. A wrong password and an unknown email give the same 401
    INVALID_CREDENTIALS; after
    ``login_failures_per_window`` failures for one email from one address, 429 LOGIN_THROTTLED.
    """
    target = await verify_login(runtime, client, username, password, workspace_id)
    return access_token(runtime, target.user_id, target.workspace_id)


async def verify_login(
    runtime: Runtime, client: str, email: str, password: str, workspace_id: str | None
) -> LoginTarget:
    """Check a password login, throttled per email and client address, and the workspace it acts
    in (default: the personal one). Shared by the OAuth2 login and the console's cookie session."""
    limiter = runtime.limiter
    await limiter.check_login(email, client)
    async with runtime.db.session() as session:
        accounts = AccountService(session)
        try:
            user = await accounts.verify_credentials(email, password)
        except PixelmillError:
            await limiter.record_login_failure(email, client)
            raise
        target = workspace_id or await accounts.default_workspace_id(user)
        if await principal_for_user(session, user.id, target) is None:
            raise PixelmillError(errors.NOT_FOUND, "You are not a member of this workspace", field="workspace_id")
    await limiter.clear_login_failures(email, client)
    return LoginTarget(user.id, target)


@router.post("/token", operation_id="switch_workspace", responses=error_responses(errors.FORBIDDEN, errors.NOT_FOUND))
async def switch_workspace(body: TokenRequest, principal: PrincipalDep, runtime: RuntimeDep) -> AccessToken:
    """A new access token acting in another workspace you belong to (404 if you do not)."""
    user_id = principal.require_user()
    async with runtime.db.session() as session:
        if await principal_for_user(session, user_id, body.workspace_id) is None:
            raise PixelmillError(errors.NOT_FOUND, "You are not a member of this workspace", field="workspace_id")
    return access_token(runtime, user_id, body.workspace_id)


@router.get("/me", operation_id="get_me")
async def me(principal: PrincipalDep, runtime: RuntimeDep) -> MeResponse:
    """Who you are, the workspace and role this credential acts with, its plan, and all your workspaces."""
    async with runtime.db.sessions() as session:  # read-only: no commit to pay for
        workspaces = WorkspaceService(session)
        user = await AccountService(session).get(principal.user_id) if principal.user_id else None
        if user is not None:
            mine = await workspaces.list_for_user(user.id)
        else:
            ws = await workspaces.get(principal.workspace_id)
            mine = [WorkspaceView(ws.id, ws.name, ws.kind, ws.plan, principal.role, ws.created_at)]
    current = next((w for w in mine if w.id == principal.workspace_id), None)
    if current is None:  # removed from the workspace within the authentication cache's lifetime
        raise PixelmillError(errors.UNAUTHENTICATED, "You are no longer a member of this workspace")
    return MeResponse(
        user=UserPublic(id=user.id, email=user.email, name=user.name, is_operator=user.is_operator) if user else None,
        workspace=WorkspacePublic.of(current),
        role=principal.role,
        plan=PlanPublic(name=principal.plan, **runtime.settings.plan(principal.plan).model_dump()),
        workspaces=[WorkspacePublic.of(w) for w in mine],
        auth=_auth_info(principal),
    )


def _auth_info(principal: Principal) -> AuthInfo:
    return AuthInfo(
        method="api_key" if principal.via_key else "access_token",
        key_id=principal.key_id,
        mode=principal.mode,
        scopes=sorted(principal.scopes),
    )


@router.post("/forgot-password", operation_id="forgot_password", status_code=status.HTTP_202_ACCEPTED)
async def forgot_password(body: ForgotPasswordRequest, runtime: RuntimeDep, background: BackgroundTasks) -> Message:
    """Send a single-use reset token to the address if it has an account. The answer is the same
    whether or not it does, and never contains the token."""
    settings = runtime.settings
    async with runtime.db.session() as session:
        issued = await AccountService(session).issue_reset_token(body.email, settings.password_reset_ttl_seconds)
    if issued is not None:
        mail = password_reset_mail(
            issued.user.email,
            issued.token,
            public_url=settings.resolved_public_url,
            ttl_seconds=settings.password_reset_ttl_seconds,
            # Only a configured public_url is known to reach this server from where the mail is read.
            console_url=settings.public_url.rstrip("/") if settings.public_url else None,
        )
        # Sent after the response, so the answer takes as long whether or not the account exists.
        background.add_task(Mailer(settings).send, mail)
    return Message(
        status="accepted", message="If an account with this email exists, a password reset token has been sent to it."
    )


@router.post("/reset-password", operation_id="reset_password", responses=error_responses(errors.RESET_TOKEN_INVALID))
async def reset_password(body: ResetPasswordRequest, runtime: RuntimeDep) -> Message:
    """Choose a new password with a reset token; unknown, used or expired tokens are 400 RESET_TOKEN_INVALID."""
    async with runtime.db.session() as session:
        await AccountService(session).reset_password(body.token, body.new_password)
    return Message(status="ok", message="Your password has been changed; log in with the new one.")
