"""Chat completions (``POST /chat/completions``), streamed, for OpenAI and OpenAI-compatible servers.

Pure pieces first: :func:`chat_body` builds the request (always ``stream: true`` with
``stream_options.include_usage``, so the last chunk before ``[DONE]`` carries the token counts),
and :class:`ChatStream` folds the streamed chunks into the text, the finish reason and the usage.
:func:`stream_chat` sends the body through an adapter's :class:`UpstreamClient` and reports
progress as tokens arrive: the fraction of ``max_tokens`` used so far, the text so far as the
message, at most every :data:`PROGRESS_INTERVAL` seconds so a fast stream does not flood the run.

A server that ignores ``stream`` and answers one ``chat.completion`` JSON is read as that.
A ``content_filter`` finish, or a refusal in place of content, is SAFETY_REFUSAL with the upstream's
reason kept as ``upstream_code``; an ``error`` object inside the stream goes through the adapter's
usual error mapping.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pixelmill import errors
from pixelmill.errors import PixelmillError
from pixelmill.providers.base import Capability, ChatImage, ModelInfo, ProgressCallback, UsageCallback
from pixelmill.providers.upstream.client import Call, UpstreamClient
from pixelmill.providers.upstream.failures import UpstreamFailure, to_error
from pixelmill.providers.upstream.sse import json_events

# Newer OpenAI models (o-series, gpt-5) refuse ``max_tokens`` and take ``max_completion_tokens``;
# OpenAI-compatible servers (Ollama, vLLM, LM Studio) know ``max_tokens``.
LimitName = Literal["max_tokens", "max_completion_tokens"]
PROGRESS_INTERVAL = 0.25  # seconds between progress reports while tokens stream in
MESSAGE_CHARS = 160  # the tail of the text so far shown as a progress message
SAFETY_FINISH = "content_filter"

FailureReader = Callable[[dict[str, Any], int], UpstreamFailure]


@dataclass(frozen=True, slots=True)
class ChatModel:
    """One OpenAI chat model as the catalogue lists it."""

    name: str
    description: str
    max_output_tokens: int
    # OpenAI's current name for the output limit; every model listed here takes it.
    limit_name: LimitName = "max_completion_tokens"
    cost: int = 2  # credits per call: the text.generate price
    vision: bool = True  # reads image parts (every GPT-4o and GPT-4.1 model does)


OPENAI_CHAT_MODELS: dict[str, ChatModel] = {
    spec.name: spec
    for spec in (
        ChatModel("gpt-4o-mini", "OpenAI GPT-4o mini: fast, cheap chat completions", 16384),
        ChatModel("gpt-4o", "OpenAI GPT-4o: chat completions", 16384),
        ChatModel("gpt-4.1-mini", "OpenAI GPT-4.1 mini: chat completions with a long context", 32768),
        ChatModel("gpt-4.1-nano", "OpenAI GPT-4.1 nano: the fastest, cheapest GPT-4.1", 32768),
    )
}


def chat_model_info(
    model_id: str, provider: str, description: str, max_output_tokens: int, cost: int, *, vision: bool = False
) -> ModelInfo:
    """The catalogue entry of a chat model served through chat completions; ``vision`` when it reads
    images sent with the prompt."""
    capabilities: tuple[Capability, ...] = ("text", "vision") if vision else ("text",)
    return ModelInfo(
        id=model_id,
        provider=provider,
        generation_type="text",
        capabilities=capabilities,
        cost=cost,
        description=description,
        sandbox=False,
        limits={"max_tokens": max_output_tokens, "max_temperature": 2.0},
    )


def chat_body(
    model: str,
    prompt: str,
    system: str,
    max_tokens: int,
    temperature: float,
    seed: int,
    *,
    limit_name: LimitName = "max_tokens",
    images: Sequence[ChatImage] = (),
) -> dict[str, Any]:
    """The JSON of a streamed ``POST /chat/completions``: a system message when one is given, the
    prompt as the user's message, and the sampling settings under the names the model takes.
    With ``images`` the user's content is a list of parts: the prompt's text, then each image as an
    ``image_url`` part (its ``detail`` when one was asked), as OpenAI's chat API takes them."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": system}] if system.strip() else []
    messages.append({"role": "user", "content": user_content(prompt, images)})
    return {
        "model": model,
        "messages": messages,
        "stream": True,
        "stream_options": {"include_usage": True},
        "temperature": temperature,
        "seed": seed,
        limit_name: max_tokens,
    }


def user_content(prompt: str, images: Sequence[ChatImage]) -> str | list[dict[str, Any]]:
    """The prompt alone, or the prompt's text part followed by the image parts."""
    if not images:
        return prompt
    parts: list[dict[str, Any]] = [{"type": "text", "text": prompt}]
    for image in images:
        image_url = {"url": image.data_url}
        if image.detail is not None:
            image_url["detail"] = image.detail
        parts.append({"type": "image_url", "image_url": image_url})
    return parts


