"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field
from sqlalchemy import text

from pixelmill import __version__
from pixelmill.api.deps import RuntimeDep
from pixelmill.dispatch.broker import ping_broker

router = APIRouter(tags=["health"])


class Readiness(BaseModel):
    """Whether every dependency answers, and what each check found."""

    status: Literal["ready", "not_ready"]
    checks: dict[str, str] = Field(description='Per dependency: "ok" or "error: <reason>"')


_READINESS: dict[int | str, dict[str, Any]] = {
    200: {"model": Readiness, "description": "Every dependency answers"},
    503: {"model": Readiness, "description": "Some dependency does not answer; `checks` names it"},
}


@router.get("/healthz", operation_id="healthz")
async def healthz() -> dict[str, str]:
    """The process is up and serving; says nothing about its dependencies."""
    return {"status": "ok", "version": __version__}


@router.get("/readyz", operation_id="readyz", response_model=None, responses=_READINESS)
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    """Every dependency answers: 200 when all do, 503 naming the ones that do not.

    Checks the database, the blob store (it must be writable), Redis when configured, and the
    broker when runs go to a Celery fleet (an API that cannot publish runs is not ready to take them).
    """
    checks: dict[str, Any] = {}
    try:
        async with runtime.db.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        await runtime.blobs.check()
        checks["storage"] = "ok"
    except Exception as exc:
        checks["storage"] = f"error: {type(exc).__name__}"
    if runtime.settings.redis_url:
        checks["redis"] = "ok" if await runtime.limiter.check() else "error: unreachable"
    if runtime.settings.dispatch == "celery":
        checks["broker"] = await _broker_check(runtime.settings.broker_url)
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks}, status_code=200 if ready else 503
    )


async def _broker_check(url: str | None) -> str:
    if not url:
        return "error: PIXELMILL_BROKER_URL is not set"
    try:
        await asyncio.to_thread(ping_broker, url)
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok"


@router.get("/metrics", operation_id="metrics", include_in_schema=False)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
