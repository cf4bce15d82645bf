"""The application factory. Routers are modules; this file only assembles them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.routing import Mount, Route

from pixelmill import __version__
from pixelmill.api.clean_input import CleanInputMiddleware
from pixelmill.api.console import install_console
from pixelmill.api.dialects.invokeai.socketio import SOCKET_PATH, InvokeAISocket
from pixelmill.api.dialects.registry import DIALECTS, error_shapes
from pixelmill.api.errors import install_error_handlers
from pixelmill.api.idempotency import IdempotencyMiddleware
from pixelmill.api.middleware import BodyLimitMiddleware, RequestContextMiddleware
from pixelmill.api.openapi import install_openapi
from pixelmill.api.ratelimit import RateLimitHeadersMiddleware
from pixelmill.api.routers import (
    auth,
    browser_session,
    credits,
    default_models,
    events,
    files,
    generations,
    graphs,
    health,
    keys,
    models,
    nodes,
    operator,
    outputs,
    projects,
    providers,
    runs,
    webhooks,
    workflows,
    workspaces,
)
from pixelmill.config import Settings
from pixelmill.json_bounds import JsonLimits
from pixelmill.mcp.http import MCP_PATH, McpEndpoint
from pixelmill.runtime import Runtime


def create_app(settings: Settings | None = None) -> FastAPI:
    """A FastAPI app over a Runtime built from ``settings`` when the app starts."""
    settings = settings or Settings()
    mcp_endpoint = McpEndpoint()
    invokeai_socket = InvokeAISocket()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime.create(settings)
        app.state.runtime = runtime
        await runtime.start_dispatch()
        await runtime.start_schedules()
        try:
            async with mcp_endpoint.serving(app, runtime):  # its session manager lives within this lifespan
                yield
        finally:
            await invokeai_socket.close()
            await runtime.close()

    app = FastAPI(
        title="pixelmill",
        version=__version__,
        description="Self-hosted generative media server: runs of node graphs, credits, live progress.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    # Starlette runs the last-added middleware first: request context, body limit, clean input, idempotency.
    app.add_middleware(RateLimitHeadersMiddleware)
    app.add_middleware(IdempotencyMiddleware)
    app.add_middleware(
        CleanInputMiddleware,
        limits=JsonLimits(settings.max_json_depth, settings.max_free_json_bytes, settings.max_free_json_depth),
    )
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_request_bytes)
    app.add_middleware(RequestContextMiddleware)
    # A request is matched against the routes in this order, so the busiest come first (probes,
    # then creating and reading runs, their events and outputs).
    app.include_router(health.router)
    app.include_router(runs.router)
    app.include_router(events.router)
    app.include_router(outputs.router)
    app.include_router(generations.router)
    app.include_router(workflows.router)
    app.include_router(credits.router)
    app.include_router(auth.router)
    app.include_router(browser_session.router)
    app.include_router(keys.router)
    app.include_router(workspaces.router)
    app.include_router(nodes.router)
    app.include_router(graphs.router)
    app.include_router(files.router)
    app.include_router(models.router)
    app.include_router(webhooks.router)
    app.include_router(providers.router)
    app.include_router(default_models.router)
    app.include_router(projects.router)
    app.include_router(operator.router)
    for dialect in DIALECTS:
        app.include_router(dialect.router)
    # What the edge middleware refuses (NUL, depth, size, idempotency) under a dialect's prefix
    # answers in that dialect's shape, as its routes do.
    app.state.error_shapes = error_shapes()
    app.router.routes.append(Route(MCP_PATH, mcp_endpoint, include_in_schema=False))
    app.router.routes.append(Mount(SOCKET_PATH, invokeai_socket.asgi))  # InvokeAI's socket.io events
    install_console(app)
    install_openapi(app)
    return app
