"""Which pixelmill model an OpenAI request names: a model id, an operator alias (``model_aliases``,
e.g. ``gpt-image-1`` -> a configured model), or none for the default of its kind."""

from __future__ import annotations

from pixelmill import errors
from pixelmill.api.dialects.openai.translate import model_not_found
from pixelmill.errors import PixelmillError
from pixelmill.providers.base import Capability, GenerationType, ModelInfo
from pixelmill.runtime import Runtime
from pixelmill.services.generation_graphs import default_model
from pixelmill.services.principal import Principal


async def choose(
    runtime: Runtime,
    principal: Principal,
    name: str | None,
    *,
    generation_type: GenerationType,
    capability: Capability,
    default: str | None = None,
) -> ModelInfo:
    """The model ``name`` stands for in the caller's workspace; without a name, ``default`` or the
    kind's default model (a sandbox one for test keys). 404 ``model`` for a name nothing serves."""
    providers = await runtime.workspace_providers.registry_in(runtime.db, principal.workspace_id)
    if name is None:
        name = default or default_model(
            providers.models(), generation_type, capability, test_mode=principal.mode == "test"
        )
        if name is None:
            raise PixelmillError(
                errors.VALIDATION_ERROR, f"No configured model does {capability}; name one", field="model"
            )
    try:
        canonical = providers.canonical(name)
    except PixelmillError as exc:  # an alias whose target is not configured here
        exc.extra["field"] = "model"
        raise
    try:
        return providers.model(canonical)
    except PixelmillError:
        raise model_not_found(name) from None


async def model_ids_with(runtime: Runtime, principal: Principal, capability: Capability) -> list[str]:
    """The ids of the caller's models that have ``capability`` (for an error that says which do)."""
    providers = await runtime.workspace_providers.registry_in(runtime.db, principal.workspace_id)
    return [info.id for info in providers.models() if capability in info.capabilities]
