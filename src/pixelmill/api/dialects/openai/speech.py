"""``POST /v1/audio/speech`` on the speech models: one ``audio.speech`` run, answered with its audio
bytes (``audio/mpeg`` for mp3, ``audio/ogg`` for opus, ``audio/wav``), as OpenAI answers."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from pixelmill.api.deps import PrincipalDep, RuntimeDep
from pixelmill.api.dialects.openai import runs, schemas, translate
from pixelmill.api.dialects.openai.models import choose
from pixelmill.api.dialects.openai.routing import OpenAIRoute

router = APIRouter(prefix="/v1/audio", tags=["openai"], route_class=OpenAIRoute, include_in_schema=False)


@router.post("/speech")
async def create_speech(body: schemas.SpeechCreate, principal: PrincipalDep, runtime: RuntimeDep) -> Response:
    model = await choose(runtime, principal, body.model, generation_type="voice", capability="speech")
    plan = translate.speech_plan(body, model)
    started = await runs.start(runtime, principal, plan, {"endpoint": "audio.speech", "model": body.model})
    run = await runs.finish(runtime, started, plan)
    (ref,) = runs.media_refs(run, plan.outputs)
    audio = await runs.blob(runtime, ref)
    mime = translate.SPEECH_MIME[body.response_format]
    return Response(audio, media_type=mime, headers={"x-pixelmill-run-id": run.id})
