"""The fleet's ``remote`` queue: a worker consuming only ``remote`` (a cheap host with no GPU and no
local models) executes runs whose model calls all go upstream, here an OpenAI image run against the
fake OpenAI Images API on loopback, and never a run that computes locally, which waits for a ``cpu``
worker. ``pixelmill serve`` and ``pixelmill worker`` subprocesses on PostgreSQL, with Redis and with
RabbitMQ as the broker."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_fleet import _account, _statuses, _wait_terminal
from tests.support.databases import PostgresTemplate
from tests.support.fake_openai import FakeOpenAI, serve_fake_openai
from tests.support.fleet import BROKER_REDIS_URL, Fleet, running_fleet
from tests.support.services import RABBITMQ_URL, require_service

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

KEY = "sk-proj-fleet-remote-0123456789abcdef"


@pytest.fixture(
    params=[
        pytest.param(BROKER_REDIS_URL, id="redis-broker"),
        pytest.param(RABBITMQ_URL, id="rabbitmq-broker", marks=pytest.mark.rabbitmq),
    ]
)
def broker_url(request: pytest.FixtureRequest) -> str:
    url: str = request.param
    require_service("Redis", "127.0.0.1", 6379)
    if url.startswith("amqp://"):
        require_service("RabbitMQ", "127.0.0.1", 5672)
    return url


@pytest.fixture
def fake() -> Iterator[tuple[FakeOpenAI, str]]:
    with serve_fake_openai(KEY) as served:
        yield served


@pytest.fixture
def fleet(
    tmp_path: Path, postgres_template: PostgresTemplate, broker_url: str, fake: tuple[FakeOpenAI, str]
) -> Iterator[Fleet]:
    # Every member has the key: the API to list and check the model, the workers to call it.
    settings = {"openai_api_key": KEY, "openai_base_url": fake[1], "republish_after_seconds": "1"}
    with running_fleet(tmp_path, postgres_template.fresh(), broker_url, **settings) as running:
        yield running


def image_graph(**inputs: str) -> dict[str, Any]:
    return {"nodes": [{"id": "img", "type": "image.generate", "inputs": inputs}], "edges": []}


def test_a_remote_only_worker_runs_upstream_runs_and_leaves_local_ones_to_cpu_workers(
    fleet: Fleet, fake: tuple[FakeOpenAI, str]
) -> None:
    server, _ = fake
    account = _account(fleet.database_url)
    api = fleet.api("api")
    fleet.worker("remote-only", queues="remote")
    upstream = image_graph(prompt="a lighthouse", model="openai/gpt-image-1")
    local = image_graph(prompt="a lighthouse")  # the default model: the built-in renderer, here
    with httpx.Client(base_url=api.url, timeout=30, headers=account.headers) as client:
        created = [client.post("/v1/runs", json={"graph": graph}) for graph in (upstream, local)]
        assert [response.status_code for response in created] == [201, 201], created[0].text
        remote_id, local_id = (response.json()["run_id"] for response in created)

        (finished,) = _wait_terminal(fleet, [remote_id], timeout=60).values()
        assert finished.status == "completed", finished.error
        (sent,) = server.requests("/v1/images/generations")
        assert sent.json is not None
        assert sent.json["model"] == "gpt-image-1"
        # The local run was published (and, queued past republish_after_seconds, republished by the
        # sweeper) to the cpu queue only: the remote-only worker never took it.
        time.sleep(3)
        assert _statuses(fleet.database_url, [local_id])[local_id].status == "queued"

        fleet.worker("cpu", queues="cpu")
        (done,) = _wait_terminal(fleet, [local_id], timeout=60).values()
        assert done.status == "completed", done.error
        assert len(server.requests("/v1/images/generations")) == 1  # the local run called no upstream
        assert client.get(f"/v1/runs/{remote_id}").json()["nodes"][0]["model"] == "openai/gpt-image-1"
