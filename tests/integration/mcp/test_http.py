"""MCP over streamable HTTP at ``/mcp`` of a live server, with the official MCP client."""

from __future__ import annotations

import httpx
import numpy as np
import pytest
from mcp import Client

from tests.support.mcp_calls import images, message, summary

pytestmark = pytest.mark.anyio

GENERATE_TOOLS = {
    "generate_image",
    "generate_video",
    "generate_speech",
    "generate_music",
    "generate_infographic",
    "generate_text",
}
OTHER_TOOLS = {"run_workflow", "list_workflows", "get_run", "check_credits"}


def test_refused_without_a_valid_key(mcp_url: str) -> None:
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    headers = {"Accept": "application/json, text/event-stream"}
    for authorization in (None, "Bearer pm_live_not-a-real-key", "Basic dXNlcjpwYXNz"):
        sent = headers | ({"Authorization": authorization} if authorization else {})
        response = httpx.post(mcp_url, json=initialize, headers=sent, timeout=10)
        assert response.status_code == 401, response.text
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["error"]["code"] == "UNAUTHENTICATED"


async def test_lists_fixed_tools_and_an_edit_tool_per_image_node(assistant: Client) -> None:
    tools = {tool.name: tool for tool in (await assistant.list_tools()).tools}
    assert set(tools) >= GENERATE_TOOLS | OTHER_TOOLS
    # Built-in image nodes, and the test registry's node discovered with no MCP code for it.
    assert {"edit_style", "edit_enhance", "edit_upscale", "edit_test_mirror"} <= set(tools)
    assert not {"edit_generate", "edit_resize_video"} & set(tools)
    mirror = tools["edit_test_mirror"].input_schema
    assert mirror["properties"]["image"]["type"] == "string"
    assert mirror["properties"]["price"]["maximum"] == 1000
    assert mirror["required"] == ["image"]


async def test_generate_image_inline_then_edit_it(assistant: Client, funded: int) -> None:
    generated = await assistant.call_tool("generate_image", {"prompt": "a lighthouse", "settings": {"size": "96x64"}})
    body = summary(generated)
    assert body["status"] == "completed"
    assert body["credits"] == 5
    [picture] = images(generated)
    assert picture.size == (96, 64)

    [url] = body["urls"]
    edited = await assistant.call_tool("edit_test_mirror", {"image": url, "price": 2})
    assert summary(edited)["credits_used"] == 2
    [mirrored] = images(edited)
    original = np.asarray(picture.convert("RGB"))
    assert np.array_equal(np.asarray(mirrored.convert("RGB")), original[:, ::-1])

    wallet = summary(await assistant.call_tool("check_credits", {}))
    assert wallet["available"] == funded - 5 - 2


async def test_bad_arguments_name_the_field(assistant: Client, funded: int) -> None:
    missing = await assistant.call_tool("generate_image", {})
    assert missing.is_error
    assert message(missing).startswith("Invalid argument `prompt`:")

    wrong_type = await assistant.call_tool("edit_test_mirror", {"image": "file_x", "price": "two"})
    assert wrong_type.is_error
    assert message(wrong_type).startswith("Invalid argument `price`:")

    # Checked by the server: the size pattern of the image node, reported under the tool's argument.
    bad_size = await assistant.call_tool("generate_image", {"prompt": "x", "settings": {"size": "huge"}})
    assert bad_size.is_error
    assert message(bad_size).startswith("Invalid argument `settings.size`:"), message(bad_size)

    not_an_image = await assistant.call_tool("edit_test_mirror", {"image": "bm90IGFuIGltYWdl"})
    assert not_an_image.is_error
    assert message(not_an_image).startswith("Invalid argument `image`:"), message(not_an_image)


async def test_insufficient_credits_say_balance_and_required(assistant: Client) -> None:
    result = await assistant.call_tool("generate_image", {"prompt": "a lighthouse", "settings": {"n": 2}})
    assert result.is_error
    assert "0 credits available and this needs 10" in message(result)
    assert result.structured_content == {
        "error": {
            "message": message(result),
            "code": "INSUFFICIENT_CREDITS",
            "balance": 0,
            "available": 0,
            "required": 10,
        }
    }
