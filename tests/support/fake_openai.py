"""A fake OpenAI API on a loopback port: the documented request and response shapes of
``/v1/images/generations`` and ``/v1/images/edits`` (JSON and SSE streaming, error bodies),
``/v1/chat/completions`` (JSON, and SSE chunks with the ``include_usage`` chunk and ``[DONE]``) and
``/v1/audio/speech`` (raw audio bytes), real PNG and audio bytes, and a record of every request.

Behaviour follows the real API where pixelmill depends on it: ``Authorization: Bearer <key>`` or
401 ``invalid_api_key`` (a fake made with ``key=None`` checks no key, like Ollama or LM Studio);
``response_format`` sent to a gpt-image model is 400 ``unknown_parameter``; a prompt containing
``FORBIDDEN`` is a safety refusal (``moderation_blocked`` for gpt-image, ``content_policy_violation``
for dall-e, ``finish_reason: content_filter`` for chat). Tests queue answers with
:meth:`FakeOpenAI.fail_next` (a 429 with ``retry-after-ms``, a 500 …), which are served first, in order.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import io
import json
import threading
import time
import wave
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from pixelmill.providers.audio_encode import Pcm, encode_audio
from tests.support.loopback import serve_loopback

GPT_IMAGE = ("gpt-image-1", "gpt-image-1-mini", "gpt-image-1.5")
OPENAI_MODELS = ("gpt-image-1", "gpt-image-1-mini", "dall-e-3", "dall-e-2", "gpt-4o-mini", "tts-1")
COLOUR = (30, 144, 255)  # the fake's images are this colour, so a test can tell them apart
# the key the dialect tests configure; it looks real so a leak into logs or answers is caught
FAKE_OPENAI_KEY = "sk-proj-fakekey-0123456789abcdefSECRET3456"


@dataclass
class Received:
    """One request as the fake saw it."""

    path: str
    headers: dict[str, str]
    json: dict[str, Any] | None = None
    form: dict[str, str] = field(default_factory=dict)
    files: list[tuple[str, bytes]] = field(default_factory=list)  # (field name, bytes), in order
    at: float = 0.0
    http_version: str = ""  # as the server saw it: "1.1", or "2" over TLS with ALPN h2
    peer: str = ""  # the client's address and port: one per connection


@dataclass
class Scripted:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@functools.lru_cache(maxsize=32)
def png(width: int, height: int, colour: tuple[int, int, int] = COLOUR) -> bytes:
    """A solid PNG, made once per size: encoding is the fake's cost, not the API's, and would
    serialise on the fake's event loop under a benchmark's burst."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def error_body(message: str, type_: str, code: str | None, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


