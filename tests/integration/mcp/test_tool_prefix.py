"""``/mcp`` with the ``mcp_tool_prefix`` setting: every tool is listed and called by its prefixed name
(imageat's names with ``imageat_``), and the bare names are unknown."""

from __future__ import annotations

import pytest
from mcp import Client

from pixelmill.config import Settings
from tests.support.mcp_calls import images, message, summary

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"mcp_tool_prefix": "imageat_"})


async def test_tools_carry_the_prefix_and_are_called_by_it(assistant: Client, funded: int) -> None:
    names = {tool.name for tool in (await assistant.list_tools()).tools}
    assert {"imageat_generate_image", "imageat_generate_video", "imageat_check_credits"} <= names
    assert {"imageat_edit_style", "imageat_edit_remove_background", "imageat_edit_test_mirror"} <= names
    assert all(name.startswith("imageat_") for name in names)

    credits = summary(await assistant.call_tool("imageat_check_credits", {}))
    assert (credits["balance"], credits["available"]) == (funded, funded)
    generated = await assistant.call_tool(
        "imageat_generate_image", {"prompt": "a lighthouse", "settings": {"size": "96x64"}}
    )
    [picture] = images(generated)
    assert picture.size == (96, 64)
    assert summary(await assistant.call_tool("imageat_check_credits", {}))["balance"] == funded - 5

    bare = await assistant.call_tool("check_credits", {})
    assert bare.is_error
    assert "Unknown tool 'check_credits'" in message(bare)


def test_a_prefix_that_cannot_start_a_tool_name_is_refused() -> None:
    with pytest.raises(ValueError, match="mcp_tool_prefix"):
        Settings(mcp_tool_prefix="imageat ")
