"""Typed results. Each model allows fields it does not know, so a newer server never breaks an
older client; the fields named here are the ones the API documents."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")

TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})
TERMINAL_EVENTS = frozenset({"run_complete", "run_failed", "run_cancelled"})
MEDIA_OUTPUT_TYPES = frozenset({"image", "images", "video", "audio"})


class ApiModel(BaseModel):
    # defer_build: a model's validator is built when it is first used, not at import, so a CLI
    # command pays only for the few models it reads (building all of them took most of the import).
    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)


class Page(ApiModel, Generic[T]):
    """One page of a list; pass ``next_cursor`` back as ``cursor`` for the next one."""

    data: list[T]
    next_cursor: str | None = None


class RunCreated(ApiModel):
    run_id: str
    status: str


class RunError(ApiModel):
    code: str
    message: str
    node_id: str | None = None


class RunNode(ApiModel):
    node_id: str
    type: str
    status: str
    cached: bool = False
    credits: int = 0
    started_at: datetime | None = None
    completed_at: datetime | None = None
    error: dict[str, Any] | None = None
    model: str | None = None


class RunOutput(ApiModel):
    """An output: ``value`` is a short-lived signed URL for media (a list of them for ``images``), else
    the value; ``url`` is a media output's stable URL (read with the key)."""

    type: str
    value: Any
    url: str | list[str] | None = None

    @property
    def urls(self) -> list[str]:
        if self.type == "images" and isinstance(self.value, list):
            return [str(v) for v in self.value]
        if self.type in MEDIA_OUTPUT_TYPES and isinstance(self.value, str):
            return [self.value]
        return []


class Run(ApiModel):
    run_id: str
    kind: str
    status: str
    mode: str = "live"
    workflow_id: str | None = None
    workflow_version: int | None = None
    outputs: dict[str, RunOutput] = Field(default_factory=dict)
    nodes: list[RunNode] = Field(default_factory=list)
    credits_reserved: int = 0
    credits_used: int = 0
    error: RunError | None = None
    queue_position: int | None = None
    priority: int = 0
    attempt: int = 0
    metadata: dict[str, Any] | None = None
    created_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL_STATUSES


class RunEvent(ApiModel):
    """One server-sent event of a run: ``event`` name, increasing ``id``, and its JSON ``data``."""

    id: str | None = None
    event: str
    data: dict[str, Any] = Field(default_factory=dict)

    @property
    def node_id(self) -> str | None:
        value = self.data.get("node_id")
        return value if isinstance(value, str) else None

    @property
    def terminal(self) -> bool:
        return self.event in TERMINAL_EVENTS


class GenerationError(ApiModel):
    code: str
    message: str


class Generation(ApiModel):
    id: str
    generation_type: str
    model_name: str
    prompt: str = ""
    mode: str | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    status: str
    progress: int = 0
    credit_cost: int = 0
    outputs: list[Any] = Field(default_factory=list)
    output_type: str | None = None
    error: GenerationError | None = None
    created_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL_STATUSES


class GenerationStatus(ApiModel):
    id: str
    status: str
    progress: int = 0


class Model(ApiModel):
    id: str
    provider: str
    generation_type: str
    capabilities: list[str] = Field(default_factory=list)
    cost: int = 0
    description: str = ""
    sandbox: bool = False
    limits: dict[str, Any] = Field(default_factory=dict)
    remote: bool = False
    aliases: list[str] = Field(default_factory=list)


class Provider(ApiModel):
    """An upstream provider as the caller's workspace sees it; the key only ever masked."""

    id: str
    configured: bool
    valid: bool | None = None
    masked_key: str | None = None
    source: str | None = None
    key_env: str = ""
    models: list[str] = Field(default_factory=list)


class GenerationModels(ApiModel):
    data: list[Model]
    defaults: dict[str, str | None] = Field(default_factory=dict)
    image_modes: list[str] = Field(default_factory=list)


class WorkflowSummary(ApiModel):
    id: str
    name: str
    description: str = ""
    version: int
    published_version: int | None = None
    node_count: int = 0
    created_at: datetime
    updated_at: datetime


class Workflow(WorkflowSummary):
    graph: dict[str, Any] = Field(default_factory=dict)


class WorkflowVersion(ApiModel):
    workflow_id: str
    number: int
    name: str
    description: str = ""
    graph: dict[str, Any] = Field(default_factory=dict)
    draft_version: int
    published_at: datetime
    published_by: str | None = None


class File(ApiModel):
    id: str
    workspace_id: str
    mime: str
    size: int
    sha256: str
    filename: str | None = None
    width: int | None = None
    height: int | None = None
    duration_seconds: float | None = None
    run_id: str | None = None
    created_at: datetime
    url: str
    thumbnail_url: str | None = None
    urls_expire_at: datetime | None = None


class Wallet(ApiModel):
    workspace_id: str
    balance: int
    reserved: int
    available: int


class LedgerEntry(ApiModel):
    id: int
    kind: str
    amount: int
    run_id: str | None = None
    note: str = ""
    created_at: datetime


class CreditPackage(ApiModel):
    id: str
    name: str
    credits: int
    price_cents: int
    currency: str = "USD"


class Key(ApiModel):
    id: str
    name: str
    prefix: str
    mode: str
    scopes: list[str] = Field(default_factory=list)
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    status: str = "active"  # active, rotating (replaced, works until expires_at), expired, revoked
    expires_at: datetime | None = None
    replaced_by: str | None = None


class KeyCreated(Key):
    """A new key; ``key`` is the secret, shown this once."""

    key: str


class KeyRotated(KeyCreated):
    """A rotation's answer: the replacement key, and ``previous``, the rotated key with the
    ``expires_at`` until which it keeps working."""

    previous: Key


class NodeType(ApiModel):
    type: str
    version: str
    category: str
    description: str = ""
    inputs: dict[str, Any] = Field(default_factory=dict)
    outputs: dict[str, Any] = Field(default_factory=dict)
    primary_output: str | None = None
    output_type: str | None = None
    cost: int = 0
    cost_depends_on_inputs: bool = False
    capability: str = "cpu"
    deterministic: bool = True


class AccessToken(ApiModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 -- the OAuth2 token type, not a secret
    expires_in: int
    workspace_id: str


class Me(ApiModel):
    """Who the credential is: the user (None for some keys), the workspace, role, plan and auth method."""

    user: dict[str, Any] | None = None
    workspace: dict[str, Any]
    role: str
    plan: dict[str, Any]
    workspaces: list[dict[str, Any]] = Field(default_factory=list)
    auth: dict[str, Any]
