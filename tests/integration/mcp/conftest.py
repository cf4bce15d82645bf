"""An MCP client on the live server's ``/mcp``, with the test registry's extra edit node installed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from pixelmill.config import Settings
from tests.support.accounts import SeededAccount
from tests.support.mcp_nodes import use_mcp_nodes
from tests.support.runs import grant
from tests.support.server import LiveServer


@pytest.fixture
def mcp_url(live_server: LiveServer) -> str:
    use_mcp_nodes(live_server.app.state.runtime)
    return f"{live_server.url}/mcp"


@pytest.fixture
async def assistant(mcp_url: str, account: SeededAccount) -> AsyncIterator[Client]:
    """An MCP client connected to ``/mcp`` whose requests carry the account's key."""
    async with (
        httpx2.AsyncClient(headers=account.headers, timeout=60) as http,
        Client(streamable_http_client(mcp_url, http_client=http)) as client,
    ):
        yield client


FUNDS = 100


@pytest.fixture
def funded(settings: Settings, account: SeededAccount) -> int:
    """Credits granted to the account's workspace (before the async test starts its loop)."""
    grant(settings.resolved_database_url, account.workspace_id, FUNDS)
    return FUNDS
