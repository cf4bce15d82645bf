"""text.generate and audio.speech with ``openai/*`` models, through the served app over HTTP, against
the fake OpenAI API on loopback (tests/support/fake_openai.py), which records what it received."""

from __future__ import annotations

import io
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import pytest

from pixelmill.config import Settings
from tests.integration.providers.test_openai_images import KEY, node_error, openai_settings, run_to_end, start
from tests.support.accounts import SeededAccount
from tests.support.fake_openai import FakeOpenAI, error_body, serve_fake_openai
from tests.support.runs import edge, grant, node, run_entries, wait_for
from tests.support.server import start_server
from tests.support.sse import parse_frames

PROMPT = "Write one line about the quiet sea at night under a pale moon"


@pytest.fixture
def fake() -> Iterator[tuple[FakeOpenAI, str]]:
    with serve_fake_openai(KEY) as served:
        yield served


@pytest.fixture
def settings(tmp_path: Path, database_url: str, fake: tuple[FakeOpenAI, str]) -> Settings:
    return openai_settings(tmp_path, database_url, fake[1])


def balance(api: httpx.Client, account: SeededAccount) -> int:
    value: int = api.get("/v1/credits/wallet", headers=account.headers).json()["balance"]
    return value


def audio_bytes(api: httpx.Client, run: dict[str, Any], node_id: str) -> bytes:
    output = run["outputs"][node_id]
    assert output["type"] == "audio", output
    response = api.get(output["value"])  # a signed URL
    assert response.status_code == 200, response.text
    return response.content


def test_text_generate_streams_tokens_as_progress_and_records_the_usage(
    tmp_path: Path, database_url: str, fake: tuple[FakeOpenAI, str], account: SeededAccount
) -> None:
    server, base_url = fake
    server.token_delay = 0.1  # 15 tokens over 1.5 s: several progress reports
    settings = openai_settings(tmp_path, database_url, base_url)
    live = start_server(settings)
    try:
        with httpx.Client(base_url=live.url, timeout=30) as api:
            grant(settings.resolved_database_url, account.workspace_id, 10)
            graph_node = node(
                "t",
                "text.generate",
                prompt=PROMPT,
                system="You are a poet.",
                model="openai/gpt-4o-mini",
                max_tokens=100,
                temperature=0.4,
                seed=11,
            )
            run = run_to_end(api, account, graph_node)
            with api.stream("GET", f"/v1/runs/{run['run_id']}/events", headers=account.headers) as response:
                assert response.status_code == 200, response.read()
                frames = list(parse_frames(response.iter_lines()))
            left = balance(api, account)
    finally:
        live.stop()
    assert run["status"] == "completed", run
    assert run["outputs"]["t"]["value"] == f"You said: {PROMPT}"
    (sent,) = server.requests("/v1/chat/completions")
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.json == {
        "model": "gpt-4o-mini",
        "messages": [{"role": "system", "content": "You are a poet."}, {"role": "user", "content": PROMPT}],
        "stream": True,
        "stream_options": {"include_usage": True},
        "temperature": 0.4,
        "seed": 11,
        "max_completion_tokens": 100,
    }
    progress = [f.data for f in frames if f.event == "node_progress" and f.data and f.data.get("message")]
    streamed = [p for p in progress if str(p["message"]).startswith("You said:")]
    assert len(streamed) >= 2, progress
    assert [p["progress"] for p in streamed] == sorted(p["progress"] for p in streamed)
    assert all(0 < p["progress"] <= 0.15 for p in streamed)  # at most 15 of 100 tokens
    assert len(streamed[-1]["message"]) > len(streamed[0]["message"])
    (executed,) = run["nodes"]
    assert executed["usage"] == {
        "provider": "openai",
        "model": "gpt-4o-mini-2024-07-18",
        "prompt_tokens": len(PROMPT.split()) + 4,
        "completion_tokens": 15,
        "total_tokens": len(PROMPT.split()) + 4 + 15,
    }
    assert run_entries(settings.resolved_database_url, run["run_id"]) == [("hold", 2), ("capture", 2)]
    assert left == 8


def test_a_content_filter_finish_is_safety_refusal_and_costs_nothing(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeOpenAI, str]
) -> None:
    grant(settings.resolved_database_url, account.workspace_id, 10)
    run = run_to_end(api, account, node("t", "text.generate", prompt="FORBIDDEN words", model="openai/gpt-4.1-mini"))
    assert run["status"] == "failed"
    error = node_error(run, "t")
    assert (error["code"], error["upstream_code"], error["provider"]) == ("SAFETY_REFUSAL", "content_filter", "openai")
    assert balance(api, account) == 10


