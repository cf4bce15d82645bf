"""Tool results: a JSON summary (as text and as structured content) plus small images inline."""

from __future__ import annotations

import json
from typing import Any

from mcp import types

from pixelmill.client import AsyncClient
from pixelmill.client.models import Generation, Run
from pixelmill.mcp.errors import ToolError
from pixelmill.mcp.media import inline_images

IMAGE_OUTPUT_TYPES = frozenset({"image", "images"})


def result(summary: dict[str, Any], images: list[types.ImageContent] | None = None) -> types.CallToolResult:
    content: list[types.ContentBlock] = [types.TextContent(text=json.dumps(summary, indent=2, default=str))]
    content.extend(images or [])
    return types.CallToolResult(content=content, structured_content=summary)


def error_result(error: ToolError) -> types.CallToolResult:
    details = {key: value for key, value in error.details.items() if value is not None}
    return types.CallToolResult(
        content=[types.TextContent(text=error.message)],
        structured_content={"error": {"message": error.message, **details}},
        is_error=True,
    )


def _still_running(kind: str, identifier: str, status: str) -> dict[str, Any]:
    return {
        "id": identifier,
        "status": status,
        "message": f"The {kind} is still {status}; call get_run with run_id {identifier!r} to read it when it is done.",
    }


async def generation_result(client: AsyncClient, generation: Generation) -> types.CallToolResult:
    """A finished generation's outputs (URLs, or the text), a failed one as an error."""
    if not generation.finished:
        return result(_still_running("generation", generation.id, generation.status))
    if generation.status != "completed":
        error = generation.error
        reason = f"{error.code}: {error.message}" if error is not None else "no reason given"
        raise ToolError(f"Generation {generation.id} {generation.status}: {reason}", run_id=generation.id)
    summary: dict[str, Any] = {
        "id": generation.id,
        "type": generation.generation_type,
        "model": generation.model_name,
        "status": generation.status,
        "credits": generation.credit_cost,
        "output_type": generation.output_type,
    }
    if generation.output_type == "text":
        summary["text"] = generation.outputs[0] if generation.outputs else ""
        return result(summary)
    urls = [str(url) for url in generation.outputs]
    summary["urls"] = urls
    images = await inline_images(client, urls) if generation.output_type in IMAGE_OUTPUT_TYPES else []
    return result(summary, images)


async def run_result(client: AsyncClient, run: Run, *, failure_is_error: bool = True) -> types.CallToolResult:
    """A run's status and outputs. A failed run is an error naming the node and reason, unless the
    caller only asked to read it (``get_run``): then its error is part of the summary."""
    if not run.finished:
        return result(_still_running("run", run.run_id, run.status))
    if run.status != "completed":
        error = run.error
        reason = f"{error.code}: {error.message}" if error is not None else "no reason given"
        where = f" at node {error.node_id}" if error is not None and error.node_id else ""
        message = f"Run {run.run_id} {run.status}{where}: {reason}"
        if failure_is_error:
            raise ToolError(message, run_id=run.run_id)
        return result({"run_id": run.run_id, "status": run.status, "error": message})
    outputs = {name: {"type": output.type, "value": output.value} for name, output in run.outputs.items()}
    summary = {"run_id": run.run_id, "status": run.status, "credits_used": run.credits_used, "outputs": outputs}
    urls = [url for output in run.outputs.values() if output.type in IMAGE_OUTPUT_TYPES for url in output.urls]
    return result(summary, await inline_images(client, urls))
