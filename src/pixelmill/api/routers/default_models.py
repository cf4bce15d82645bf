"""The caller's workspace's default model per generation type, used by ``/v1/generations`` requests
that name no model."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from pixelmill import errors
from pixelmill.api.deps import PrincipalDep, RuntimeDep
from pixelmill.api.openapi import error_responses
from pixelmill.services.default_models import DefaultModelService
from pixelmill.wire import RequestModel

router = APIRouter(prefix="/v1/workspace/default-models", tags=["models"])

_DESCRIPTION = "A model id from GET /v1/models of this type; null for the catalogue's own choice"


class DefaultModels(BaseModel):
    """A model id per generation type; null where the workspace leaves the choice to the catalogue."""

    image: str | None = Field(default=None, description=_DESCRIPTION)
    video: str | None = Field(default=None, description=_DESCRIPTION)
    voice: str | None = Field(default=None, description=_DESCRIPTION)
    music: str | None = Field(default=None, description=_DESCRIPTION)
    infographic: str | None = Field(default=None, description=_DESCRIPTION)
    text: str | None = Field(default=None, description=_DESCRIPTION)


class DefaultModelsSet(DefaultModels, RequestModel):
    model_config = ConfigDict(extra="forbid", strict=True)


def _set(body: DefaultModels) -> dict[str, str]:
    return {name: value for name, value in body.model_dump().items() if value is not None}


@router.get("", operation_id="get_default_models")
async def get_default_models(principal: PrincipalDep, runtime: RuntimeDep) -> DefaultModels:
    async with runtime.db.reads() as session:
        chosen = await DefaultModelService(session, runtime).get(principal.workspace_id)
    return DefaultModels(**chosen)


@router.put(
    "",
    operation_id="set_default_models",
    responses=error_responses(errors.INSUFFICIENT_SCOPE, errors.INSUFFICIENT_ROLE, errors.INVALID_INPUT),
)
async def set_default_models(body: DefaultModelsSet, principal: PrincipalDep, runtime: RuntimeDep) -> DefaultModels:
    """Replace the defaults (a type left out or null has none); each must be a model of its type this
    workspace can use now (422 naming the type and listing those that are)."""
    async with runtime.db.session() as session:
        chosen = await DefaultModelService(session, runtime).replace(principal, _set(body))
    return DefaultModels(**chosen)