def test_a_rate_limited_chat_is_retried_and_an_auth_failure_keeps_the_key_out(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeOpenAI, str]
) -> None:
    server, _ = fake
    grant(settings.resolved_database_url, account.workspace_id, 10)
    limited = error_body("Rate limit reached", "requests", "rate_limit_exceeded")
    server.fail_next(429, limited, {"retry-after-ms": "200"})
    run = run_to_end(api, account, node("t", "text.generate", prompt="hello", model="openai/gpt-4o-mini"))
    assert run["status"] == "completed", run
    assert len(server.requests("/v1/chat/completions")) == 2
    denied = error_body(f"Incorrect API key provided: {KEY}", "invalid_request_error", "invalid_api_key")
    server.fail_next(401, denied)
    failed = run_to_end(api, account, node("t", "text.generate", prompt="hello again", model="openai/gpt-4o-mini"))
    assert node_error(failed, "t")["code"] == "UPSTREAM_AUTH_FAILED"
    for piece in (KEY, KEY[:8], KEY[-8:]):
        assert piece not in str(failed)


def test_max_tokens_beyond_the_models_limit_is_422_before_anything_is_sent(
    api: httpx.Client, account: SeededAccount, fake: tuple[FakeOpenAI, str]
) -> None:
    response = start(api, account, node("t", "text.generate", prompt="x", model="openai/gpt-4o-mini", max_tokens=20000))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["field"], error["model"]) == ("max_tokens", "openai/gpt-4o-mini")
    assert fake[0].requests() == []


def test_audio_speech_with_tts_1_stores_the_upstreams_wav(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeOpenAI, str]
) -> None:
    server, _ = fake
    grant(settings.resolved_database_url, account.workspace_id, 10)
    text = "Hello from an upstream voice."
    run = run_to_end(api, account, node("s", "audio.speech", text=text, model="openai/tts-1", voice="nova", rate=350))
    assert run["status"] == "completed", run
    (sent,) = server.requests("/v1/audio/speech")
    assert sent.json == {"model": "tts-1", "input": text, "voice": "nova", "response_format": "wav", "speed": 2.0}
    assert sent.headers["accept"] == "application/octet-stream"
    with wave.open(io.BytesIO(audio_bytes(api, run, "s"))) as reader:
        seconds = reader.getnframes() / reader.getframerate()
        assert (reader.getframerate(), reader.getnchannels()) == (24000, 1)
    assert seconds == pytest.approx(0.06 * len(text) / 2.0, abs=0.01)
    assert seconds > 0
    (executed,) = run["nodes"]
    assert executed["usage"] == {"provider": "openai", "model": "tts-1", "characters": len(text)}
    assert run_entries(settings.resolved_database_url, run["run_id"]) == [("hold", 3), ("capture", 3)]


def test_gpt_4o_mini_tts_takes_instructions_and_answers_ogg_opus(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeOpenAI, str]
) -> None:
    server, _ = fake
    grant(settings.resolved_database_url, account.workspace_id, 10)
    graph_node = node(
        "s", "audio.speech", text="Ahoy there.", model="openai/gpt-4o-mini-tts", format="opus", instructions="Pirate."
    )
    run = run_to_end(api, account, graph_node)
    assert run["status"] == "completed", run
    (sent,) = server.requests("/v1/audio/speech")
    assert sent.json == {
        "model": "gpt-4o-mini-tts",
        "input": "Ahoy there.",
        "voice": "alloy",  # the model's first listed voice
        "response_format": "opus",
        "speed": 1.0,
        "instructions": "Pirate.",
    }
    with av.open(io.BytesIO(audio_bytes(api, run, "s"))) as container:
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
        assert (container.format.name, stream.codec_context.name) == ("ogg", "opus")
        assert samples / stream.rate == pytest.approx(0.66, abs=0.05)


@pytest.mark.parametrize(
    ("inputs", "field"),
    [
        ({"model": "openai/tts-1", "voice": "marin"}, "voice"),
        ({"model": "openai/tts-1", "voice": "en-gb"}, "voice"),
        ({"model": "openai/tts-1", "pitch": 70}, "pitch"),
        ({"model": "openai/tts-1", "variant": "f3"}, "variant"),
        ({"model": "openai/tts-1-hd", "instructions": "softly"}, "instructions"),
        ({"model": "openai/tts-1", "text": "x" * 4097}, "text"),
        ({"model": "local/espeak", "instructions": "softly"}, "instructions"),
        ({"model": "openai/gpt-4o-mini"}, "model"),
    ],
)
def test_speech_inputs_a_model_cannot_take_are_422_before_anything_is_sent(
    api: httpx.Client, account: SeededAccount, fake: tuple[FakeOpenAI, str], inputs: dict[str, Any], field: str
) -> None:
    response = start(api, account, node("s", "audio.speech", **{"text": "hi", **inputs}))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"], error["node_id"]) == ("INVALID_INPUT", field, "s"), error
    assert fake[0].requests() == []


