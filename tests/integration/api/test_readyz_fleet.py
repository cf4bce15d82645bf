"""/readyz of a fleet API process (dispatch=celery): it checks the broker, Redis or RabbitMQ, besides the rest."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest

from pixelmill.config import Settings
from tests.support.server import start_server
from tests.support.services import RABBITMQ_URL, REDIS_URL, require_service

REDIS_DB = urlsplit(REDIS_URL)._replace(path="/3").geturl()


def _readyz(settings: Settings, broker_url: str, **extra: object) -> httpx.Response:
    server = start_server(settings.model_copy(update={"dispatch": "celery", "broker_url": broker_url, **extra}))
    try:
        return httpx.get(f"{server.url}/readyz", timeout=30)
    finally:
        server.stop()


@pytest.mark.redis
def test_ready_with_a_redis_broker_and_redis(settings: Settings) -> None:
    require_service("Redis", "127.0.0.1", 6379)
    response = _readyz(settings, REDIS_DB, redis_url=REDIS_DB)
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"database": "ok", "storage": "ok", "redis": "ok", "broker": "ok"}


@pytest.mark.rabbitmq
def test_ready_with_a_rabbitmq_broker(settings: Settings) -> None:
    require_service("RabbitMQ", "127.0.0.1", 5672)
    response = _readyz(settings, RABBITMQ_URL)
    assert response.status_code == 200, response.text
    assert response.json()["checks"]["broker"] == "ok"


@pytest.mark.parametrize("broker_url", ["amqp://guest:guest@127.0.0.1:1//", "redis://127.0.0.1:1/3"])
def test_an_unreachable_broker_is_not_ready_and_named(settings: Settings, broker_url: str) -> None:
    response = _readyz(settings, broker_url)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not_ready"
    assert body["checks"]["broker"].startswith("error")
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["storage"] == "ok"


@pytest.mark.rabbitmq
def test_a_broker_refusing_the_credentials_is_not_ready(settings: Settings) -> None:
    require_service("RabbitMQ", "127.0.0.1", 5672)
    response = _readyz(settings, "amqp://guest:not-the-password@127.0.0.1:5672//")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == "error: AccessRefused"


def test_embedded_dispatch_has_no_broker_check(settings: Settings) -> None:
    server = start_server(settings)
    try:
        response = httpx.get(f"{server.url}/readyz", timeout=30)
    finally:
        server.stop()
    assert response.status_code == 200
    assert "broker" not in response.json()["checks"]