class FakeOpenAI:
    """State and behaviour; served by :func:`serve_fake_openai`."""

    def __init__(self, key: str | None, models: tuple[str, ...] = OPENAI_MODELS) -> None:
        self.key = key
        self.models = models  # what GET /v1/models lists
        self.snapshot = "-2024-07-18"  # chat answers name the dated model that served them, as OpenAI's do
        self.token_delay = 0.05  # seconds between streamed chat chunks
        self.ignore_stream = False  # answer one chat.completion even when asked to stream (some servers do)
        self.received: list[Received] = []
        self.scripted: list[Scripted] = []
        self.partial_delay = 0.3  # seconds between streamed frames, longer than the progress throttle
        self.latency = 0.0  # seconds each answer waits, to see how many calls a client keeps in flight
        self.in_flight = 0
        self.most_in_flight = 0
        # Image requests beyond this many in flight are answered 429 rate_limit_exceeded, as OpenAI
        # answers a burst over an account's limit; ``rate_limited`` counts them.
        self.max_in_flight: int | None = None
        self.rate_limited = 0
        self.lock = threading.Lock()

    def fail_next(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        with self.lock:
            self.scripted.append(Scripted(status, body, headers or {}))

    def requests(self, path: str | None = None) -> list[Received]:
        with self.lock:
            return [r for r in self.received if path is None or r.path == path]

    async def handle(self, request: Request) -> Response:
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            over = self.max_in_flight is not None and self.in_flight > self.max_in_flight
            self.rate_limited += over
        try:
            if over:
                return self._rate_limited()
            if self.latency:
                await asyncio.sleep(self.latency)
            return await self._answer(request)
        finally:
            with self.lock:
                self.in_flight -= 1

    async def list_models(self, request: Request) -> Response:
        """``GET /v1/models``: what a key check asks; a wrong key is OpenAI's 401, as on every route."""
        with self.lock:
            self.received.append(Received(path=request.url.path, headers=dict(request.headers), at=time.monotonic()))
        refused = self._refused(request)
        if refused is not None:
            return refused
        data = [{"id": n, "object": "model", "created": 1700000000, "owned_by": "openai"} for n in self.models]
        return JSONResponse({"object": "list", "data": data})

    def _rate_limited(self) -> Response:
        body = error_body(
            f"Rate limit reached for requests: limit {self.max_in_flight} in flight. Please try again shortly.",
            "requests",
            "rate_limit_exceeded",
        )
        headers = {
            "retry-after-ms": "500",
            "x-ratelimit-limit-requests": str(self.max_in_flight),
            "x-ratelimit-remaining-requests": "0",
            "x-ratelimit-reset-requests": "500ms",
        }
        return JSONResponse(body, 429, headers=headers)

    def _refused(self, request: Request) -> Response | None:
        if self.key is None or request.headers.get("authorization") == f"Bearer {self.key}":
            return None
        sent = request.headers.get("authorization", "").removeprefix("Bearer ")
        masked = f"{sent[:3]}{'*' * max(0, len(sent) - 7)}{sent[-4:]}"
        return JSONResponse(
            error_body(f"Incorrect API key provided: {masked}.", "invalid_request_error", "invalid_api_key"), 401
        )

    async def _answer(self, request: Request) -> Response:
        if request.url.path.endswith("/chat/completions"):
            return await self._chat(request)
        if request.url.path.endswith("/audio/speech"):
            return await self._speech(request)
        record = Received(
            path=request.url.path,
            headers=dict(request.headers),
            at=time.monotonic(),
            http_version=str(request.scope.get("http_version", "")),
            peer=":".join(str(part) for part in request.scope.get("client") or ()),
        )
        params: dict[str, Any]
        if request.url.path.endswith("/images/edits"):
            async with request.form() as form:
                for name, value in form.multi_items():
                    if isinstance(value, UploadFile):
                        record.files.append((name, await value.read()))
                    else:
                        record.form[name] = value
            params = dict(record.form)
        else:
            record.json = await request.json()
            params = dict(record.json or {})
        with self.lock:
            self.received.append(record)
            scripted = self.scripted.pop(0) if self.scripted else None
        refused = self._refused(request)
        if refused is not None:
            return refused
        if scripted is not None:
            return JSONResponse(scripted.body, scripted.status, headers=scripted.headers)
        model = str(params.get("model", "dall-e-2"))
        if model in GPT_IMAGE and "response_format" in params:
            return JSONResponse(
                error_body(
                    "Unknown parameter: 'response_format'.",
                    "invalid_request_error",
                    "unknown_parameter",
                    "response_format",
                ),
                400,
            )
        if "FORBIDDEN" in str(params.get("prompt", "")):
            if model in GPT_IMAGE:
                body = error_body(
                    "Your request was rejected by the safety system. safety_violations=[violence].",
                    "image_generation_user_error",
                    "moderation_blocked",
                    "",
                )
            else:
                body = error_body(
                    "Your request was rejected as a result of our safety system.",
                    "invalid_request_error",
                    "content_policy_violation",
                )
            return JSONResponse(body, 400)
        size = str(params.get("size", "1024x1024"))
        width, height = (1024, 1024) if size == "auto" else (int(part) for part in size.split("x"))
        n = int(params.get("n", 1))
        image = base64.b64encode(png(width, height)).decode()
        usage = {
            "input_tokens": 50,
            "output_tokens": 4160,
            "total_tokens": 4210,
            "input_tokens_details": {"text_tokens": 40, "image_tokens": 10},
        }
        if str(params.get("stream", "")).lower() == "true":
            prefix = "image_edit" if request.url.path.endswith("/edits") else "image_generation"
            partials = int(params.get("partial_images", 0))
            return StreamingResponse(
                self._stream(prefix, partials, n, image, usage, size), media_type="text/event-stream"
            )
        data = [
            {"b64_json": image, "revised_prompt": "a revised prompt" if model == "dall-e-3" else None} for _ in range(n)
        ]
        return JSONResponse(
            {"created": int(time.time()), "data": data, "size": size, "output_format": "png", "usage": usage},
            headers={"x-request-id": "req_fake"},
        )

    async def _stream(
        self, prefix: str, partials: int, n: int, image: str, usage: dict[str, Any], size: str
    ) -> AsyncIterator[bytes]:
        preview = base64.b64encode(png(32, 32, (10, 10, 10))).decode()
        common = {"background": "opaque", "output_format": "png", "quality": "auto", "size": size}
        for _ in range(n):
            for index in range(partials):
                event = {
                    "type": f"{prefix}.partial_image",
                    "b64_json": preview,
                    "partial_image_index": index,
                    "created_at": int(time.time()),
                    **common,
                }
                yield f"event: {prefix}.partial_image\ndata: {json.dumps(event)}\n\n".encode()
                await asyncio.sleep(self.partial_delay)
            done = {"type": f"{prefix}.completed", "b64_json": image, "created_at": int(time.time()), "usage": usage}
            yield f"event: {prefix}.completed\ndata: {json.dumps({**done, **common})}\n\n".encode()

    async def _received_json(self, request: Request) -> tuple[dict[str, Any], Scripted | None]:
        record = Received(path=request.url.path, headers=dict(request.headers), at=time.monotonic())
        record.json = await request.json()
        with self.lock:
            self.received.append(record)
            scripted = self.scripted.pop(0) if self.scripted else None
        return dict(record.json or {}), scripted

    async def _chat(self, request: Request) -> Response:
        """``POST /v1/chat/completions``: the reply is "You said: <the user's words>", cut at the
        token limit (a word a token); streamed as chunks when asked, with the usage chunk when asked."""
        params, scripted = await self._received_json(request)
        refused = self._refused(request)
        if refused is not None:
            return refused
        if scripted is not None:
            return JSONResponse(scripted.body, scripted.status, headers=scripted.headers)
        messages = params.get("messages") or []
        if not isinstance(params.get("model"), str) or not messages:
            return JSONResponse(
                error_body("you must provide a model and messages", "invalid_request_error", None, "messages"), 400
            )
        asked = " ".join(message_words(m.get("content")) for m in messages if m.get("role") == "user")
        words = f"You said: {asked}".split()
        limit = params.get("max_completion_tokens") or params.get("max_tokens") or len(words)
        tokens = [word if index == 0 else f" {word}" for index, word in enumerate(words[: int(limit)])]
        finish = "length" if len(words) > int(limit) else "stop"
        if "FORBIDDEN" in asked:
            tokens, finish = tokens[:2], "content_filter"
        prompt_tokens = sum(len(message_words(m.get("content")).split()) for m in messages)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": len(tokens),
            "total_tokens": prompt_tokens + len(tokens),
        }
        model = f"{params['model']}{self.snapshot}"
        if params.get("stream") is True and not self.ignore_stream:
            with_usage = (params.get("stream_options") or {}).get("include_usage") is True
            chunks = self._chat_chunks(model, tokens, finish, usage if with_usage else None)
            return StreamingResponse(chunks, media_type="text/event-stream")
        message = {"role": "assistant", "content": "".join(tokens), "refusal": None, "tool_calls": None}
        return JSONResponse(
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
                "usage": usage,
                "system_fingerprint": None,
            }
        )

    async def _chat_chunks(
        self, model: str, tokens: list[str], finish: str, usage: dict[str, int] | None
    ) -> AsyncIterator[bytes]:
        def chunk(choices: list[dict[str, Any]], **extra: Any) -> bytes:
            body = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1700000000, "model": model}
            return f"data: {json.dumps({**body, 'choices': choices, **extra})}\n\n".encode()

        yield chunk([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
        for token in tokens:
            await asyncio.sleep(self.token_delay)
            yield chunk([{"index": 0, "delta": {"content": token}, "finish_reason": None}])
        yield chunk([{"index": 0, "delta": {}, "finish_reason": finish}])
        if usage is not None:
            yield chunk([], usage=usage)
        yield b"data: [DONE]\n\n"

    async def _speech(self, request: Request) -> Response:
        """``POST /v1/audio/speech``: a tone as long as the text takes to say, in the asked format."""
        params, scripted = await self._received_json(request)
        refused = self._refused(request)
        if refused is not None:
            return refused
        if scripted is not None:
            return JSONResponse(scripted.body, scripted.status, headers=scripted.headers)
        text, voice, fmt = str(params.get("input", "")), params.get("voice"), str(params.get("response_format", "mp3"))
        problem = None
        if not text or len(text) > 4096:
            problem = ("input must be 1 to 4096 characters", "input")
        elif voice not in SPEECH_VOICES:
            problem = (f"Invalid value: '{voice}'.", "voice")
        elif fmt not in SPEECH_FORMATS:
            problem = (f"Invalid value: '{fmt}'.", "response_format")
        elif "instructions" in params and str(params.get("model", "")).startswith("tts-1"):
            problem = ("instructions are not supported for this model", "instructions")
        if problem is not None:
            return JSONResponse(error_body(problem[0], "invalid_request_error", "invalid_value", problem[1]), 400)
        seconds = min(10.0, 0.06 * len(text)) / float(params.get("speed", 1.0))
        return Response(speech_audio(seconds, fmt), media_type=SPEECH_FORMATS[fmt])


SPEECH_VOICES = ("alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer", "verse")
SPEECH_FORMATS = {"wav": "audio/wav", "mp3": "audio/mpeg", "opus": "audio/opus"}
SPEECH_RATE = 24_000  # OpenAI's speech is 24 kHz mono


def message_words(content: Any) -> str:
    """A message's words as the fake reads them: a string as it is; a list of parts as its text
    parts, each image part read as ``<image WxH>`` (decoded from its data URL) or ``<image url>``."""
    if not isinstance(content, list):
        return str(content or "")
    words = []
    for part in content:
        if not isinstance(part, dict):
            continue
        if part.get("type") == "text":
            words.append(str(part.get("text", "")))
        elif part.get("type") == "image_url":
            url = str((part.get("image_url") or {}).get("url", ""))
            if url.startswith("data:") and ";base64," in url:
                with Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))) as picture:
                    words.append(f"<image {picture.width}x{picture.height}>")
            else:
                words.append("<image url>")
    return " ".join(words)


