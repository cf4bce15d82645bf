"""``pixelmill mcp`` as a real subprocess, driven over stdio by the official MCP client, against a
live server named by ``PIXELMILL_BASE_URL`` / ``PIXELMILL_API_KEY``."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from pixelmill.config import Settings
from tests.support.accounts import SeededAccount
from tests.support.mcp_calls import images, message, summary
from tests.support.mcp_nodes import use_mcp_nodes
from tests.support.runs import grant
from tests.support.server import LiveServer

pytestmark = pytest.mark.anyio

_CLI = "from pixelmill.cli.main import run; run()"

Connect = Callable[..., AbstractAsyncContextManager[Client]]


@pytest.fixture
def connect(live_server: LiveServer, account: SeededAccount, tmp_path: Path) -> Connect:
    """Start ``pixelmill mcp`` with the account's key (or ``key``) and connect a client to it."""
    use_mcp_nodes(live_server.app.state.runtime)  # before the subprocess lists the node types
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIXELMILL_")}
    env.update(
        PIXELMILL_BASE_URL=live_server.url,
        PIXELMILL_CONFIG_DIR=str(tmp_path / "config"),
        PIXELMILL_DATA_DIR=str(tmp_path / "nodata"),
    )

    @asynccontextmanager
    async def session(key: str = account.key) -> AsyncIterator[Client]:
        params = StdioServerParameters(
            command=sys.executable, args=["-c", _CLI, "mcp"], env=env | {"PIXELMILL_API_KEY": key}, cwd=tmp_path
        )
        async with Client(params, read_timeout_seconds=60) as client:
            yield client

    return session


@pytest.fixture
def funded(settings: Settings, account: SeededAccount) -> None:
    grant(settings.resolved_database_url, account.workspace_id, 50)


@pytest.mark.usefixtures("funded")
async def test_tools_and_an_image_over_stdio(connect: Connect) -> None:
    async with connect() as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert {"generate_image", "generate_text", "run_workflow", "get_run", "check_credits"} <= names
        assert {"edit_style", "edit_test_mirror"} <= names

        generated = await client.call_tool("generate_image", {"prompt": "a red kite", "settings": {"size": "96x72"}})
        [picture] = images(generated)
        assert picture.size == (96, 72)
        run = summary(await client.call_tool("get_run", {"run_id": summary(generated)["id"]}))
        assert run["status"] == "completed"
        assert run["credits_used"] == 5


async def test_errors_over_stdio(connect: Connect) -> None:
    async with connect() as client:
        bad = await client.call_tool("generate_image", {"prompt": "x", "size": "80x60"})
        assert bad.is_error
        assert message(bad).startswith("Invalid argument `size`:")

        short = await client.call_tool("generate_image", {"prompt": "a red kite"})
        assert short.is_error
        assert "0 credits available and this needs 5" in message(short)

    async with connect(key="pm_live_revoked-or-never-issued") as client:
        refused = await client.call_tool("check_credits", {})
        assert refused.is_error
        assert "refused the credentials" in message(refused)


async def test_imageats_configuration_with_only_the_command_changed(
    live_server: LiveServer, account: SeededAccount, tmp_path: Path, funded: None
) -> None:
    """imageat's MCP configuration (``IMAGEAT_API_KEY``, ``IMAGEAT_BASE_URL``) with pixelmill's
    command: the key and URL are read from imageat's variables, and the tools get imageat's names."""
    use_mcp_nodes(live_server.app.state.runtime)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIXELMILL_", "IMAGEAT_"))}
    env.update(
        IMAGEAT_API_KEY=account.key,
        IMAGEAT_BASE_URL=live_server.url,
        PIXELMILL_CONFIG_DIR=str(tmp_path / "config"),
        PIXELMILL_DATA_DIR=str(tmp_path / "nodata"),
    )

    def server(extra: dict[str, str]) -> StdioServerParameters:
        return StdioServerParameters(command=sys.executable, args=["-c", _CLI, "mcp"], env=env | extra, cwd=tmp_path)

    async with Client(server({}), read_timeout_seconds=60) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert {"imageat_generate_image", "imageat_generate_video", "imageat_check_credits"} <= names
        assert {"imageat_edit_style", "imageat_edit_test_mirror"} <= names
        assert summary(await client.call_tool("imageat_check_credits", {}))["balance"] == 50
        generated = await client.call_tool(
            "imageat_generate_image", {"prompt": "a red kite", "settings": {"size": "96x72"}}
        )
        [picture] = images(generated)
        assert picture.size == (96, 72)

    # pixelmill's own variables win over imageat's, and an explicit (empty) prefix over the default.
    other_key = {"PIXELMILL_API_KEY": "pm_live_revoked-or-never-issued", "PIXELMILL_MCP_TOOL_PREFIX": ""}
    async with Client(server(other_key), read_timeout_seconds=60) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert {"generate_image", "check_credits"} <= names
        refused = await client.call_tool("check_credits", {})
        assert refused.is_error
        assert "refused the credentials" in message(refused)
