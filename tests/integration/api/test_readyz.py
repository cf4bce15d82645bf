"""/readyz answers 503 naming the dependency that fails: database, blob storage, Redis."""

from __future__ import annotations

from pathlib import Path

import httpx

from pixelmill.config import Settings
from tests.support.server import start_server


def _readyz(settings: Settings) -> httpx.Response:
    server = start_server(settings)
    try:
        return httpx.get(f"{server.url}/readyz", timeout=30)
    finally:
        server.stop()


def test_ready_when_database_and_storage_answer(settings: Settings) -> None:
    response = _readyz(settings)
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "storage": "ok"}


def test_unwritable_blob_storage_is_not_ready(settings: Settings, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the blob directory should be")
    response = _readyz(settings.model_copy(update={"storage_url": f"file://{blocker}/blobs"}))
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not_ready"
    assert body["checks"]["storage"].startswith("error")
    assert body["checks"]["database"] == "ok"


def test_an_unreachable_redis_is_not_ready(settings: Settings) -> None:
    response = _readyz(settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"}))
    assert response.status_code == 503
    assert response.json()["checks"]["redis"].startswith("error")
