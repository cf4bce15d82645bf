"""ImagineLab's documented client against pixelmill served on loopback (SQLite and PostgreSQL).

The Python and curl examples of ImagineLab's developer documentation run as written, with only the
base URL and the credentials changed; then every documented error, and the proof that an ImagineLab
generation is a canonical one (one run, one ledger).
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests
from PIL import Image

from pixelmill.config import Settings, default_plans
from tests.support.accounts import SeededAccount, seed_account
from tests.support.plans import unthrottled_plans
from tests.support.runs import grant
from tests.support.server import LiveServer, start_server

# The record as the document shows it, in its order; pixelmill adds project_id, settings and error after it.
DOCUMENTED_RECORD = [
    "id",
    "user_id",
    "generation_type",
    "model_name",
    "prompt",
    "status",
    "credit_cost",
    "created_at",
    "outputs",
]
CLOSED_PORT_BROKER = "redis://127.0.0.1:1/3"  # nothing listens on port 1
TIMESTAMP = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"plans": unthrottled_plans(), "dispatch_poll_seconds": 0.2})


@pytest.fixture
def funded(account: SeededAccount, settings: Settings) -> SeededAccount:
    grant(settings.resolved_database_url, account.workspace_id, 100)
    return account


@pytest.fixture
def base(live_server: LiveServer) -> str:
    return f"{live_server.url}/api/v1"


def token(base: str, account: SeededAccount) -> dict[str, str]:
    answer = httpx.post(f"{base}/auth/login", data={"username": account.email, "password": account.password})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def wait_done(base: str, headers: dict[str, str], gid: int) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status: dict[str, Any] = httpx.get(f"{base}/generations/{gid}/status", headers=headers).json()
        if status["status"] in ("completed", "failed"):
            return status
        time.sleep(0.1)
    raise AssertionError(f"generation {gid} did not finish")


def test_the_documented_python_example_runs_as_written(base: str, funded: SeededAccount) -> None:
    BASE = base

    # 1. Login
    tok = requests.post(
        f"{BASE}/auth/login",
        data={
            "username": funded.email,
            "password": funded.password,
        },
        timeout=30,
    ).json()["access_token"]
    H = {"Authorization": f"Bearer {tok}"}

    # 2. Create
    gen = requests.post(
        f"{BASE}/generations",
        headers=H,
        json={
            "generation_type": "image",
            "model_name": "seedream-5.0-lite",
            "prompt": "A neon city skyline at dusk",
        },
        timeout=30,
    ).json()
    gid = gen["id"]

    # 3. Poll
    while True:
        s = requests.get(f"{BASE}/generations/{gid}/status", headers=H, timeout=30).json()
        if s["status"] in ("completed", "failed"):
            break
        time.sleep(2)

    # 4. Result
    out = requests.get(f"{BASE}/generations/{gid}", headers=H, timeout=30).json()

    assert isinstance(gid, int)
    assert list(gen) == [*DOCUMENTED_RECORD, "project_id", "settings", "error"]
    assert isinstance(gen["user_id"], int)
    assert (gen["generation_type"], gen["model_name"], gen["prompt"]) == (
        "image",
        "seedream-5.0-lite",
        "A neon city skyline at dusk",
    )
    assert (gen["status"], gen["credit_cost"], gen["outputs"]) == ("pending", 5, [])
    assert s == {"id": gid, "status": "completed", "progress": 100}
    assert out["status"] == "completed"
    assert (out["id"], out["user_id"], out["model_name"]) == (gid, gen["user_id"], "seedream-5.0-lite")
    assert len(out["outputs"]) == 1
    picture = Image.open(io.BytesIO(requests.get(out["outputs"][0], timeout=30).content))
    assert picture.format == "PNG"
    assert picture.size == (1024, 1024)


def test_the_documented_curl_examples_run_as_written(base: str, funded: SeededAccount) -> None:
    login = subprocess.run(
        [
            "curl",
            "-s",
            "-X",
            "POST",
            f"{base}/auth/login",
            "-H",
            "Content-Type: application/x-www-form-urlencoded",
            "-d",
            f"username={funded.email}&password={funded.password}",
        ],
        capture_output=True,
        check=True,
        text=True,
    )
    answer = json.loads(login.stdout)
    assert set(answer) == {"access_token", "token_type"}
    assert answer["token_type"] == "bearer"
    created = subprocess.run(
        [
            "curl",
            "-s",
            "-X",
            "POST",
            f"{base}/generations",
            "-H",
            f"Authorization: Bearer {answer['access_token']}",
            "-H",
            "Content-Type: application/json",
            "-d",
            """{
    "generation_type": "image",
    "model_name": "seedream-5.0-lite",
    "prompt": "A neon city skyline at dusk"
  }""",
        ],
        capture_output=True,
        check=True,
        text=True,
    )
    record = json.loads(created.stdout)
    assert list(record)[:9] == DOCUMENTED_RECORD
    assert (record["status"], record["credit_cost"], record["outputs"]) == ("pending", 5, [])
    assert isinstance(record["id"], int)
    assert isinstance(record["user_id"], int)
    assert re.match(TIMESTAMP, record["created_at"])


def test_a_generation_made_here_is_one_canonical_run_with_one_ledger(
    base: str, api: httpx.Client, funded: SeededAccount
) -> None:
    headers = token(base, funded)
    created = httpx.post(
        f"{base}/generations", headers=headers, json={"generation_type": "voice", "prompt": "Hello there."}
    ).json()
    assert wait_done(base, headers, created["id"])["status"] == "completed"
    listed = api.get("/v1/generations", headers=funded.headers).json()["data"]
    assert len(listed) == 1
    run_id = listed[0]["id"]
    run = api.get(f"/v1/runs/{run_id}", headers=funded.headers).json()
    assert (run["kind"], run["status"], run["credits_used"]) == ("generation", "completed", 3)
    assert run["metadata"]["generation_type"] == "voice"
    assert run["metadata"]["user_id"] == funded.user_id
    ledger = api.get("/v1/credits/ledger", headers=funded.headers).json()["data"]
    assert [(e["kind"], e["amount"]) for e in ledger if e["run_id"] == run_id] == [("capture", 3), ("hold", 3)]
    assert [e["kind"] for e in ledger if e["run_id"] is None] == ["grant"]
    wallet = httpx.get(f"{base}/credits/wallet", headers=headers).json()
    assert wallet == {"balance": 97, "reserved": 0, "available": 97}
    assert wallet == {
        k: v for k, v in api.get("/v1/credits/wallet", headers=funded.headers).json().items() if k != "workspace_id"
    }
    # The same output, read through both APIs.
    done = httpx.get(f"{base}/generations/{created['id']}", headers=headers).json()
    assert len(done["outputs"]) == 1
    assert api.get(done["outputs"][0]).content == api.get(listed[0]["outputs"][0]).content


def test_history_pages_by_skip_and_limit_and_reads_canonical_generations_too(
    base: str, api: httpx.Client, funded: SeededAccount
) -> None:
    headers = token(base, funded)
    ids = [
        httpx.post(
            f"{base}/generations", headers=headers, json={"generation_type": "infographic", "prompt": f"Chart {n}"}
        ).json()["id"]
        for n in range(3)
    ]
    canonical = api.post(
        "/v1/generations", headers=funded.headers, json={"generation_type": "infographic", "prompt": "Canonical"}
    )
    assert canonical.status_code == 201
    history = httpx.get(f"{base}/generations", headers=headers).json()
    assert [g["prompt"] for g in history] == ["Canonical", "Chart 2", "Chart 1", "Chart 0"]
    assert [g["id"] for g in history[1:]] == ids[::-1]
    assert history[0]["id"] not in ids
    assert history[0]["user_id"] == history[1]["user_id"]
    page = httpx.get(f"{base}/generations", headers=headers, params={"skip": 1, "limit": 2}).json()
    assert [g["id"] for g in page] == ids[::-1][:2]
    # The alias of the canonical generation is stable across reads.
    again = httpx.get(f"{base}/generations", headers=headers, params={"limit": 1}).json()
    assert again[0]["id"] == history[0]["id"]
    assert httpx.get(f"{base}/generations/{history[0]['id']}", headers=headers).json()["prompt"] == "Canonical"


def test_projects_tag_generations_and_filter_the_history(base: str, api: httpx.Client, funded: SeededAccount) -> None:
    headers = token(base, funded)
    project = httpx.post(f"{base}/projects", headers=headers, json={"name": "Launch"})
    assert project.status_code == 201, project.text
    pid = project.json()["id"]
    assert isinstance(pid, int)
    tagged = httpx.post(
        f"{base}/generations",
        headers=headers,
        json={"generation_type": "voice", "prompt": "Tagged.", "project_id": pid},
    ).json()
    httpx.post(f"{base}/generations", headers=headers, json={"generation_type": "voice", "prompt": "Loose."})
    assert tagged["project_id"] == pid
    filtered = httpx.get(f"{base}/generations", headers=headers, params={"project_id": pid}).json()
    assert [g["id"] for g in filtered] == [tagged["id"]]
    assert [p["name"] for p in httpx.get(f"{base}/projects", headers=headers).json()] == ["Launch"]
    # The canonical API sees the same project and filters by it.
    projects = api.get("/v1/projects", headers=funded.headers).json()["data"]
    assert [p["name"] for p in projects] == ["Launch"]
    canonical = api.get("/v1/generations", headers=funded.headers, params={"project_id": projects[0]["id"]}).json()[
        "data"
    ]
    assert [g["prompt"] for g in canonical] == ["Tagged."]
    made = api.post(
        "/v1/generations",
        headers=funded.headers,
        json={"generation_type": "voice", "prompt": "Canonical.", "project_id": projects[0]["id"]},
    )
    assert made.status_code == 201, made.text
    filtered = httpx.get(f"{base}/generations", headers=headers, params={"project_id": pid}).json()
    assert [g["prompt"] for g in filtered] == ["Canonical.", "Tagged."]


def test_another_tenants_ids_are_not_found(base: str, funded: SeededAccount, settings: Settings) -> None:
    mine = token(base, funded)
    other = seed_account(settings.resolved_database_url)
    grant(settings.resolved_database_url, other.workspace_id, 100)
    theirs = token(base, other)
    gid = httpx.post(
        f"{base}/generations", headers=theirs, json={"generation_type": "voice", "prompt": "Mine."}
    ).json()["id"]
    pid = httpx.post(f"{base}/projects", headers=theirs, json={"name": "Secret"}).json()["id"]
    for method, path in [
        ("GET", f"/generations/{gid}"),
        ("GET", f"/generations/{gid}/status"),
        ("DELETE", f"/generations/{gid}"),
    ]:
        answer = httpx.request(method, f"{base}{path}", headers=mine)
        assert (answer.status_code, answer.json()) == (404, {"detail": "Generation not found"}), path
    answer = httpx.get(f"{base}/generations", headers=mine, params={"project_id": pid})
    assert (answer.status_code, answer.json()) == (404, {"detail": "Project not found"})
    answer = httpx.post(
        f"{base}/generations", headers=mine, json={"generation_type": "voice", "prompt": "x", "project_id": pid}
    )
    assert (answer.status_code, answer.json()) == (404, {"detail": "Project not found"})
    assert httpx.get(f"{base}/generations", headers=mine).json() == []
    # Still there for its owner.
    assert httpx.get(f"{base}/generations/{gid}", headers=theirs).status_code == 200


@pytest.mark.parametrize(
    "path", ["/generations/999999", "/generations/abc", "/generations/-1/status", "/generations/0"]
)
def test_unknown_ids_are_404_with_a_detail(base: str, funded: SeededAccount, path: str) -> None:
    answer = httpx.get(f"{base}{path}", headers=token(base, funded))
    assert (answer.status_code, answer.json()) == (404, {"detail": "Generation not found"})


def test_delete_cancels_a_pending_generation_releases_its_credits_and_hides_it(
    base: str, funded: SeededAccount, settings: Settings
) -> None:
    headers = token(base, funded)
    done = httpx.post(f"{base}/generations", headers=headers, json={"generation_type": "voice", "prompt": "Done."})
    wait_done(base, headers, done.json()["id"])
    answer = httpx.delete(f"{base}/generations/{done.json()['id']}", headers=headers)
    assert (answer.status_code, answer.json()) == (200, {"message": "Generation deleted"})
    assert httpx.get(f"{base}/generations/{done.json()['id']}", headers=headers).status_code == 404
    assert httpx.delete(f"{base}/generations/{done.json()['id']}", headers=headers).status_code == 404
    assert httpx.get(f"{base}/credits/wallet", headers=headers).json()["balance"] == 97


def test_insufficient_credits_is_402_with_the_documented_detail(base: str, account: SeededAccount) -> None:
    headers = token(base, account)  # a workspace with no credits
    answer = httpx.post(
        f"{base}/generations", headers=headers, json={"generation_type": "image", "prompt": "A lighthouse"}
    )
    assert (answer.status_code, answer.json()) == (402, {"detail": "Insufficient credits"})
    assert httpx.get(f"{base}/generations", headers=headers).json() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"model_name": "seedream-5.0-lite", "prompt": "A city"}, "generation_type"),
        ({"generation_type": "hologram", "prompt": "A city"}, "generation_type"),
        ({"generation_type": "image", "model_name": "no-such-model", "prompt": "A city"}, "model_name"),
        ({"generation_type": "image", "prompt": ""}, "prompt"),
        ({"generation_type": "image", "prompt": "A city", "settings": {"colour": "red"}}, "settings.colour"),
        ({"generation_type": "image", "prompt": "A city", "project_id": "seven"}, "project_id"),
    ],
)
def test_invalid_or_missing_fields_are_400_with_a_detail(
    base: str, funded: SeededAccount, body: dict[str, Any], field: str
) -> None:
    answer = httpx.post(f"{base}/generations", headers=token(base, funded), json=body)
    assert answer.status_code == 400, answer.text
    assert list(answer.json()) == ["detail"]
    assert field in answer.json()["detail"]


def test_a_body_that_is_not_json_is_400(base: str, funded: SeededAccount) -> None:
    headers = {**token(base, funded), "Content-Type": "application/json"}
    answer = httpx.post(f"{base}/generations", headers=headers, content=b"{not json")
    assert answer.status_code == 400
    assert list(answer.json()) == ["detail"]


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b'{"generation_type": "image", "prompt": "a \\u0000 lake"}', "NUL"),  # refused at the input edge
        (b'{"generation_type": "image", "settings": ' + b'{"a": ' * 80 + b"1" + b"}" * 81, "deep"),
    ],
    ids=["nul", "too-deep"],
)
def test_what_the_edge_refuses_is_400_with_a_detail_too(
    base: str, funded: SeededAccount, content: bytes, code: str
) -> None:
    # The input edge runs before any route; under /api/v1 it answers in ImagineLab's shape all the same.
    headers = {**token(base, funded), "Content-Type": "application/json"}
    answer = httpx.post(f"{base}/generations", headers=headers, content=content)
    assert answer.status_code == 400, (code, answer.text)
    assert list(answer.json()) == ["detail"]
    canonical = httpx.post(f"{base.removesuffix('/api/v1')}/v1/generations", headers=headers, content=content)
    assert canonical.status_code == 422, canonical.text
    assert "error" in canonical.json()


def test_a_body_over_the_size_limit_is_400_with_a_detail(settings: Settings, funded: SeededAccount) -> None:
    server = start_server(settings.model_copy(update={"max_request_bytes": 4096}))
    try:
        content = json.dumps({"generation_type": "image", "prompt": "x" * 5000}).encode()
        headers = {**funded.headers, "Content-Type": "application/json"}
        dialect = httpx.post(f"{server.url}/api/v1/generations", headers=headers, content=content)
        canonical = httpx.post(f"{server.url}/v1/generations", headers=headers, content=content)
    finally:
        server.stop()
    assert dialect.status_code == 400, dialect.text
    assert list(dialect.json()) == ["detail"]
    assert "4096 bytes" in dialect.json()["detail"]
    assert (canonical.status_code, canonical.json()["error"]["code"]) == (413, "PAYLOAD_TOO_LARGE")


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic dXNlcjpwYXNz"}]
)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/auth/me"),
        ("GET", "/generations/models"),
        ("POST", "/generations"),
        ("GET", "/generations"),
        ("GET", "/generations/1"),
        ("GET", "/generations/1/status"),
        ("DELETE", "/generations/1"),
        ("GET", "/credits/wallet"),
        ("GET", "/credits/packages"),
    ],
)
def test_a_missing_or_invalid_bearer_token_is_401(base: str, headers: dict[str, str], method: str, path: str) -> None:
    answer = httpx.request(method, f"{base}{path}", headers=headers, json={} if method == "POST" else None)
    assert answer.status_code == 401
    assert list(answer.json()) == ["detail"]
    assert answer.headers["WWW-Authenticate"] == "Bearer"


def test_login_with_a_wrong_password_is_401(base: str, account: SeededAccount) -> None:
    answer = httpx.post(f"{base}/auth/login", data={"username": account.email, "password": "wrong password!"})
    assert (answer.status_code, answer.json()) == (401, {"detail": "Incorrect email or password"})
    missing = httpx.post(f"{base}/auth/login", data={"username": account.email})
    assert missing.status_code == 400
    assert "password" in missing.json()["detail"]


def test_an_api_key_works_as_the_bearer_token(base: str, funded: SeededAccount) -> None:
    answer = httpx.post(
        f"{base}/generations", headers=funded.headers, json={"generation_type": "voice", "prompt": "By key."}
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["status"] == "pending"


def test_signup_me_and_forgot_password(base: str) -> None:
    signed = httpx.post(
        f"{base}/auth/signup", json={"email": "new@example.com", "password": "a long password", "full_name": "Ada"}
    )
    assert signed.status_code == 201, signed.text
    body = signed.json()
    assert (body["email"], body["full_name"], body["credits"], body["token_type"]) == (
        "new@example.com",
        "Ada",
        100,
        "bearer",
    )
    assert isinstance(body["id"], int)
    again = httpx.post(f"{base}/auth/signup", json={"email": "new@example.com", "password": "a long password"})
    assert again.status_code == 400
    assert again.json() == {"detail": "An account with this email already exists"}
    short = httpx.post(f"{base}/auth/signup", json={"email": "short@example.com", "password": "x"})
    assert short.status_code == 400
    headers = token(base, SeededAccount("new@example.com", "a long password", "", "", "", ""))
    me = httpx.get(f"{base}/auth/me", headers=headers).json()
    assert me == {"id": body["id"], "email": "new@example.com", "full_name": "Ada", "is_active": True, "credits": 100}
    forgot = httpx.post(f"{base}/auth/forgot-password", json={"email": "new@example.com"})
    unknown = httpx.post(f"{base}/auth/forgot-password", json={"email": "nobody@example.com"})
    assert forgot.status_code == unknown.status_code == 200
    assert forgot.json() == unknown.json()
    assert "password reset" in forgot.json()["message"]


def test_models_packages_and_the_documented_costs(base: str, funded: SeededAccount) -> None:
    headers = token(base, funded)
    models = httpx.get(f"{base}/generations/models", headers=headers).json()
    by_name = {m["name"]: m for m in models}
    assert by_name["seedream-5.0-lite"]["generation_type"] == "image"
    assert by_name["seedream-5.0-lite"]["runs"] == "local/procedural"
    costs = {m["generation_type"]: m["credit_cost"] for m in models if m["default"]}
    assert costs == {"text": 2, "voice": 3, "image": 5, "music": 8, "infographic": 10, "video": 15}
    packages = httpx.get(f"{base}/credits/packages", headers=headers).json()
    assert [p["id"] for p in packages] == ["pkg_small", "pkg_medium", "pkg_large"]
    assert set(packages[0]) == {"id", "name", "credits", "price_cents", "currency"}


@pytest.fixture
def parked(settings: Settings) -> Iterator[str]:
    """A server whose runs stay pending: it hands them to a broker nobody listens on."""
    server = start_server(settings.model_copy(update={"dispatch": "celery", "broker_url": CLOSED_PORT_BROKER}))
    yield server.url
    server.stop()


def test_a_pending_generation_reads_pending_and_a_cancelled_one_failed(parked: str, funded: SeededAccount) -> None:
    base = f"{parked}/api/v1"
    headers = token(base, funded)
    created = httpx.post(f"{base}/generations", headers=headers, json={"generation_type": "voice", "prompt": "Wait."})
    gid = created.json()["id"]
    assert httpx.get(f"{base}/generations/{gid}/status", headers=headers).json() == {
        "id": gid,
        "status": "pending",
        "progress": 0,
    }
    run_id = httpx.get(f"{parked}/v1/generations", headers=funded.headers).json()["data"][0]["id"]
    assert httpx.post(f"{parked}/v1/generations/{run_id}/cancel", headers=funded.headers).status_code == 200
    # The documented loop waits for completed or failed: a cancelled generation must end it.
    assert httpx.get(f"{base}/generations/{gid}/status", headers=headers).json()["status"] == "failed"


def test_delete_of_a_pending_generation_cancels_it_and_releases_its_credits(parked: str, funded: SeededAccount) -> None:
    base = f"{parked}/api/v1"
    headers = token(base, funded)
    gid = httpx.post(
        f"{base}/generations", headers=headers, json={"generation_type": "image", "prompt": "A lake"}
    ).json()["id"]
    assert httpx.get(f"{base}/credits/wallet", headers=headers).json() == {
        "balance": 100,
        "reserved": 5,
        "available": 95,
    }
    answer = httpx.delete(f"{base}/generations/{gid}", headers=headers)
    assert (answer.status_code, answer.json()) == (200, {"message": "Generation deleted"})
    assert httpx.get(f"{base}/generations/{gid}", headers=headers).status_code == 404
    assert httpx.get(f"{base}/credits/wallet", headers=headers).json() == {
        "balance": 100,
        "reserved": 0,
        "available": 100,
    }


def test_polling_past_the_plans_rate_limit_is_429_with_a_detail(settings: Settings, funded: SeededAccount) -> None:
    server = start_server(settings.model_copy(update={"plans": default_plans()}))  # pro: 30 requests a minute
    try:
        base = f"{server.url}/api/v1"
        answers = [httpx.get(f"{base}/generations/1/status", headers=funded.headers) for _ in range(31)]
    finally:
        server.stop()
    assert [a.status_code for a in answers[:30]] == [404] * 30  # polling counts, even for nothing
    limited = answers[30]
    assert limited.status_code == 429
    assert list(limited.json()) == ["detail"]
    assert "30 requests per minute" in limited.json()["detail"]
    assert 0 < int(limited.headers["Retry-After"]) <= 60
