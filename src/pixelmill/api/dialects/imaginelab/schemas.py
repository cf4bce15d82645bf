"""ImagineLab's wire format, as its developer documentation shows it (integer ids, ``{"detail"}`` errors)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from pixelmill.json_bounds import FreeJsonObject
from pixelmill.services.generation_graphs import GenerationType
from pixelmill.services.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from pixelmill.wire import RequestModel

StatusName = Literal["pending", "processing", "completed", "failed"]
IntId = Annotated[int, Field(ge=1, lt=2**63)]


class GenerationCreate(RequestModel):
    """``POST /api/v1/generations``; unknown fields are ignored, as ImagineLab's own server does."""

    model_config = ConfigDict(extra="ignore")

    generation_type: GenerationType = Field(description="image, video, voice, music, infographic or text")
    model_name: str | None = Field(default=None, max_length=200, description="From /generations/models")
    prompt: str = Field(default="", max_length=8000)
    settings: FreeJsonObject = Field(default_factory=dict, description="Type-specific, e.g. aspect_ratio")
    project_id: IntId | None = Field(default=None, description="A project of yours (from /projects)")


class GenerationRecord(BaseModel):
    """A generation. The first nine fields are exactly the documented record; ``project_id``,
    ``settings`` and ``error`` (why a failed one failed) follow them."""

    id: int
    user_id: int | None
    generation_type: str
    model_name: str
    prompt: str
    status: StatusName
    credit_cost: int
    created_at: str
    outputs: list[Any] = Field(description="Media URLs, or the text of a text generation")
    project_id: int | None
    settings: dict[str, Any]
    error: str | None


class GenerationStatus(BaseModel):
    id: int
    status: StatusName
    progress: int = Field(ge=0, le=100)


class ModelEntry(BaseModel):
    name: str = Field(description="What to send as model_name")
    generation_type: str
    credit_cost: int = Field(description="Credits per output")
    runs: str = Field(description="The pixelmill model this name runs")
    default: bool = Field(description="Used for its generation type when model_name is left out")
    description: str


class Wallet(BaseModel):
    balance: int
    reserved: int
    available: int


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (the OAuth2 token type, not a secret)


class SignupBody(RequestModel):
    model_config = ConfigDict(extra="ignore")

    email: EmailStr
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)
    full_name: str = Field(default="", max_length=200)


class User(BaseModel):
    id: int | None
    email: str | None
    full_name: str
    is_active: bool = True
    credits: int | None = Field(default=None, description="Credits available in your wallet")


class SignedUp(User):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105


class ForgotPasswordBody(RequestModel):
    model_config = ConfigDict(extra="ignore")

    email: EmailStr


class Message(BaseModel):
    message: str


class ProjectCreate(RequestModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1, max_length=200)


class Project(BaseModel):
    id: int
    name: str
    created_at: str
