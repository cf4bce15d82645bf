"""The shared upstream client against a real loopback server: the concurrency limit queues a burst,
one pooled connection set serves every call, and a 429 is retried after the upstream's wait."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from pixelmill.errors import PixelmillError
from pixelmill.providers.openai import read_error
from pixelmill.providers.upstream.client import Call, UpstreamClient, UpstreamConfig
from tests.support.fake_openai import FakeOpenAI, error_body, serve_fake_openai

KEY = "sk-upstream-client-test-key-000000"
pytestmark = pytest.mark.anyio

BODY = {"model": "dall-e-2", "prompt": "p", "n": 1, "size": "256x256", "response_format": "b64_json"}


@pytest.fixture
def fake() -> Iterator[tuple[FakeOpenAI, str]]:
    with serve_fake_openai(KEY) as served:
        yield served


def client_for(base_url: str, **overrides: float) -> UpstreamClient:
    values = {
        "concurrency": 3,
        "retry_budget_seconds": 5.0,
        "max_retries": 4,
        "max_response_bytes": 512 * 1024 * 1024,
        **overrides,
    }
    config = UpstreamConfig(
        provider="openai",
        base_url=base_url + "/",
        headers={"Authorization": f"Bearer {KEY}"},
        secret=KEY,
        concurrency=int(values["concurrency"]),
        retry_budget_seconds=values["retry_budget_seconds"],
        max_retries=int(values["max_retries"]),
        max_response_bytes=int(values["max_response_bytes"]),
    )
    return UpstreamClient(config, read_error)


async def test_a_burst_queues_behind_the_concurrency_limit_and_every_call_succeeds(
    fake: tuple[FakeOpenAI, str],
) -> None:
    server, base_url = fake
    server.latency = 0.2
    client = client_for(base_url)
    try:
        responses = await asyncio.gather(
            *(client.request(Call("POST", "images/generations", json=BODY)) for _ in range(12))
        )
    finally:
        await client.aclose()
    assert [r.status_code for r in responses] == [200] * 12
    assert server.most_in_flight == 3
    assert len(server.requests()) == 12


async def test_a_429_releases_its_slot_while_it_waits_and_is_retried(fake: tuple[FakeOpenAI, str]) -> None:
    server, base_url = fake
    server.fail_next(429, error_body("slow down", "requests", "rate_limit_exceeded"), {"retry-after-ms": "300"})
    client = client_for(base_url, concurrency=1)
    try:
        started = time.monotonic()
        first = asyncio.create_task(client.request(Call("POST", "images/generations", json=BODY)))
        await asyncio.sleep(0.1)  # the first call got its 429 and waits 300 ms, without its slot
        second = await client.request(Call("POST", "images/generations", json=BODY))
        second_done = time.monotonic() - started
        assert (await first).status_code == 200
    finally:
        await client.aclose()
    assert second.status_code == 200
    assert second_done < 0.3  # it did not queue behind the waiting retry
    assert len(server.requests()) == 3


async def test_no_retries_once_the_budget_or_the_count_is_spent(fake: tuple[FakeOpenAI, str]) -> None:
    server, base_url = fake
    for _ in range(3):
        server.fail_next(503, error_body("overloaded", "server_error", None), {"retry-after-ms": "1"})
    client = client_for(base_url, max_retries=2)
    try:
        with pytest.raises(PixelmillError) as failed:
            await client.request(Call("POST", "images/generations", json=BODY))
    finally:
        await client.aclose()
    assert failed.value.code == "UPSTREAM_UNAVAILABLE"
    assert len(server.requests()) == 3


async def test_an_unreachable_upstream_is_upstream_unavailable_without_the_key() -> None:
    client = client_for("http://127.0.0.1:9")  # discard port: nothing listens
    try:
        with pytest.raises(PixelmillError) as failed:
            await client.request(Call("POST", "images/generations", json=BODY))
    finally:
        await client.aclose()
    assert failed.value.code == "UPSTREAM_UNAVAILABLE"
    assert KEY not in str(failed.value.body())


async def test_an_answer_past_the_size_limit_is_refused_naming_the_setting(fake: tuple[FakeOpenAI, str]) -> None:
    _server, base_url = fake
    small = client_for(base_url, max_response_bytes=200)
    roomy = client_for(base_url, max_response_bytes=10 * 1024 * 1024)
    try:
        with pytest.raises(PixelmillError) as refused:
            await small.request(Call("POST", "images/generations", json=BODY))
        answered = await roomy.request(Call("POST", "images/generations", json=BODY))
    finally:
        await small.aclose()
        await roomy.aclose()
    assert refused.value.code == "UPSTREAM_UNAVAILABLE"
    assert "upstream_max_response_bytes" in refused.value.message
    assert len(answered.content) > 200
    assert answered.json()["data"][0]["b64_json"]
