"""ima2's status and key routes against pixelmill's real state (SQLite and PostgreSQL), and the ways
an ima2 client gets in: a pixelmill key as bearer, ``X-Ima2-Token`` or ``?token=``, or nothing at all
in single-user mode on loopback.

Keys are checked against the fake OpenAI on loopback; the xAI key comes from the server's settings
(its environment), so it cannot be changed through ima2's routes."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import pixelmill
from pixelmill.config import Settings
from tests.support.accounts import SeededAccount, seed_account
from tests.support.fake_openai import FAKE_OPENAI_KEY, FakeOpenAI
from tests.support.ima2_jobs import create_job, image_graph, job, sleep_graph
from tests.support.run_nodes import GATES, use_run_nodes
from tests.support.runs import grant
from tests.support.server import LiveServer, start_server
from tests.support.upstream_settings import served_settings

WRONG = "sk-proj-wrongkey-0123456789abcdefWRONG9876"
XAI_ENV_KEY = "xai-envkey-0123456789abcdef"


@pytest.fixture
def settings(tmp_path: Path, database_url: str, fake: tuple[FakeOpenAI, str]) -> Settings:
    return served_settings(
        tmp_path,
        database_url,
        openai_base_url=fake[1],
        openai_api_key=None,
        xai_api_key=XAI_ENV_KEY,
        ima2_max_parallel=7,
    )


@pytest.fixture
def operator(settings: Settings) -> SeededAccount:
    return seed_account(settings.resolved_database_url, plan="operator", operator=True)


@pytest.fixture
def client(live_server: LiveServer, operator: SeededAccount) -> Iterator[httpx.Client]:
    use_run_nodes(live_server.app.state.runtime)
    with httpx.Client(base_url=live_server.url, headers=operator.headers, timeout=30) as client:
        yield client
    GATES.reset()


def test_keys_set_remove_and_env_immutable(client: httpx.Client) -> None:
    status = client.get("/api/keys/status")
    assert status.status_code == 200, status.text
    body = status.json()
    assert set(body) == {"openai", "xai", "gemini", "vertex", "geminiAuthMode"}
    assert body["openai"] == {"configured": False, "source": "none", "valid": False, "maskedKey": None}
    assert body["xai"]["configured"] is True
    assert body["xai"]["source"] == "env"
    assert body["geminiAuthMode"] == "apikey"

    refused = client.put("/api/keys/openai", json={"apiKey": WRONG})
    assert refused.status_code == 400
    assert refused.json()["ok"] is False
    assert refused.json()["code"] == "PROVIDER_KEY_REJECTED"
    assert client.get("/api/keys/status").json()["openai"]["configured"] is False

    saved = client.put("/api/keys/openai", json={"apiKey": FAKE_OPENAI_KEY})
    assert saved.status_code == 200, saved.text
    assert saved.json() == {"ok": True, "provider": "openai", "source": "config", "valid": True}
    openai = client.get("/api/keys/status").json()["openai"]
    assert openai["configured"] is True
    assert openai["source"] == "config"
    assert openai["valid"] is True
    assert openai["maskedKey"] == "sk-\u20263456"
    assert FAKE_OPENAI_KEY not in client.get("/api/keys/status").text
    providers = client.get("/api/providers").json()
    assert (providers["apiKey"], providers["apiKeySource"]) == (True, "config")
    billing = client.get("/api/billing").json()
    assert (billing["apiKeyValid"], billing["apiKeySource"]) == (True, "config")

    removed = client.delete("/api/keys/openai")
    assert removed.json() == {"ok": True, "provider": "openai", "source": "none", "configured": False}
    assert client.get("/api/providers").json()["apiKeySource"] == "none"
    assert client.get("/api/billing").json()["oauth"] is True

    for response in (client.put("/api/keys/xai", json={"apiKey": "xai-other"}), client.delete("/api/keys/xai")):
        assert response.status_code == 409
        assert response.json()["ok"] is False
        assert response.json()["code"] == "ENV_KEY_IMMUTABLE"
    unknown = client.put("/api/keys/anthropic", json={"apiKey": "x"})
    assert (unknown.status_code, unknown.json()["code"]) == (400, "INVALID_PROVIDER")
    empty = client.put("/api/keys/openai", json={"apiKey": "  "})
    assert (empty.status_code, empty.json()["code"]) == (400, "INVALID_API_KEY")

    # A Vertex service account is JSON (text or object); one that is not is refused and nothing is saved.
    broken = client.put("/api/keys/vertex", json={"serviceAccountJson": {"type": "service_account"}})
    assert broken.status_code == 400
    assert broken.json()["ok"] is False
    assert client.get("/api/keys/status").json()["vertex"]["configured"] is False
    nothing = client.delete("/api/keys/vertex")
    assert (nothing.status_code, nothing.json()["code"]) == (404, "NOT_FOUND")

    assert client.put("/api/keys/gemini-auth-mode", json={"mode": "vertex"}).json() == {
        "ok": True,
        "geminiAuthMode": "vertex",
    }
    assert client.get("/api/keys/status").json()["geminiAuthMode"] == "vertex"
    bad_mode = client.put("/api/keys/gemini-auth-mode", json={"mode": "oauth"})
    assert (bad_mode.status_code, bad_mode.json()["code"]) == (400, "INVALID_AUTH_MODE")


def _wait(client: httpx.Client, run_id: str, statuses: set[str]) -> None:
    deadline = time.monotonic() + 20
    while client.get(f"/v1/runs/{run_id}").json()["status"] not in statuses:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_status_routes_read_the_real_state(
    client: httpx.Client, live_server: LiveServer, operator: SeededAccount, settings: Settings
) -> None:
    grant(settings.resolved_database_url, operator.workspace_id, 100)
    health = client.get("/api/health").json()
    assert health["ok"] is True
    assert health["version"] == pixelmill.__version__
    assert health["provider"] == "oauth"
    assert health["activeJobs"] == 0
    assert health["pid"] == os.getpid()  # the test server runs in this process
    assert health["startedAt"] <= time.time() * 1000
    port = int(live_server.url.rsplit(":", 1)[1])
    assert health["runtime"]["backend"] == {
        "configuredPort": settings.port,
        "actualPort": port,
        "url": live_server.url,
    }
    assert health["runtime"]["oauth"]["status"] == "ready"

    running = create_job(settings, operator, job("freq_busy"), sleep_graph(20))
    _wait(client, running, {"running"})
    assert client.get("/api/health").json()["activeJobs"] == 1
    client.delete("/api/inflight/freq_busy")

    oauth = client.get("/api/oauth/status").json()
    assert oauth["status"] == "ready"
    assert "local/procedural" in oauth["models"]
    grok = client.get("/api/grok/status").json()
    assert grok["status"] == "ready"
    assert grok["models"]
    assert all(model.startswith("xai/") for model in grok["models"])
    assert client.get("/api/agy/status").json() == {"installed": False}

    capabilities = client.get("/api/capabilities").json()
    assert capabilities["limits"]["maxParallel"]["value"] == 7
    assert capabilities["limits"]["maxRefCount"] == 5
    assert capabilities["limits"]["maxGeneratedImages"] == 24
    assert "local/procedural" in capabilities["valid"]["pixelmillModels"]

    quota = client.get("/api/quota").json()
    assert quota["grok"]["authenticated"] is True
    assert quota["codex"]["provider"] == "codex"

    assert client.get("/api/storage/status").json()["data"]["generatedCount"] == 0
    done = create_job(settings, operator, job("freq_done"), image_graph())
    _wait(client, done, {"completed"})
    storage = client.get("/api/storage/status").json()
    assert storage["ok"] is True
    assert storage["data"]["generatedCount"] == 1
    billing = client.get("/api/billing").json()
    assert billing["credits"]["balance"] == 100 - client.get(f"/v1/runs/{done}").json()["credits_used"]


def _inflight(server: LiveServer, **kwargs: Any) -> httpx.Response:
    with httpx.Client(base_url=server.url, timeout=30) as anonymous:
        return anonymous.get("/api/inflight", **kwargs)


def test_ima2_token_header_and_query_carry_a_pixelmill_key(live_server: LiveServer, operator: SeededAccount) -> None:
    assert _inflight(live_server, headers={"X-Ima2-Token": operator.key}).status_code == 200
    assert _inflight(live_server, params={"token": operator.key}).status_code == 200
    # No credential, or a wrong one: ima2's 401, in the route's own shape (flat here, nested on sessions).
    for response in (_inflight(live_server), _inflight(live_server, headers={"X-Ima2-Token": "pm_live_nope"})):
        assert response.status_code == 401
        assert response.json()["code"] == "LAN_TOKEN_REQUIRED"
    with httpx.Client(base_url=live_server.url, timeout=30) as anonymous:
        nested = anonymous.get("/api/sessions")
    assert nested.status_code == 401
    assert nested.json()["error"]["code"] == "LAN_TOKEN_REQUIRED"


def test_single_user_mode_acts_as_the_operator_on_loopback(settings: Settings, operator: SeededAccount) -> None:
    server = start_server(settings.model_copy(update={"anonymous_loopback": True}))
    try:
        with httpx.Client(base_url=server.url, timeout=30) as anonymous:
            created = anonymous.post("/api/sessions", json={"title": "from the ima2 UI"})
            assert created.status_code == 201, created.text
            assert anonymous.get("/api/health").json()["ok"] is True
            # A credential given is still checked.
            assert anonymous.get("/api/sessions", headers={"X-Ima2-Token": "pm_live_nope"}).status_code == 401
        with httpx.Client(base_url=server.url, headers=operator.headers, timeout=30) as keyed:
            titles = [item["title"] for item in keyed.get("/api/sessions").json()["sessions"]]
        assert titles == ["from the ima2 UI"]
    finally:
        server.stop()
