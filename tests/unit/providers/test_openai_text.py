"""Chat completions translation without HTTP: the request body, the folding of streamed chunks into
text, usage and finish reason, content-filter refusals, and the throttled progress."""

from __future__ import annotations

from typing import Any

import pytest

from pixelmill import errors
from pixelmill.errors import PixelmillError
from pixelmill.providers.base import ChatImage
from pixelmill.providers.openai import OpenAIProvider
from pixelmill.providers.openai_compatible import model_names
from pixelmill.providers.openai_text import (
    OPENAI_CHAT_MODELS,
    ChatStream,
    ProgressThrottle,
    chat_body,
    chat_model_info,
)
from pixelmill.providers.upstream.client import UpstreamConfig


def chunk(content: str | None = None, finish: str | None = None, **extra: Any) -> dict[str, Any]:
    delta = {} if content is None else {"content": content}
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        **extra,
    }


def test_the_body_streams_with_usage_and_sends_the_sampling_settings() -> None:
    body = chat_body("gpt-4o-mini", "Write a haiku", "Be brief.", 64, 0.3, 7, limit_name="max_completion_tokens")
    assert body == {
        "model": "gpt-4o-mini",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Write a haiku"}],
        "stream": True,
        "stream_options": {"include_usage": True},
        "temperature": 0.3,
        "seed": 7,
        "max_completion_tokens": 64,
    }


def test_a_blank_system_prompt_is_left_out_and_compatible_servers_get_max_tokens() -> None:
    body = chat_body("llama3.2", "hi", "  ", 16, 0.0, 0)
    assert body["messages"] == [{"role": "user", "content": "hi"}]
    assert body["max_tokens"] == 16
    assert "max_completion_tokens" not in body


def test_images_follow_the_prompt_as_image_url_parts_of_the_users_message() -> None:
    images = [ChatImage("data:image/png;base64,AAAA"), ChatImage("data:image/jpeg;base64,BBBB", "low")]
    body = chat_body("gpt-4o", "What is this?", "", 32, 0.0, 0, images=images)
    assert body["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,BBBB", "detail": "low"}},
            ],
        }
    ]


def test_the_catalogue_says_which_chat_models_read_images() -> None:
    assert chat_model_info("openai/gpt-4o", "openai", "", 16384, 2, vision=True).capabilities == ("text", "vision")
    assert chat_model_info("openai-compatible/llama3.2", "openai-compatible", "", 4096, 2).capabilities == ("text",)
    config = UpstreamConfig(provider="openai", base_url="http://127.0.0.1:9/v1/", headers={}, secret="sk-x")
    listed = {info.id: info for info in OpenAIProvider(config).models()}
    assert all("vision" in listed[f"openai/{name}"].capabilities for name in OPENAI_CHAT_MODELS)


