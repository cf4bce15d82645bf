"""Server-sent events from an upstream's streaming answer, as parsed JSON objects.

Frames are ``event:``/``data:`` lines ended by a blank line; like the OpenAI SDK we dispatch on
the JSON's own ``type``, stop at ``data: [DONE]`` and skip comments and empty data.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx


async def json_events(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    """Each frame's ``data`` decoded; frames whose data is not a JSON object are skipped."""
    data: list[str] = []
    async for line in response.aiter_lines():
        if line == "":
            if data:
                text = "\n".join(data)
                data = []
                if text.strip() == "[DONE]":
                    return
                try:
                    event = json.loads(text)
                except ValueError:
                    continue
                if isinstance(event, dict):
                    yield event
            continue
        if line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
    if data and "".join(data).strip() not in ("", "[DONE]"):
        try:
            event = json.loads("\n".join(data))
        except ValueError:
            return
        if isinstance(event, dict):
            yield event
