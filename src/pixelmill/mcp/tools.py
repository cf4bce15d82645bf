"""The fixed tools: one per generation type, workflows, runs and credits, each a call on the SDK.

A tool is a ``ToolSpec``: its name, description and JSON Schema (what ``tools/list`` shows) and a
handler that gets an ``AsyncClient`` and the checked arguments. Arguments are checked against the
schema before the handler runs, so a wrong argument is answered with its name without a request.
Every tool waits for its work to finish, up to ``WAIT_SECONDS``; longer work is left running and the
result gives the run id for ``get_run``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from mcp import types

from pixelmill.client import AsyncClient
from pixelmill.mcp.errors import FieldMapper, ToolError, aliased, same_field
from pixelmill.mcp.media import image_file_id
from pixelmill.mcp.results import generation_result, result, run_result

WAIT_SECONDS = 120.0
# The longest wait the server grants a create (``Prefer: wait``); further waiting is polling.
SERVER_WAIT_SECONDS = 60.0

IMAGE_ARGUMENT_HELP = (
    "An image: a file id (file_…), an image URL returned by an earlier pixelmill tool, or base64 image data "
    "(a data: URL is fine)"
)

ToolHandler = Callable[[AsyncClient, dict[str, Any]], Awaitable[types.CallToolResult]]


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """One tool: what the assistant sees, and the handler that does it through the SDK."""

    name: str
    description: str
    input_schema: dict[str, Any]
    handler: ToolHandler
    # Names the argument behind a field the server rejected (422), for the error message.
    field_of: FieldMapper = field(default=same_field)

    def as_tool(self) -> types.Tool:
        return types.Tool(name=self.name, description=self.description, input_schema=self.input_schema)

    def check(self, arguments: Mapping[str, Any]) -> None:
        """Raise a ToolError naming the first argument that does not fit the schema."""
        error = best_match(Draft202012Validator(self.input_schema).iter_errors(dict(arguments)))
        if error is not None:
            name = argument_of(error)
            raise ToolError(f"Invalid argument `{name}`: {error.message}", code="INVALID_ARGUMENT", field=name)


def argument_of(error: ValidationError) -> str:
    """The dotted argument path a schema error is about (a missing or unexpected name included)."""
    path = [str(part) for part in error.absolute_path]
    instance = error.instance if isinstance(error.instance, dict) else {}
    if error.validator == "required":
        path += [name for name in error.validator_value if name not in instance][:1]
    elif error.validator == "additionalProperties":
        known = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
        path += sorted(name for name in instance if name not in known)[:1]
    return ".".join(path) or "arguments"


def object_schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


@dataclass(frozen=True, slots=True)
class GenerationKind:
    """A generate_* tool: the generation type it creates and how its prompt argument is called."""

    tool: str
    generation_type: str
    summary: str
    prompt_argument: str = "prompt"
    prompt_help: str = "What to make"
    settings_help: str = ""
    takes_image: bool = False


GENERATIONS = (
    GenerationKind(
        "generate_image",
        "image",
        "Generate images from a prompt.",
        settings_help="e.g. size ('512x512'), aspect_ratio ('16:9'), resolution, seed, n (how many), negative_prompt",
    ),
    GenerationKind(
        "generate_video",
        "video",
        "Generate a short video from a prompt, or animate `image` when given.",
        settings_help="e.g. duration (seconds), resolution ('480p'), aspect_ratio, motion, fps",
        takes_image=True,
    ),
    GenerationKind(
        "generate_speech",
        "voice",
        "Speak a text aloud (an audio file).",
        prompt_argument="text",
        prompt_help="The words to say",
        settings_help="e.g. voice, rate, pitch, format",
    ),
    GenerationKind(
        "generate_music",
        "music",
        "Compose a piece of music from a description (mood, instruments).",
        settings_help="e.g. duration (seconds), tempo (bpm), mood, instrument, key, drums",
    ),
    GenerationKind(
        "generate_infographic",
        "infographic",
        "Render an infographic card: the first line of the prompt is the title, further lines are bullets.",
        settings_help="e.g. theme, palette, width, height; labels and values (lists) draw a chart instead",
    ),
    GenerationKind(
        "generate_text",
        "text",
        "Generate text from a prompt with a language model.",
        settings_help="e.g. system, max_tokens, temperature, seed",
    ),
)


def generation_tool(kind: GenerationKind) -> ToolSpec:
    properties: dict[str, Any] = {
        kind.prompt_argument: {"type": "string", "minLength": 1, "maxLength": 8000, "description": kind.prompt_help},
        "model": {"type": "string", "description": "A model id (GET /v1/models); default: the server's choice"},
        "settings": {"type": "object", "description": f"Inputs of the generation: {kind.settings_help}"},
    }
    if kind.takes_image:
        properties["image"] = {"type": "string", "description": IMAGE_ARGUMENT_HELP}

    async def handler(client: AsyncClient, arguments: dict[str, Any]) -> types.CallToolResult:
        started = time.monotonic()
        file_id = await image_file_id(client, "image", arguments["image"]) if "image" in arguments else None
        generation = await client.generations.create(
            kind.generation_type,
            arguments[kind.prompt_argument],
            model=arguments.get("model"),
            settings=arguments.get("settings"),
            file_id=file_id,
            wait=SERVER_WAIT_SECONDS,
        )
        if not generation.finished:
            with contextlib.suppress(TimeoutError):  # still running: the result says how to read it later
                generation = await client.generations.wait(generation.id, timeout=_left(started))
        return await generation_result(client, generation)

    aliases = {"prompt": kind.prompt_argument, "model_name": "model"}
    aliases |= dict.fromkeys(("file_id", "image_base64", "source_generation_id"), "image")
    return ToolSpec(
        name=kind.tool,
        description=f"{kind.summary} Waits for the result: media as URLs (small images inline), text as text.",
        input_schema=object_schema(properties, [kind.prompt_argument]),
        handler=handler,
        field_of=aliased(aliases),
    )


def _left(started: float) -> float:
    return max(1.0, WAIT_SECONDS - (time.monotonic() - started))


async def wait_for_run(client: AsyncClient, run_id: str, started: float) -> types.CallToolResult:
    """The run once finished (or as it stands after ``WAIT_SECONDS``), as a tool result."""
    try:
        run = await client.runs.wait(run_id, timeout=_left(started))
    except TimeoutError:
        run = await client.runs.get(run_id)
    return await run_result(client, run)


async def _run_workflow(client: AsyncClient, arguments: dict[str, Any]) -> types.CallToolResult:
    started = time.monotonic()
    created = await client.workflows.run(arguments["workflow_id"], inputs=arguments.get("inputs"))
    return await wait_for_run(client, created.run_id, started)


async def _list_workflows(client: AsyncClient, arguments: dict[str, Any]) -> types.CallToolResult:
    page = await client.workflows.list(limit=arguments.get("limit", 20), cursor=arguments.get("cursor"))
    workflows = [
        {
            "id": item.id,
            "name": item.name,
            "description": item.description,
            "published_version": item.published_version,
            "node_count": item.node_count,
        }
        for item in page.data
    ]
    return result({"workflows": workflows, "next_cursor": page.next_cursor})


async def _get_run(client: AsyncClient, arguments: dict[str, Any]) -> types.CallToolResult:
    return await run_result(client, await client.runs.get(arguments["run_id"]), failure_is_error=False)


async def _check_credits(client: AsyncClient, arguments: dict[str, Any]) -> types.CallToolResult:
    wallet = await client.credits.wallet()
    return result(
        {
            "workspace_id": wallet.workspace_id,
            "balance": wallet.balance,
            "reserved": wallet.reserved,
            "available": wallet.available,
        }
    )


def core_tools() -> list[ToolSpec]:
    """Every tool that does not depend on the installed node types."""
    id_pattern = {"type": "string", "minLength": 1, "maxLength": 64}
    return [
        *(generation_tool(kind) for kind in GENERATIONS),
        ToolSpec(
            name="run_workflow",
            description=(
                "Run the latest published version of a workflow (see list_workflows) and wait for its outputs. "
                "`inputs` overrides node inputs: {node_id: {input_name: value}}."
            ),
            input_schema=object_schema(
                {
                    "workflow_id": {**id_pattern, "description": "The workflow (wf_…)"},
                    "inputs": {
                        "type": "object",
                        "additionalProperties": {"type": "object"},
                        "description": "Per node id, the inputs to override",
                    },
                },
                ["workflow_id"],
            ),
            handler=_run_workflow,
            field_of=lambda name: "inputs" if name.startswith("nodes") else name,
        ),
        ToolSpec(
            name="list_workflows",
            description="The workspace's workflows, newest first: id, name, description, published version.",
            input_schema=object_schema(
                {
                    "limit": {"type": "integer", "minimum": 1, "maximum": 100, "description": "Page size"},
                    "cursor": {"type": "string", "description": "next_cursor of the previous page"},
                },
                [],
            ),
            handler=_list_workflows,
        ),
        ToolSpec(
            name="get_run",
            description="A run (or generation) by id: status, credits and outputs (small images inline).",
            input_schema=object_schema(
                {"run_id": {**id_pattern, "description": "The run or generation id"}}, ["run_id"]
            ),
            handler=_get_run,
        ),
        ToolSpec(
            name="check_credits",
            description="The workspace's credits: balance, reserved by running work, and available.",
            input_schema=object_schema({}, []),
            handler=_check_credits,
        ),
    ]
