"""``/mcp`` on the API server: MCP over streamable HTTP, for callers with an API key.

Every request needs ``Authorization: Bearer <key or access token>``; without a valid one it is
answered 401 in the API's error shape before the MCP layer sees it. Tools then call the API as the
caller, through the SDK over ``httpx.ASGITransport`` into this same app: in process, so no socket,
and no need to know which address the server is reachable on from itself (it may listen on a
public interface only, or sit behind a proxy), while every call still passes the same middleware,
key checks, rate limits and credit holds as a call from outside. Output URLs are built for the
address the caller used, since the SDK's base URL is the one of the ``/mcp`` request.

The transport is stateless (JSON responses, no MCP session): any API process behind a load
balancer can answer any request, as for the rest of the API. Edit tools are made from the runtime's
node registry at each listing, so a registry swapped after start is what callers see. DNS-rebinding
protection is left off: a browser page cannot supply the bearer key every request needs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import httpx
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from pixelmill import errors
from pixelmill.api.errors import error_response
from pixelmill.client import AsyncClient
from pixelmill.client.models import NodeType
from pixelmill.engine.node import NodeRegistry
from pixelmill.engine.schema import node_schema
from pixelmill.errors import PixelmillError
from pixelmill.mcp.server import CLIENT_TIMEOUT_SECONDS, Toolbox, build_server
from pixelmill.runtime import Runtime
from pixelmill.services.auth import Authenticator

MCP_PATH = "/mcp"


@dataclass(frozen=True, slots=True)
class Caller:
    """Who the current ``/mcp`` request is from, and the base URL they reached the server on."""

    credential: str
    base_url: str


# Set around each request; the MCP SDK runs the tool handler in a copy of the request's context.
_caller: ContextVar[Caller | None] = ContextVar("pixelmill_mcp_caller", default=None)


def registry_node_types(registry: NodeRegistry) -> list[NodeType]:
    """The registry's node types as ``GET /v1/nodes`` publishes them (so both transports agree)."""
    return [NodeType.model_validate(node_schema(cls).model_dump(mode="json")) for cls in registry.all()]


class McpEndpoint:
    """The ASGI app behind ``/mcp``; ``serving`` runs its session manager inside the app's lifespan.

    The SDK's session manager can run only once, so each lifespan makes a new one: an app (or a test
    server) that starts and stops repeatedly in one process gets a working endpoint each time.
    """

    def __init__(self) -> None:
        self._manager: StreamableHTTPSessionManager | None = None

    @asynccontextmanager
    async def serving(self, app: Starlette, runtime: Runtime) -> AsyncIterator[None]:
        async def node_types() -> Sequence[NodeType]:
            return registry_node_types(runtime.nodes)

        @asynccontextmanager
        async def caller_client() -> AsyncIterator[AsyncClient]:
            caller = _caller.get()
            assert caller is not None, "tools run only inside an authenticated /mcp request"
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with AsyncClient(
                api_key=caller.credential,
                base_url=caller.base_url,
                transport=transport,
                timeout=CLIENT_TIMEOUT_SECONDS,
            ) as client:
                yield client

        server = build_server(Toolbox(node_types, caller_client, runtime.settings.mcp_tool_prefix))
        manager = StreamableHTTPSessionManager(server, stateless=True, json_response=True)
        async with manager.run():
            self._manager = manager
            try:
                yield
            finally:
                self._manager = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        manager = self._manager
        if manager is None:
            await error_response(PixelmillError(errors.SERVICE_UNAVAILABLE, "The MCP endpoint is not running"))(
                scope, receive, send
            )
            return
        request = Request(scope)
        scheme, _, credential = request.headers.get("authorization", "").partition(" ")
        credential = credential.strip()
        runtime: Runtime = request.app.state.runtime
        try:
            if scheme.lower() != "bearer" or not credential:
                raise PixelmillError(errors.UNAUTHENTICATED)
            await Authenticator(runtime.db, runtime.settings.secret, runtime.auth_cache).authenticate(credential)
        except PixelmillError as exc:
            if exc.status == 401:
                exc.headers.setdefault("WWW-Authenticate", "Bearer")
            await error_response(exc)(scope, receive, send)
            return
        token = _caller.set(Caller(credential, str(request.base_url).rstrip("/")))
        try:
            await manager.handle_request(scope, receive, send)
        finally:
            _caller.reset(token)
