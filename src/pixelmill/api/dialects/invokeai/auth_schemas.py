"""InvokeAI's multi-user auth and app-info shapes (api/routers/auth.py, app_info.py) on the wire."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from pixelmill.services.passwords import MAX_PASSWORD_LENGTH


class AuthStatus(BaseModel):
    setup_required: bool
    multiuser_enabled: bool
    strict_password_checking: bool


class LoginBody(BaseModel):
    """InvokeAI's login body; unknown keys are ignored, as InvokeAI's models do."""

    model_config = ConfigDict(extra="ignore")

    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)
    remember_me: bool = False


class UserDTO(BaseModel):
    user_id: str
    email: str
    display_name: str | None
    is_admin: bool
    is_active: bool
    created_at: str
    updated_at: str
    last_login_at: str | None
    token_epoch: int


class LoginAnswer(BaseModel):
    token: str
    user: UserDTO
    expires_in: int


class AppVersion(BaseModel):
    version: str