def test_text_and_speech_models_are_listed_with_a_key_and_priced_by_the_operator(
    tmp_path: Path, database_url: str, fake: tuple[FakeOpenAI, str], account: SeededAccount
) -> None:
    prices = {"openai/gpt-4o-mini": 4, "openai/tts-1-hd": 6}
    settings = openai_settings(tmp_path, database_url, fake[1], model_credit_costs=prices)
    live = start_server(settings)
    try:
        with httpx.Client(base_url=live.url, timeout=30) as api:
            grant(settings.resolved_database_url, account.workspace_id, 20)
            listed = {m["id"]: m for m in api.get("/v1/models", headers=account.headers).json()["data"]}
            text = run_to_end(api, account, node("t", "text.generate", prompt="hi", model="openai/gpt-4o-mini"))
            speech = run_to_end(api, account, node("s", "audio.speech", text="hi", model="openai/tts-1-hd"))
            left = balance(api, account)
    finally:
        live.stop()
    assert (listed["openai/gpt-4o-mini"]["generation_type"], listed["openai/gpt-4o-mini"]["cost"]) == ("text", 4)
    assert listed["openai/tts-1"]["generation_type"] == "voice"
    assert listed["openai/tts-1"]["limits"]["voices"][0] == "alloy"
    assert (listed["openai/tts-1-hd"]["cost"], listed["openai/gpt-4.1-mini"]["cost"]) == (6, 2)
    assert text["status"] == speech["status"] == "completed"
    assert left == 20 - 4 - 6


def test_a_voice_generation_names_an_openai_speech_model(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeOpenAI, str]
) -> None:
    grant(settings.resolved_database_url, account.workspace_id, 10)
    body = {
        "generation_type": "voice",
        "prompt": "Good morning",
        "model_name": "openai/tts-1",
        "settings": {"voice": "echo"},
    }
    response = api.post("/v1/generations", json=body, headers={**account.headers, "Prefer": "wait=20"})
    assert response.status_code in (200, 201, 202), response.text
    (sent,) = fake[0].requests("/v1/audio/speech")
    assert sent.json is not None
    assert (sent.json["model"], sent.json["input"], sent.json["voice"]) == ("tts-1", "Good morning", "echo")


def test_a_test_key_cannot_use_openai_text_or_speech_and_nothing_is_sent(
    api: httpx.Client, settings: Settings, fake: tuple[FakeOpenAI, str]
) -> None:
    from tests.support.accounts import seed_account

    tester = seed_account(settings.resolved_database_url, mode="test")
    for graph_node in (
        node("t", "text.generate", prompt="x", model="openai/gpt-4o-mini"),
        node("s", "audio.speech", text="x", model="openai/tts-1"),
    ):
        response = api.post("/v1/runs", json={"graph": {"nodes": [graph_node], "edges": []}}, headers=tester.headers)
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "SANDBOX_ONLY"
    assert fake[0].requests() == []


def test_a_graph_writes_a_line_with_gpt_4o_mini_and_reads_it_aloud_with_tts_1(
    api: httpx.Client, account: SeededAccount, settings: Settings, fake: tuple[FakeOpenAI, str]
) -> None:
    server, _ = fake
    grant(settings.resolved_database_url, account.workspace_id, 10)
    graph = {
        "nodes": [
            node("t", "text.generate", prompt="Greet the listener", model="openai/gpt-4o-mini", max_tokens=20),
            node("s", "audio.speech", model="openai/tts-1", voice="onyx", format="wav"),
        ],
        "edges": [edge("t", "s", field="text", source_field="text")],
    }
    headers = {**account.headers, "Prefer": "wait=20"}
    response = api.post("/v1/runs", json={"graph": graph}, headers=headers)
    assert response.status_code == 201, response.text
    run = wait_for(api, account.headers, response.json()["run_id"], until={"completed", "failed"}, timeout=30)
    assert run["status"] == "completed", run
    (spoken,) = server.requests("/v1/audio/speech")
    assert spoken.json is not None
    assert spoken.json["input"] == "You said: Greet the listener"
    with wave.open(io.BytesIO(audio_bytes(api, run, "s"))) as reader:
        assert reader.getnframes() / reader.getframerate() == pytest.approx(0.06 * len(spoken.json["input"]), abs=0.01)
    assert {n["node_id"]: n["usage"]["model"] for n in run["nodes"]} == {"t": "gpt-4o-mini-2024-07-18", "s": "tts-1"}
    assert api.get("/v1/credits/wallet", headers=account.headers).json()["balance"] == 10 - 2 - 3
