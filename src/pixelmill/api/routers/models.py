"""The model catalogue: every model the configured providers serve, with limits and cost.

The list has OpenAI's shape (``object: "list"``, entries with ``id``, ``object: "model"``,
``created``, ``owned_by``), so OpenAI's SDKs list and retrieve pixelmill's models; pixelmill's own
fields sit beside those.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from pixelmill import errors
from pixelmill.api.deps import PrincipalDep, RuntimeDep
from pixelmill.engine.node import NodeRegistry
from pixelmill.errors import PixelmillError
from pixelmill.providers.base import ModelInfo
from pixelmill.providers.registry import ProviderRegistry
from pixelmill.services.generation_settings import model_settings_schema

router = APIRouter(prefix="/v1/models", tags=["models"])
# OpenAI's ``created`` of a model: a catalogue built from configuration has no creation date, so
# every entry shows when this server process started serving it.
SERVING_SINCE = int(time.time())


class ModelPublic(BaseModel):
    """One model: what it makes, what it costs per output, its limits, and whether test keys may use it."""

    id: str
    object: Literal["model"] = "model"
    created: int = Field(description="Unix time this server started serving the model (OpenAI's field)")
    owned_by: str = Field(description="Who serves it: the provider (OpenAI's field)")
    provider: str
    generation_type: str
    capabilities: list[str]
    cost: int
    description: str
    sandbox: bool
    limits: dict[str, Any]
    remote: bool = Field(
        default=False, description="Served by an upstream API; on a fleet, its runs go to the remote queue"
    )
    aliases: list[str] = Field(
        default_factory=list, description="The operator's names for this model (setting model_aliases)"
    )
    settings_schema: dict[str, Any] | None = Field(
        default=None,
        description="JSON Schema of the `settings` a POST /v1/generations from a prompt with this model accepts "
        "(the inputs of the nodes it runs, from GET /v1/nodes); null when the model makes nothing from a prompt alone",
    )


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelPublic]


def model_public(info: ModelInfo, providers: ProviderRegistry, nodes: NodeRegistry | None = None) -> ModelPublic:
    """The catalogue entry of ``info``, with the aliases ``providers`` give it and, given the node
    registry, the schema of its generation settings."""
    return ModelPublic(
        id=info.id,
        created=SERVING_SINCE,
        owned_by=info.provider,
        provider=info.provider,
        generation_type=info.generation_type,
        capabilities=list(info.capabilities),
        cost=info.cost,
        description=info.description,
        sandbox=info.sandbox,
        limits=dict(info.limits),
        remote=info.remote,
        aliases=providers.aliases_of(info.id),
        settings_schema=None if nodes is None else model_settings_schema(info, providers.models(), nodes),
    )


@router.get("", operation_id="listModels")
async def list_models(
    principal: PrincipalDep,
    runtime: RuntimeDep,
    generation_type: str | None = Query(default=None, description="Only models of this generation type"),
    sandbox: bool | None = Query(default=None, description="Only models usable (or not) with test keys"),
) -> ModelList:
    """Models the caller's workspace can use (an upstream's once it has a key: the operator's or the
    workspace's own), ordered by generation type and id; an operator's aliases are listed on the
    model they name (``aliases``), not as entries of their own, so each model appears once with the
    id run reads show."""
    providers = await runtime.workspace_providers.registry_in(runtime.db, principal.workspace_id)
    models = [
        model_public(info, providers, runtime.nodes)
        for info in providers.models()
        if (generation_type is None or info.generation_type == generation_type)
        and (sandbox is None or info.sandbox == sandbox)
    ]
    return ModelList(data=models)


@router.get("/{model_id:path}", operation_id="getModel")
async def get_model(model_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> ModelPublic:
    """One model by id (ids contain a slash: ``local/procedural``), or by an operator's alias,
    which answers the entry of the model it names (a 422 when that model is not configured)."""
    providers = await runtime.workspace_providers.registry_in(runtime.db, principal.workspace_id)
    model_id = providers.canonical(model_id)
    for info in providers.models():
        if info.id == model_id:
            return model_public(info, providers, runtime.nodes)
    raise PixelmillError(errors.NOT_FOUND, f"Unknown model {model_id!r}", model=model_id)