@dataclass
class ChatStream:
    """What the chunks of one streamed completion add up to."""

    provider: str
    text_parts: list[str] = field(default_factory=list)
    refusal_parts: list[str] = field(default_factory=list)
    deltas: int = 0  # content deltas seen: about one token each
    finish_reason: str | None = None
    model: str | None = None
    usage: dict[str, int] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "".join(self.text_parts)

    def add(self, chunk: dict[str, Any]) -> str:
        """Fold in one ``chat.completion.chunk``; return the content it added ("" for none)."""
        if isinstance(chunk.get("model"), str) and chunk["model"]:
            self.model = chunk["model"]
        reported = chunk.get("usage")
        if isinstance(reported, dict):
            for name in ("prompt_tokens", "completion_tokens", "total_tokens"):
                value = reported.get(name)
                if isinstance(value, int):
                    self.usage[name] = value
        added = ""
        choices = chunk.get("choices")
        for choice in choices if isinstance(choices, list) else []:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta")
            if isinstance(delta, dict):
                if isinstance(delta.get("content"), str) and delta["content"]:
                    added += delta["content"]
                    self.deltas += 1
                if isinstance(delta.get("refusal"), str) and delta["refusal"]:
                    self.refusal_parts.append(delta["refusal"])
            if isinstance(choice.get("finish_reason"), str):
                self.finish_reason = choice["finish_reason"]
        if added:
            self.text_parts.append(added)
        return added

    def add_completion(self, payload: Any) -> None:
        """Fold in a whole ``chat.completion``: what a server that ignores ``stream`` answers."""
        if not isinstance(payload, dict):
            raise PixelmillError(
                errors.UPSTREAM_UNAVAILABLE, f"{self.provider} answered without a completion", provider=self.provider
            )
        choices = payload.get("choices")
        deltas = [
            {"index": item.get("index", 0), "delta": item.get("message"), "finish_reason": item.get("finish_reason")}
            for item in (choices if isinstance(choices, list) else [])
            if isinstance(item, dict)
        ]
        self.add({"model": payload.get("model"), "usage": payload.get("usage"), "choices": deltas})

    def check(self) -> None:
        """SAFETY_REFUSAL when the upstream filtered or refused the answer."""
        if self.finish_reason == SAFETY_FINISH or (self.refusal_parts and not self.text.strip()):
            refusal = "".join(self.refusal_parts).strip() or "the answer was stopped by its content filter"
            raise PixelmillError(
                errors.SAFETY_REFUSAL,
                f"{self.provider}: {refusal}",
                provider=self.provider,
                upstream_code=self.finish_reason or "refusal",
            )

    def public_usage(self, requested_model: str) -> dict[str, Any]:
        """What a run read shows: the provider, the model that answered, and the token counts."""
        return {"provider": self.provider, "model": self.model or requested_model, **self.usage}


class ProgressThrottle:
    """Progress of a stream of tokens, reported at most every ``interval`` seconds."""

    def __init__(
        self,
        progress: ProgressCallback | None,
        max_tokens: int,
        *,
        interval: float = PROGRESS_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._progress = progress
        self._max_tokens = max(1, max_tokens)
        self._interval = interval
        self._clock = clock
        self._last: float | None = None

    def tokens(self, stream: ChatStream) -> None:
        if self._progress is None:
            return
        now = self._clock()
        if self._last is not None and now - self._last < self._interval:
            return
        self._last = now
        text = " ".join(stream.text.split())
        message = text if len(text) <= MESSAGE_CHARS else "…" + text[-(MESSAGE_CHARS - 1) :]
        self._progress(min(0.95, stream.deltas / self._max_tokens), message)


async def stream_chat(
    client: UpstreamClient,
    body: dict[str, Any],
    *,
    read_failure: FailureReader,
    progress: ProgressCallback | None = None,
    usage: UsageCallback | None = None,
) -> str:
    """Send ``body`` (from :func:`chat_body`) and return the completion's text; see the module docstring."""
    provider = client.config.provider
    stream = ChatStream(provider=provider)
    throttle = ProgressThrottle(progress, int(body.get("max_tokens") or body.get("max_completion_tokens") or 1))
    async with client.stream(Call("POST", "chat/completions", json=body)) as response:
        if response.headers.get("content-type", "").startswith("application/json"):
            await response.aread()
            try:
                payload = response.json()
            except ValueError:
                payload = None
            stream.add_completion(payload)
        else:
            async for chunk in json_events(response):
                error = chunk.get("error")
                if isinstance(error, dict):
                    raise to_error(provider, read_failure(error, 502), secret=client.config.secret)
                if stream.add(chunk):
                    throttle.tokens(stream)
    stream.check()
    if usage is not None:
        usage(stream.public_usage(str(body["model"])))
    return stream.text.strip()
