"""ima2's ``/api/keys``: the upstream keys of its settings page, onto pixelmill's provider keys.

ima2's ``openai``, ``xai`` and ``gemini`` keys and its ``vertex`` service account are pixelmill's
upstreams of the same names (:class:`ProviderKeyService`: checked against the upstream before they
are saved, sealed at rest, shown masked). The operator's changes are the operator's keys, which
serve every workspace; a workspace admin's are the workspace's own. A key from the server's
environment cannot be changed here (409 ``ENV_KEY_IMMUTABLE``). Errors are ``{ok: false, error, code}``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body

from pixelmill.api.deps import RuntimeDep, SessionDep
from pixelmill.api.dialects.ima2 import errors as ima2_errors
from pixelmill.api.dialects.ima2.access import Ima2PrincipalDep
from pixelmill.api.dialects.ima2.errors import KEYS
from pixelmill.api.dialects.ima2.preferences import GEMINI_AUTH_MODES, gemini_auth_mode, set_gemini_auth_mode
from pixelmill.errors import PixelmillError
from pixelmill.runtime import Runtime
from pixelmill.services.principal import Principal
from pixelmill.services.provider_keys import ProviderKeyService, ProviderStatus

router = APIRouter(prefix="/api/keys", tags=["ima2"], route_class=KEYS.route_class(), include_in_schema=False)

KEY_PROVIDERS = ("openai", "xai", "gemini")  # ima2's names, which are pixelmill's upstream ids too
VERTEX = "vertex"
MAX_KEY_LENGTH = 16384


def _source(status: ProviderStatus | None) -> str:
    """ima2's ``none`` | ``env`` | ``config`` (a key saved through the API, the operator's or the workspace's)."""
    if status is None or status.source is None:
        return "none"
    return "env" if status.source == "env" else "config"


def key_status(status: ProviderStatus | None) -> dict[str, Any]:
    configured = status is not None and status.configured
    return {
        "configured": configured,
        "source": _source(status),
        "valid": bool(configured and (status is None or status.valid is not False)),
        "maskedKey": status.masked_key if status is not None else None,
    }


async def _statuses(runtime: Runtime, principal: Principal) -> dict[str, ProviderStatus]:
    return {status.id: status for status in await ProviderKeyService(runtime).list(principal)}


def _text(payload: Any, *names: str) -> str:
    """The key in the body under the first of ``names`` it has: a string, or (a service account) an
    object sent as JSON, which is stored as its JSON text."""
    value = None
    if isinstance(payload, dict):
        value = next((payload[name] for name in names if payload.get(name) is not None), None)
    if isinstance(value, dict):
        value = json.dumps(value)
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_KEY_LENGTH:
        raise PixelmillError(ima2_errors.INVALID_API_KEY, f"{names[0]} must be a non-empty string")
    return value


@router.get("/status")
async def keys_status(principal: Ima2PrincipalDep, runtime: RuntimeDep, session: SessionDep) -> dict[str, Any]:
    statuses = await _statuses(runtime, principal)
    answer: dict[str, Any] = {name: key_status(statuses.get(name)) for name in (*KEY_PROVIDERS, VERTEX)}
    vertex = statuses.get(VERTEX)
    answer["geminiAuthMode"] = await gemini_auth_mode(
        session, principal.workspace_id, vertex_configured=vertex is not None and vertex.configured
    )
    return answer


@router.put("/gemini-auth-mode")
async def put_gemini_auth_mode(
    principal: Ima2PrincipalDep, session: SessionDep, payload: Annotated[Any, Body()] = None
) -> dict[str, Any]:
    principal.require_scope("workspace")
    principal.require_role("admin")
    mode = None
    if isinstance(payload, dict):
        mode = payload.get("mode", payload.get("geminiAuthMode"))
    if mode not in GEMINI_AUTH_MODES:
        raise PixelmillError(ima2_errors.INVALID_AUTH_MODE)
    await set_gemini_auth_mode(session, principal.workspace_id, mode)
    return {"ok": True, "geminiAuthMode": mode}


async def _set(runtime: Runtime, principal: Principal, provider: str, key: str) -> dict[str, Any]:
    status = await ProviderKeyService(runtime).set_key(principal, provider, key, None)
    return {"ok": True, "provider": provider, "source": _source(status), "valid": status.valid is not False}


async def _remove(runtime: Runtime, principal: Principal, provider: str) -> dict[str, Any]:
    service = ProviderKeyService(runtime)
    await service.remove_key(principal, provider, None)
    status = await service.status(principal, provider)
    return {"ok": True, "provider": provider, "source": _source(status), "configured": status.configured}


@router.put("/vertex")
async def put_vertex(
    principal: Ima2PrincipalDep, runtime: RuntimeDep, payload: Annotated[Any, Body()] = None
) -> dict[str, Any]:
    """A Vertex AI service account: its JSON, as text or as an object."""
    account = _text(payload, "serviceAccountJson", "serviceAccount", "json", "apiKey")
    return await _set(runtime, principal, VERTEX, account)


@router.delete("/vertex")
async def delete_vertex(principal: Ima2PrincipalDep, runtime: RuntimeDep) -> dict[str, Any]:
    return await _remove(runtime, principal, VERTEX)


def _provider(name: str) -> str:
    if name not in KEY_PROVIDERS:
        raise PixelmillError(
            ima2_errors.INVALID_PROVIDER, f"Unknown provider {name!r}; one of {', '.join(KEY_PROVIDERS)}"
        )
    return name


@router.put("/{provider}")
async def put_key(
    provider: str, principal: Ima2PrincipalDep, runtime: RuntimeDep, payload: Annotated[Any, Body()] = None
) -> dict[str, Any]:
    return await _set(runtime, principal, _provider(provider), _text(payload, "apiKey", "key"))


@router.delete("/{provider}")
async def delete_key(provider: str, principal: Ima2PrincipalDep, runtime: RuntimeDep) -> dict[str, Any]:
    return await _remove(runtime, principal, _provider(provider))
