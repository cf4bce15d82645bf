"""``POST /v1/chat/completions`` on the text models: one ``text.generate`` run per request.

Image parts are checked against the model (one that reads images) and stored as files before the
run is created (``chat_images``). The text nodes write their answer in one piece, so a streamed
completion is sent once the run finished: the answer in word-sized ``chat.completion.chunk``
deltas, the finish reason, the usage chunk with ``stream_options.include_usage``, then
``data: [DONE]``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response, StreamingResponse

from pixelmill.api.deps import PrincipalDep, RuntimeDep
from pixelmill.api.dialects.openai import chat_images, runs, schemas, translate
from pixelmill.api.dialects.openai.models import choose, model_ids_with
from pixelmill.api.dialects.openai.routing import SSE_HEADERS, OpenAIRoute, sse_data, sse_error
from pixelmill.db.models import Run
from pixelmill.errors import PixelmillError
from pixelmill.runtime import Runtime

router = APIRouter(prefix="/v1/chat", tags=["openai"], route_class=OpenAIRoute, include_in_schema=False)


@router.post("/completions")
async def create_chat_completion(
    body: schemas.ChatCompletionCreate, principal: PrincipalDep, runtime: RuntimeDep
) -> Response:
    model = await choose(runtime, principal, body.model, generation_type="text", capability="text")
    images: dict[str, str] = {}
    if translate.image_parts(body.messages):
        translate.check_images(body.messages, model, await model_ids_with(runtime, principal, "vision"))
        translate.chat_prompt(body.messages)  # a conversation without text fails before anything is stored
        images = await chat_images.store_images(runtime, principal, body.messages)
    plan = translate.chat_plan(body, model, images)
    started = await runs.start(
        runtime, principal, plan, {"endpoint": "chat.completions", "model": body.model, "user": body.user}
    )
    if body.stream:
        include_usage = body.stream_options is not None and body.stream_options.include_usage
        return StreamingResponse(
            _stream(runtime, started, plan, body.model, include_usage),
            media_type="text/event-stream",
            headers=SSE_HEADERS,
        )
    run = await runs.finish(runtime, started, plan)
    text, usage = await _answer(runtime, run)
    completion = translate.chat_completion(
        completion_id=run.id, created=int(run.created_at.timestamp()), model=body.model, text=text, usage=usage
    )
    return JSONResponse(completion)


async def _answer(runtime: Runtime, run: Run) -> tuple[str, dict[str, Any] | None]:
    """The run's text and what its node recorded about the call (tokens, finish reason)."""
    public = await runs.view(runtime, run, "")
    output = public.outputs.get("text")
    usage = next((node.usage for node in public.nodes if node.node_id == "text"), None)
    return (str(output.value) if output is not None else ""), usage


async def _stream(
    runtime: Runtime, started: runs.Started, plan: translate.Plan, model: str, include_usage: bool
) -> AsyncIterator[bytes]:
    try:
        run = await runs.finish(runtime, started, plan)
    except PixelmillError as exc:
        yield sse_error(exc)
        return
    text, usage = await _answer(runtime, run)
    for chunk in translate.chat_chunks(
        completion_id=run.id,
        created=int(run.created_at.timestamp()),
        model=model,
        text=text,
        usage=usage,
        include_usage=include_usage,
    ):
        yield sse_data(chunk)
    yield sse_data("[DONE]")