def speech_audio(seconds: float, fmt: str) -> bytes:
    """Real audio of ``seconds``: a 16-bit mono WAV written with the wave module, or that tone
    encoded as MP3 or Ogg Opus by PyAV."""
    frames = max(1, int(seconds * SPEECH_RATE))
    tone = (8000 * np.sin(2 * np.pi * 220 * np.arange(frames) / SPEECH_RATE)).astype("<i2")
    if fmt != "wav":
        return encode_audio(Pcm(tone.reshape(-1, 1), SPEECH_RATE), "mp3" if fmt == "mp3" else "opus")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SPEECH_RATE)
        out.writeframes(tone.tobytes())
    return buffer.getvalue()


def fake_openai_app(fake: FakeOpenAI) -> Starlette:
    """The fake's routes as an ASGI app, for any server (plain HTTP here, TLS with HTTP/2 elsewhere)."""
    return Starlette(
        routes=[
            Route("/v1/images/{kind}", fake.handle, methods=["POST"]),
            Route("/v1/chat/completions", fake.handle, methods=["POST"]),
            Route("/v1/audio/speech", fake.handle, methods=["POST"]),
            Route("/v1/models", fake.list_models, methods=["GET"]),
        ]
    )


@contextmanager
def serve_fake_openai(key: str | None, models: tuple[str, ...] = OPENAI_MODELS) -> Iterator[tuple[FakeOpenAI, str]]:
    """Serve a FakeOpenAI on 127.0.0.1 (an ephemeral port); yield it and its ``/v1`` base URL. With
    ``key=None`` it checks no key (an Ollama or LM Studio); ``models`` is what ``GET /v1/models`` lists."""
    fake = FakeOpenAI(key, models)
    with serve_loopback(fake_openai_app(fake), "fake-openai") as origin:
        yield fake, f"{origin}/v1"
