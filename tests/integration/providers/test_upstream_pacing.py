"""Per-second rates in the shared upstream client, against the fake xAI on loopback: a burst of one
rate class arrives spread out at the rate, other classes and unpaced calls are not held up by it, and
a call to another origin goes without the key."""

from __future__ import annotations

import asyncio
import itertools
import statistics
import uuid
from collections.abc import Iterator

import pytest

from pixelmill.providers.upstream.client import Call, UpstreamClient, UpstreamConfig
from pixelmill.providers.xai import read_error
from tests.support.fake_xai import FakeXAI, serve_fake_xai

pytestmark = pytest.mark.anyio

BODY = {"model": "grok-imagine-image", "prompt": "p", "n": 1, "response_format": "b64_json"}


@pytest.fixture
def key() -> str:
    # Pacers are shared per upstream and key in the process: a key of its own keeps tests apart.
    return f"xai-pacing-{uuid.uuid4().hex}"


@pytest.fixture
def fake(key: str) -> Iterator[tuple[FakeXAI, str]]:
    with serve_fake_xai(key) as served:
        yield served


def client_for(base_url: str, key: str, rates: dict[str, float]) -> UpstreamClient:
    config = UpstreamConfig(
        provider="xai",
        base_url=base_url + "/",
        headers={"Authorization": f"Bearer {key}"},
        secret=key,
        concurrency=8,
        rates=rates,
    )
    return UpstreamClient(config, read_error)


def gaps(times: list[float]) -> list[float]:
    ordered = sorted(times)
    return [later - earlier for earlier, later in itertools.pairwise(ordered)]


async def test_a_burst_over_the_rate_arrives_spread_out_and_every_call_succeeds(
    fake: tuple[FakeXAI, str], key: str
) -> None:
    server, base_url = fake
    client = client_for(base_url, key, {"image": 20})
    try:
        responses = await asyncio.gather(
            *(client.request(Call("POST", "images/generations", json=BODY, rate_class="image")) for _ in range(10))
        )
    finally:
        await client.aclose()
    assert [r.status_code for r in responses] == [200] * 10
    arrived = [r.at for r in server.requests("/v1/images/generations")]
    assert len(arrived) == 10
    # Sent 1/20 s apart; arrivals jitter by a loopback hop (the first one also opens a connection).
    assert statistics.median(gaps(arrived)) >= 0.035
    assert 0.35 <= max(arrived) - min(arrived) < 2.0


async def test_calls_without_a_class_and_other_classes_are_not_held_up(fake: tuple[FakeXAI, str], key: str) -> None:
    server, base_url = fake
    client = client_for(base_url, key, {"image": 20, "video": 1})
    try:
        started = asyncio.get_running_loop().time()
        await asyncio.gather(
            *(
                client.request(Call("POST", "videos/generations", json={"prompt": "v"}, rate_class="video"))
                for _ in range(2)
            ),
            *(client.request(Call("GET", "models")) for _ in range(6)),
            *(client.request(Call("POST", "images/generations", json=BODY, rate_class="image")) for _ in range(2)),
        )
        took = asyncio.get_running_loop().time() - started
    finally:
        await client.aclose()
    videos = [r.at for r in server.requests("/v1/videos/generations")]
    unpaced = [r.at for r in server.requests("/v1/models")]
    images = [r.at for r in server.requests("/v1/images/generations")]
    assert gaps(videos)[0] >= 0.85  # one video start a second, less the jitter of a loopback hop
    assert max(unpaced) - min(videos) < 0.5  # the model reads did not wait for the second video's turn
    assert max(images) - min(videos) < 0.5
    assert took < 3.0


async def test_a_call_to_another_origin_goes_without_the_key(fake: tuple[FakeXAI, str], key: str) -> None:
    server, base_url = fake
    client = client_for(base_url, key, {})
    try:
        same = await client.request(Call("GET", "models"))
        other = await client.request(Call("GET", f"{server.bucket_url}/xai-vidgen-bucket/xai-video-x-16x9-1.mp4"))
    finally:
        await client.aclose()
    assert same.status_code == other.status_code == 200
    (listed,) = server.requests("/v1/models")
    (fetched,) = server.requests("/bucket/xai-vidgen-bucket/xai-video-x-16x9-1.mp4")
    assert listed.headers["authorization"] == f"Bearer {key}"
    assert "authorization" not in fetched.headers
    assert other.headers["content-type"] == "video/mp4"
