"""ima2's status routes, read from pixelmill's state: the server (health), its upstreams and keys
(providers, OAuth and Grok status), the workspace's credits (billing, quota) and stored outputs.

ima2 runs local proxies pixelmill does not (an OAuth proxy for ``oauth``, progrok for ``grok``): here
``oauth`` and ``auto`` are the workspace's own image models, so "OAuth" is ready when the workspace has
an image model, and Grok when an xAI key serves the workspace. The proxies' ports are null.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import func, select

import pixelmill
from pixelmill.api.deps import RuntimeDep, SessionDep
from pixelmill.api.dialects.ima2 import inflight
from pixelmill.api.dialects.ima2.access import Ima2PrincipalDep
from pixelmill.api.dialects.ima2.errors import NESTED
from pixelmill.api.dialects.ima2.routes_keys import key_status
from pixelmill.api.routers.runs import public_base_url
from pixelmill.db.models import Run
from pixelmill.providers.base import ModelInfo
from pixelmill.runtime import Runtime
from pixelmill.services.credits import CreditLedger
from pixelmill.services.principal import Principal
from pixelmill.services.provider_keys import ProviderKeyService, ProviderStatus

router = APIRouter(prefix="/api", tags=["ima2"], route_class=NESTED.route_class(), include_in_schema=False)

# When this process began serving ima2's routes (the module is imported as the app is built).
STARTED_AT = time.time()
PATHS = (
    "/api/health",
    "/api/providers",
    "/api/capabilities",
    "/api/billing",
    "/api/quota",
    "/api/oauth/",
    "/api/grok/",
    "/api/agy/",
    "/api/storage/",
)
# ima2's own option sets, which its clients offer and the generation routes accept.
IMAGE_MODELS = ["gpt-5.5", "gpt-5.4", "gpt-5.4-mini", "gpt-5.6-sol", "gpt-5.6-terra", "gpt-5.6-luna"]
GROK_IMAGE_MODELS = ["grok-imagine-image", "grok-imagine-image-quality"]
GEMINI_IMAGE_MODELS = ["nano-banana-2", "nano-banana-pro"]
REASONING_EFFORTS = ["none", "low", "medium", "high", "xhigh", "max"]
PROVIDERS = ["auto", "oauth", "api", "grok", "grok-api", "agy", "gemini-api"]
MAX_REF_COUNT = 5
MAX_GENERATED_IMAGES = 24
CLI_COMMANDS = ["ping", "gen", "edit", "multimode", "ls", "show", "ps", "cancel", "session", "capabilities"]


def _image_models(models: list[ModelInfo], provider: str | None = None) -> list[str]:
    return [
        info.id
        for info in models
        if "text-to-image" in info.capabilities and (provider is None or info.provider == provider)
    ]


async def _workspace_models(runtime: Runtime, session: SessionDep, principal: Principal) -> list[ModelInfo]:
    return (await runtime.workspace_providers.registry(session, principal.workspace_id)).models()


async def _keys(runtime: Runtime, principal: Principal) -> dict[str, ProviderStatus]:
    return {status.id: status for status in await ProviderKeyService(runtime).list(principal)}


def _oauth_status(models: list[ModelInfo]) -> str:
    return "ready" if _image_models(models) else "offline"


def runtime_block(request: Request, runtime: Runtime, oauth_status: str) -> dict[str, Any]:
    """ima2's ``runtime``: the backend's ports and URL; no OAuth or Grok proxy runs beside pixelmill."""
    port = request.url.port or runtime.settings.port
    return {
        "backend": {
            "configuredPort": runtime.settings.port,
            "actualPort": port,
            "url": public_base_url(request, runtime),
        },
        "oauth": {"configuredPort": None, "actualPort": None, "url": None, "status": oauth_status},
        "grok": {"configuredPort": None, "actualPort": None, "url": None},
    }


@router.get("/health")
async def health(
    request: Request, principal: Ima2PrincipalDep, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    models = await _workspace_models(runtime, session, principal)
    active = await inflight.active_jobs(session, principal.workspace_id)
    return {
        "ok": True,
        "version": pixelmill.__version__,
        "provider": "oauth",
        "uptimeSec": round(time.time() - STARTED_AT),
        "activeJobs": len(active),
        "pid": os.getpid(),
        "startedAt": round(STARTED_AT * 1000),
        "runtime": runtime_block(request, runtime, _oauth_status(models)),
    }


@router.get("/providers")
async def providers(
    request: Request, principal: Ima2PrincipalDep, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    models = await _workspace_models(runtime, session, principal)
    openai = key_status((await _keys(runtime, principal)).get("openai"))
    block = runtime_block(request, runtime, _oauth_status(models))
    return {
        "apiKey": openai["configured"],
        "oauth": True,
        "oauthPort": None,
        "oauthActualPort": None,
        "oauthUrl": None,
        "apiKeyDisabled": False,
        "apiKeySource": openai["source"],
        "runtime": block,
    }


@router.get("/oauth/status")
async def oauth_status(
    request: Request, principal: Ima2PrincipalDep, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    models = await _workspace_models(runtime, session, principal)
    status = _oauth_status(models)
    return {"status": status, "models": _image_models(models), "runtime": runtime_block(request, runtime, status)}


@router.get("/grok/status")
async def grok_status(principal: Ima2PrincipalDep, runtime: RuntimeDep, session: SessionDep) -> dict[str, Any]:
    xai = (await _keys(runtime, principal)).get("xai")
    if xai is None or not xai.configured:
        return {"status": "offline", "reason": "No xAI key serves this workspace (XAI_API_KEY or /api/keys/xai)"}
    models = _image_models(await _workspace_models(runtime, session, principal), "xai")
    return {"status": "ready" if models else "no_image_model", "models": models}


@router.get("/agy/status")
async def agy_status(principal: Ima2PrincipalDep) -> dict[str, Any]:
    """pixelmill never runs the Antigravity CLI; ``agy`` requests go to the Gemini provider."""
    return {"installed": False}


@router.get("/capabilities")
async def capabilities(
    request: Request, principal: Ima2PrincipalDep, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    models = await _workspace_models(runtime, session, principal)
    settings = runtime.settings
    return {
        "ok": True,
        "name": "ima2",
        "source": "server",
        "server": public_base_url(request, runtime),
        "version": pixelmill.__version__,
        "commands": CLI_COMMANDS,
        "defaults": {
            "oauth": {"model": "gpt-5.4-mini", "reasoningEffort": "medium"},
            "api": {
                "model": "gpt-5.4-mini",
                "reasoningEffort": "medium",
                "size": "1024x1024",
                "webSearchEnabled": False,
            },
            "grok": {"model": "grok-imagine-image", "plannerModel": None},
        },
        "valid": {
            "imageModels": {
                "supported": IMAGE_MODELS,
                "unsupported": ["gpt-5.3-codex-spark"],
                "grokSupported": GROK_IMAGE_MODELS,
                "geminiSupported": GEMINI_IMAGE_MODELS,
            },
            "pixelmillModels": _image_models(models),
            "reasoningEfforts": REASONING_EFFORTS,
            "quality": ["low", "medium", "high"],
            "moderation": ["auto", "low"],
            "modes": ["auto", "direct"],
            "providers": PROVIDERS,
        },
        "configKeys": {"writable": [], "envOverrides": []},
        "defaultsMeta": {"quality": "medium"},
        "limits": {
            "maxRefCount": MAX_REF_COUNT,
            "maxGeneratedImages": MAX_GENERATED_IMAGES,
            "maxParallel": {
                "value": settings.ima2_max_parallel,
                "enforced": True,
                "note": "Active jobs per workspace (PIXELMILL_IMA2_MAX_PARALLEL)",
            },
        },
    }


@router.get("/billing")
async def billing(principal: Ima2PrincipalDep, runtime: RuntimeDep, session: SessionDep) -> dict[str, Any]:
    openai = key_status((await _keys(runtime, principal)).get("openai"))
    wallet = await CreditLedger(session).wallet(principal.workspace_id)
    credits = {"balance": wallet.balance, "reserved": wallet.reserved, "available": wallet.available}
    answer: dict[str, Any] = {"apiKeyValid": openai["valid"], "apiKeySource": openai["source"], "credits": credits}
    if not openai["configured"]:
        answer["oauth"] = True
    return answer


def _next_month_ms(now: datetime) -> int:
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return round(datetime(year, month, 1, tzinfo=UTC).timestamp() * 1000)


@router.get("/quota")
async def quota(principal: Ima2PrincipalDep, runtime: RuntimeDep, session: SessionDep) -> dict[str, Any]:
    """``codex`` is the workspace's credits against its plan's monthly grant; ``grok`` whether an
    xAI key serves it (pixelmill does not read xAI's billing)."""
    wallet = await CreditLedger(session).wallet(principal.workspace_id)
    monthly = runtime.settings.plan(principal.plan).monthly_credits
    windows = []
    if monthly > 0:
        spent = max(0, monthly - max(0, wallet.available))
        windows.append(
            {
                "label": "monthly",
                "percent": min(100, round(100 * spent / monthly)),
                "resetsAt": _next_month_ms(datetime.now(UTC)),
            }
        )
    xai = (await _keys(runtime, principal)).get("xai")
    return {
        "codex": {"provider": "codex", "authenticated": True, "windows": windows},
        "grok": {"provider": "grok", "authenticated": xai is not None and xai.configured, "windows": []},
    }


@router.get("/storage/status")
async def storage_status(principal: Ima2PrincipalDep, runtime: RuntimeDep, session: SessionDep) -> dict[str, Any]:
    """``generatedCount``: the workspace's finished runs whose outputs are still kept."""
    count = await session.scalar(
        select(func.count()).where(
            Run.workspace_id == principal.workspace_id,
            Run.status == "completed",
            Run.deleted_at.is_(None),
            Run.data_state == "present",
        )
    )
    scheme = runtime.settings.resolved_storage_url.partition("://")[0]
    return {
        "ok": True,
        "data": {
            "generatedDirLabel": f"pixelmill storage ({scheme})",
            "generatedCount": int(count or 0),
            "legacyCandidatesScanned": 0,
            "legacySourcesFound": 0,
            "legacyFilesFound": 0,
            "state": "ok",
            "messageKind": "none",
            "recoveryDocsPath": None,
            "doctorCommand": "pixelmill doctor",
            "overrides": {"generatedDir": False, "configDir": False},
        },
    }
