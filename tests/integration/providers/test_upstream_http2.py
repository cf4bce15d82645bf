"""The upstream client offers HTTP/2: against an upstream that speaks it over TLS (the fake OpenAI
Images API served by hypercorn with a certificate for 127.0.0.1), concurrent image calls travel as
HTTP/2 streams of one connection; against a plain-http loopback server they stay HTTP/1.1, with a
connection pool as large as the upstream's concurrency limit.

The throwaway CA that signed the certificate is added to the process's one upstream TLS context
(a real verifying context, so a wrong certificate would still fail), rather than turning
verification off."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from pixelmill import net
from pixelmill.config import Settings
from pixelmill.providers.base import TextToImageRequest
from pixelmill.providers.openai import OpenAIProvider, read_error
from pixelmill.providers.upstream.client import Call, UpstreamClient, UpstreamConfig
from tests.support.fake_openai import FakeOpenAI, fake_openai_app, serve_fake_openai
from tests.support.tls_loopback import make_certificate, serve_loopback_tls

KEY = "sk-proj-http2-0123456789abcdef"
CALLS = 4


@pytest.fixture
def tls_fake(tmp_path: Path) -> Iterator[tuple[FakeOpenAI, str]]:
    certificate = make_certificate(tmp_path)
    net._tls_context().load_verify_locations(cadata=certificate.ca_pem)
    fake = FakeOpenAI(KEY)
    with serve_loopback_tls(fake_openai_app(fake), certificate, "fake-openai-h2") as origin:
        yield fake, f"{origin}/v1"


async def generate(base_url: str, calls: int) -> None:
    """``calls`` concurrent images from ``base_url`` through the OpenAI adapter's pooled client."""
    provider = OpenAIProvider.from_settings(Settings(openai_api_key=SecretStr(KEY), openai_base_url=base_url))
    request = TextToImageRequest(prompt="a lighthouse", width=1024, height=1024, seed=0)
    try:
        results = await asyncio.gather(*(provider.text_to_image("openai/gpt-image-1", request) for _ in range(calls)))
        assert all(len(images) == 1 for images in results)
    finally:
        await provider.aclose()


def test_an_upstream_that_speaks_http2_gets_every_concurrent_call_on_one_http2_connection(
    tls_fake: tuple[FakeOpenAI, str],
) -> None:
    fake, base_url = tls_fake
    fake.latency = 0.2  # the calls overlap
    asyncio.run(generate(base_url, CALLS))
    received = fake.requests("/v1/images/generations")
    assert [item.http_version for item in received] == ["2"] * CALLS
    assert len({item.peer for item in received}) == 1  # one connection, a stream per call


def test_a_plain_http_loopback_upstream_is_called_over_http_1_1() -> None:
    with serve_fake_openai(KEY) as (fake, base_url):
        asyncio.run(generate(base_url, 2))
        received = fake.requests("/v1/images/generations")
    assert [item.http_version for item in received] == ["1.1", "1.1"]


async def burst(base_url: str, calls: int) -> None:
    """``calls`` calls at once through one client whose upstream limit is ``calls``."""
    config = UpstreamConfig.bearer("openai", base_url, SecretStr(KEY), Settings(upstream_concurrency=calls))
    client = UpstreamClient(config, read_error)
    body = {"model": "dall-e-2", "prompt": "p", "n": 1, "size": "256x256", "response_format": "b64_json"}
    try:
        await asyncio.gather(*(client.request(Call("POST", "images/generations", json=body)) for _ in range(calls)))
    finally:
        await client.aclose()


def test_a_concurrency_limit_above_httpxs_default_pool_is_reached() -> None:
    """httpx's default pool (100 connections) would hold 120 calls at 100 in flight, under the
    operator's limit and unseen; the pool is sized to the upstream's limit instead."""
    with serve_fake_openai(KEY) as (fake, base_url):
        fake.latency = 0.5
        asyncio.run(burst(base_url, 120))
    assert len(fake.requests("/v1/images/generations")) == 120
    assert fake.most_in_flight == 120
