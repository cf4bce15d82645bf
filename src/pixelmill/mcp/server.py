"""The MCP server: the tool set of one process, served over stdio (``pixelmill mcp``) or mounted on the API.

Both transports share ``Toolbox``; they differ only in where node types come from and which SDK
client a call uses. Over stdio that is one client configured like the CLI (``PIXELMILL_API_KEY``,
``PIXELMILL_BASE_URL``, saved credentials, the discovery file) and the node types the server lists
at start; mounted, it is the caller's key and the runtime's registry (see ``http.py``).

Tool names may carry a prefix (``imageat_generate_image`` …). Over stdio the server also takes its
key and URL from ``IMAGEAT_API_KEY`` / ``IMAGEAT_BASE_URL`` when pixelmill's own are not set, so an
assistant configured for imageat's MCP server needs only its command changed; configured that way,
its tools are named as imageat names them (prefix ``imageat_``) unless a prefix is given.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from mcp import types
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server

from pixelmill import __version__
from pixelmill.client import AsyncClient, ClientError
from pixelmill.client.config import resolve
from pixelmill.client.models import NodeType
from pixelmill.mcp.edit_tools import edit_tools
from pixelmill.mcp.errors import ToolError, describe
from pixelmill.mcp.results import error_result
from pixelmill.mcp.tools import SERVER_WAIT_SECONDS, ToolSpec, core_tools

log = logging.getLogger("pixelmill.mcp")

NodeTypes = Callable[[], Awaitable[Sequence[NodeType]]]
ClientFactory = Callable[[], AbstractAsyncContextManager[AsyncClient]]
# Above the server's longest ``Prefer: wait`` so a create that waits is not cut off by the client.
CLIENT_TIMEOUT_SECONDS = SERVER_WAIT_SECONDS + 30
# Where a stdio server finds its key and URL: pixelmill's variables, then imageat's.
ENV_PREFIXES = ("PIXELMILL", "IMAGEAT")
PREFIX_ENV = "PIXELMILL_MCP_TOOL_PREFIX"
IMAGEAT_PREFIX = "imageat_"
# MCP tool names are at most 128 of [A-Za-z0-9_.-]; the prefix leaves room for the tool's own name.
_PREFIX = re.compile(r"[A-Za-z0-9_.-]{0,32}")


def check_prefix(prefix: str) -> str:
    """``prefix`` when it can start a tool name; ValueError otherwise."""
    if not _PREFIX.fullmatch(prefix):
        raise ValueError(f"A tool name prefix is at most 32 of A-Z a-z 0-9 _ . -, not {prefix!r}")
    return prefix


INSTRUCTIONS = (
    "pixelmill generates and edits media on a self-hosted server. Results carry output URLs, and small "
    "images inline. Edit tools take an image as a file id, a URL from an earlier result, or base64 data. "
    "Work that takes long keeps running: {prefix}get_run reads it by id. {prefix}check_credits shows the balance."
)


class Toolbox:
    """The tools of one server: the fixed ones plus an ``edit_*`` tool per image-editing node type."""

    def __init__(self, node_types: NodeTypes, client: ClientFactory, prefix: str = "") -> None:
        self._node_types = node_types
        self._client = client
        self._prefix = check_prefix(prefix)
        self._fixed = core_tools()

    @property
    def prefix(self) -> str:
        return self._prefix

    async def specs(self) -> dict[str, ToolSpec]:
        specs = {spec.name: spec for spec in self._fixed}
        for spec in edit_tools(await self._node_types()):
            specs.setdefault(spec.name, spec)
        if not self._prefix:
            return specs
        prefixed = (dataclasses.replace(spec, name=self._prefix + name) for name, spec in specs.items())
        return {spec.name: spec for spec in prefixed}

    async def list_tools(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[spec.as_tool() for spec in (await self.specs()).values()])

    async def call_tool(
        self, ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        spec = (await self.specs()).get(params.name)
        if spec is None:
            return error_result(ToolError(f"Unknown tool {params.name!r}; tools/list names every tool"))
        arguments = dict(params.arguments or {})
        try:
            spec.check(arguments)
            async with self._client() as client:
                return await spec.handler(client, arguments)
        except ToolError as exc:
            return error_result(exc)
        except ClientError as exc:
            return error_result(describe(exc, spec.field_of))


def build_server(toolbox: Toolbox) -> Server[Any]:
    return Server(
        "pixelmill",
        version=__version__,
        instructions=INSTRUCTIONS.format(prefix=toolbox.prefix),
        on_list_tools=toolbox.list_tools,
        on_call_tool=toolbox.call_tool,
    )


class RemoteNodeTypes:
    """The server's node types (``GET /v1/nodes``), read once; until a read succeeds, each use retries,
    so an assistant started before its pixelmill server still gets the edit tools later."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client
        self._types: list[NodeType] | None = None

    async def __call__(self) -> Sequence[NodeType]:
        if self._types is None:
            try:
                self._types = await self._client.nodes.list()
            except ClientError as exc:
                log.warning("no edit tools yet: cannot list node types at %s: %s", self._client.base_url, exc)
                return []
        return self._types


def stdio_prefix(explicit: str | None, key_source: str | None) -> str:
    """The tool name prefix of a stdio server: the one given (option or ``PIXELMILL_MCP_TOOL_PREFIX``),
    else ``imageat_`` when the key came from ``IMAGEAT_API_KEY``, else none."""
    if explicit is None:
        explicit = os.environ.get(PREFIX_ENV)
    if explicit is not None:
        return check_prefix(explicit)
    return IMAGEAT_PREFIX if key_source == "IMAGEAT_API_KEY" else ""


async def serve_stdio(prefix: str | None = None) -> None:
    """Serve MCP on stdin/stdout until the assistant closes the pipe."""
    config = resolve(env_prefixes=ENV_PREFIXES)
    tool_prefix = stdio_prefix(prefix, config.api_key_source)
    async with AsyncClient(api_key=config.api_key, base_url=config.base_url, timeout=CLIENT_TIMEOUT_SECONDS) as client:

        @asynccontextmanager
        async def shared_client() -> AsyncIterator[AsyncClient]:
            yield client

        node_types = RemoteNodeTypes(client)
        await node_types()  # discover the edit tools at start
        server = build_server(Toolbox(node_types, shared_client, tool_prefix))
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())


def configure_logging() -> None:
    """Log to stderr: stdout is the protocol channel."""
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="pixelmill mcp: %(message)s")
