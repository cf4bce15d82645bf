"""A workspace's default model per generation type: what its ``/v1/generations`` requests use when
they name no model, in place of the catalogue's own choice.

A default is checked when it is set (a model of that type the workspace can use now); one that
stops being usable later (its key removed) is passed over, not an error: the catalogue's choice
serves instead, as it does for test keys when the default is not a sandbox model.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from pixelmill import errors
from pixelmill.db.base import utcnow
from pixelmill.db.models.providers import WorkspaceDefaultModel
from pixelmill.errors import PixelmillError
from pixelmill.providers.base import ModelInfo
from pixelmill.services.generation_graphs import FIXED_MODELS, MAIN_CAPABILITY, GenerationRequest
from pixelmill.services.principal import Principal

if TYPE_CHECKING:
    from pixelmill.runtime import Runtime

log = logging.getLogger(__name__)


def models_for_type(models: Sequence[ModelInfo], generation_type: str) -> list[str]:
    """The ids a default of ``generation_type`` may name: models of that type that do its main work
    (text to image for images), and only the fixed model where one node type serves the type."""
    capability = MAIN_CAPABILITY[generation_type]
    fitting = [m.id for m in models if m.generation_type == generation_type and capability in m.capabilities]
    fixed = FIXED_MODELS.get(generation_type)
    return [model for model in fitting if fixed is None or model == fixed]


def check_defaults(defaults: Mapping[str, str], models: Sequence[ModelInfo]) -> None:
    """422 INVALID_INPUT naming the first default that is not a usable model of its type, with the
    models of that type that are."""
    for generation_type, model in defaults.items():
        allowed = models_for_type(models, generation_type)
        if model not in allowed:
            raise PixelmillError(
                errors.INVALID_INPUT,
                f"{model!r} is not a {generation_type} model this workspace can use; "
                f"configured {generation_type} models: {', '.join(allowed) or 'none'}",
                field=generation_type,
                model=model,
                configured=allowed,
            )


def with_default(
    request: GenerationRequest, defaults: Mapping[str, str], models: Sequence[ModelInfo], *, test_mode: bool
) -> GenerationRequest:
    """``request`` naming the workspace's default model when it names none and the default still
    serves it. A request from a source image keeps choosing its own way (its mode, or the model)."""
    if request.model_name is not None or request.source_fields():
        return request
    default = defaults.get(request.generation_type)
    if default is None or default not in models_for_type(models, request.generation_type):
        return request
    info = next(m for m in models if m.id == default)
    if test_mode and not info.sandbox:
        return request
    return request.model_copy(update={"model_name": default})


class DefaultModelService:
    """Read and replace the default models of the caller's workspace."""

    def __init__(self, session: AsyncSession, runtime: Runtime) -> None:
        self.session = session
        self.runtime = runtime

    async def get(self, workspace_id: str) -> dict[str, str]:
        rows = await self.session.scalars(
            select(WorkspaceDefaultModel).where(WorkspaceDefaultModel.workspace_id == workspace_id)
        )
        return {row.generation_type: row.model for row in rows}

    async def replace(self, principal: Principal, defaults: Mapping[str, str]) -> dict[str, str]:
        """Set exactly ``defaults`` (a type left out has no default any more); workspace admins only."""
        principal.require_scope("workspace")
        principal.require_role("admin")
        providers = await self.runtime.workspace_providers.registry(self.session, principal.workspace_id)
        check_defaults(defaults, providers.models())
        await self.session.execute(
            delete(WorkspaceDefaultModel).where(WorkspaceDefaultModel.workspace_id == principal.workspace_id)
        )
        now = utcnow()
        self.session.add_all(
            WorkspaceDefaultModel(
                workspace_id=principal.workspace_id,
                generation_type=generation_type,
                model=model,
                set_by=principal.user_id,
                set_at=now,
            )
            for generation_type, model in defaults.items()
        )
        await self.session.flush()
        log.info(
            "workspace default models set",
            extra={"workspace_id": principal.workspace_id, "user_id": principal.user_id, "defaults": dict(defaults)},
        )
        return dict(defaults)
