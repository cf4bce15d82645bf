"""The ``/mcp`` endpoint lives inside the app's lifespan: an app stopped and started again serves it again."""

from __future__ import annotations

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from pixelmill.config import Settings
from tests.support.accounts import SeededAccount
from tests.support.mcp_calls import summary
from tests.support.server import start_server

pytestmark = pytest.mark.anyio


async def test_same_app_serves_mcp_after_a_restart(settings: Settings, account: SeededAccount) -> None:
    server = start_server(settings)
    app = server.app
    for start in range(2):
        if start:
            server = start_server(settings, app)
        try:
            async with (
                httpx2.AsyncClient(headers=account.headers, timeout=30) as http,
                Client(streamable_http_client(f"{server.url}/mcp", http_client=http)) as client,
            ):
                wallet = summary(await client.call_tool("check_credits", {}))
                assert wallet == {"workspace_id": account.workspace_id, "balance": 0, "reserved": 0, "available": 0}
        finally:
            server.stop()