def test_chunks_add_up_to_the_text_the_model_and_the_usage_chunk() -> None:
    stream = ChatStream(provider="openai")
    role = {"model": "gpt-4o-mini-2024-07-18", "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}
    assert stream.add(role) == ""
    assert [stream.add(chunk(piece)) for piece in ("Hello", ",", " world")] == ["Hello", ",", " world"]
    stream.add(chunk(finish="stop"))
    stream.add(
        {"model": "gpt-4o-mini-2024-07-18", "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 3}}
    )
    stream.check()
    assert (stream.text, stream.deltas, stream.finish_reason) == ("Hello, world", 3, "stop")
    assert stream.public_usage("gpt-4o-mini") == {
        "provider": "openai",
        "model": "gpt-4o-mini-2024-07-18",
        "prompt_tokens": 9,
        "completion_tokens": 3,
    }


def test_a_content_filter_finish_is_safety_refusal_with_the_reason_kept() -> None:
    stream = ChatStream(provider="openai")
    stream.add(chunk("Sure"))
    stream.add(chunk(finish="content_filter"))
    with pytest.raises(PixelmillError) as refused:
        stream.check()
    assert refused.value.code == errors.SAFETY_REFUSAL.code
    assert refused.value.extra["upstream_code"] == "content_filter"


def test_a_refusal_instead_of_content_is_safety_refusal_with_its_words() -> None:
    stream = ChatStream(provider="openai")
    stream.add({"choices": [{"index": 0, "delta": {"refusal": "I can't help with that."}, "finish_reason": None}]})
    stream.add(chunk(finish="stop"))
    with pytest.raises(PixelmillError) as refused:
        stream.check()
    assert "I can't help with that." in refused.value.message


def test_a_whole_completion_folds_in_like_its_chunks() -> None:
    stream = ChatStream(provider="openai-compatible")
    stream.add_completion(
        {
            "object": "chat.completion",
            "model": "llama3",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11},
        }
    )
    stream.check()
    assert (stream.text, stream.finish_reason) == ("hi", "stop")
    assert stream.public_usage("x") == {
        "provider": "openai-compatible",
        "model": "llama3",
        "prompt_tokens": 9,
        "completion_tokens": 2,
        "total_tokens": 11,
    }
    with pytest.raises(PixelmillError) as broken:
        ChatStream(provider="openai-compatible").add_completion(None)
    assert broken.value.code == errors.UPSTREAM_UNAVAILABLE.code


def test_usage_without_a_model_in_the_chunks_names_the_requested_one() -> None:
    stream = ChatStream(provider="openai-compatible")
    stream.add({"choices": [{"index": 0, "delta": {"content": "x"}}]})
    assert stream.public_usage("llama3.2") == {"provider": "openai-compatible", "model": "llama3.2"}


def test_progress_is_the_share_of_max_tokens_with_the_text_so_far_at_most_once_per_interval() -> None:
    now = [0.0]
    seen: list[tuple[float, str | None]] = []

    def report(fraction: float, message: str | None = None, *, preview: str | None = None) -> None:
        seen.append((fraction, message))

    throttle = ProgressThrottle(report, 10, interval=0.25, clock=lambda: now[0])
    stream = ChatStream(provider="openai")
    for index, word in enumerate(("One", " two", " three", " four")):
        now[0] = index * 0.1
        stream.add(chunk(word))
        throttle.tokens(stream)
    assert seen == [(0.1, "One"), (0.4, "One two three four")]  # at 0.1 and 0.2 s the last report was too recent


def test_a_long_text_so_far_is_shown_by_its_end() -> None:
    seen: list[str | None] = []
    throttle = ProgressThrottle(lambda fraction, message=None, *, preview=None: seen.append(message), 1000)
    stream = ChatStream(provider="openai")
    stream.add(chunk("word " * 100 + "LAST"))
    throttle.tokens(stream)
    (message,) = seen
    assert message is not None
    assert (message[0], message[-4:], len(message)) == ("…", "LAST", 160)


def test_openai_lists_its_chat_models_as_text_models_that_test_keys_cannot_use() -> None:
    config = UpstreamConfig(provider="openai", base_url="http://127.0.0.1:9/v1/", headers={}, secret="sk-x")
    models = {m.id: m for m in OpenAIProvider(config).models() if m.generation_type == "text"}
    assert {"openai/gpt-4o-mini", "openai/gpt-4.1-mini"} <= set(models)
    mini = models["openai/gpt-4o-mini"]
    summary = (mini.capabilities, mini.cost, mini.sandbox, mini.limits["max_tokens"])
    assert summary == (("text", "vision"), 2, False, 16384)


def test_a_model_list_gives_its_ids_once_in_order() -> None:
    payload = {"object": "list", "data": [{"id": "llama3.2:1b"}, {"id": "qwen2.5"}, {"id": "llama3.2:1b"}, {}]}
    assert model_names(payload) == ["llama3.2:1b", "qwen2.5"]
    assert model_names({"error": "nope"}) == []
