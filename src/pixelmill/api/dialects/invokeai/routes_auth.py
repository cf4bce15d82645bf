"""InvokeAI's server detection and multi-user auth: ``GET /api/v1/app/version``, ``GET
/api/v1/auth/status`` and the JSON form of ``POST /api/v1/auth/login``.

The login path is ImagineLab's too (form fields there); its route hands a JSON body to
:func:`login_json`. The token is pixelmill's access token, sent back as ``Authorization: Bearer``;
pixelmill API keys work the same way. With ``anonymous_loopback`` the server says it is not
multi-user, and clients on loopback send no credentials at all.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from pixelmill import errors
from pixelmill.api.deps import RuntimeDep
from pixelmill.api.dialects.invokeai import auth_schemas as schemas
from pixelmill.api.dialects.invokeai.envelope import ENVELOPE
from pixelmill.api.dialects.invokeai.timestamps import sqlite_timestamp
from pixelmill.api.routers import auth
from pixelmill.db.base import utcnow
from pixelmill.db.models import User
from pixelmill.errors import PixelmillError
from pixelmill.runtime import Runtime
from pixelmill.services.accounts import AccountService

# The InvokeAI release whose API this dialect follows (anchors: invokeai_version.py at the read snapshot).
INVOKEAI_VERSION = "6.14.0-alpha"

router = APIRouter(prefix="/api/v1", tags=["invokeai"], route_class=ENVELOPE.route_class(), include_in_schema=False)


@router.get("/app/version")
async def app_version() -> schemas.AppVersion:
    """What InvokeAI clients read to tell they are talking to an InvokeAI server."""
    return schemas.AppVersion(version=INVOKEAI_VERSION)


@router.get("/auth/status")
async def auth_status(runtime: RuntimeDep) -> schemas.AuthStatus:
    """Needs no credentials. Multi-user unless ``anonymous_loopback`` lets clients send none;
    ``setup_required`` while the server has no account (``pixelmill`` creates the operator)."""
    async with runtime.db.sessions() as session:
        has_users = await AccountService(session).has_users()
    return schemas.AuthStatus(
        setup_required=not has_users,
        multiuser_enabled=not runtime.settings.anonymous_loopback,
        strict_password_checking=False,
    )


def user_dto(user: User, last_login_at: str | None) -> schemas.UserDTO:
    created = sqlite_timestamp(user.created_at)
    return schemas.UserDTO(
        user_id=user.id,
        email=user.email,
        display_name=user.name or None,
        is_admin=user.is_operator,
        is_active=True,
        created_at=created,
        updated_at=created,
        last_login_at=last_login_at,
        token_epoch=0,
    )


async def login_json(request: Request, runtime: Runtime, client: str) -> Response:
    """``{email, password, remember_me?}`` -> ``{token, user, expires_in}``: pixelmill's login (the
    same throttling and 401 for a wrong password or an unknown email), answered in InvokeAI's shape.
    ``remember_me`` is accepted; the token lives ``jwt_ttl_seconds`` either way."""
    try:
        body = schemas.LoginBody.model_validate_json(await request.body())
    except ValidationError as exc:
        problems = [{"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        return JSONResponse({"detail": problems}, status_code=422)
    try:
        token = await auth.login(body.email, body.password, runtime, client)
        async with runtime.db.sessions() as session:
            user = await AccountService(session).find_by_email(body.email)
        if user is None:  # deleted between the two reads
            raise PixelmillError(errors.INVALID_CREDENTIALS)
    except PixelmillError as exc:
        return ENVELOPE.response(exc)
    answer = schemas.LoginAnswer(
        token=token.access_token, user=user_dto(user, sqlite_timestamp(utcnow())), expires_in=token.expires_in
    )
    return JSONResponse(answer.model_dump(mode="json"))
