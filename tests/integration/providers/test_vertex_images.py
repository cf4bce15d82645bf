"""``vertex/*`` image models against the loopback fake's Vertex route and token endpoint, with a real
RSA service-account key made in the test: the token flow (signed assertion, one token for many
calls), the route per location and project, refusals, and a run over the served app."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from PIL import Image

from pixelmill.config import Settings
from pixelmill.errors import PixelmillError
from pixelmill.providers.base import ImageToImageRequest, TextToImageRequest
from pixelmill.providers.vertex import VertexProvider
from tests.integration.providers.test_gemini_images import gemini_settings
from tests.integration.providers.test_openai_images import output_image, run_to_end
from tests.support.accounts import SeededAccount
from tests.support.fake_gemini import COLOUR, FakeGoogle, serve_fake_google
from tests.support.runs import grant, node, run_entries

FLASH = "gemini-2.5-flash-image"
PRO = "gemini-3-pro-image-preview"
PROJECT = "pixel-project"
EMAIL = f"pixelmill@{PROJECT}.iam.gserviceaccount.com"
SCOPE = "https://www.googleapis.com/auth/cloud-platform"


@dataclass(frozen=True)
class ServiceAccount:
    """A service-account JSON made in the test, and the public half of its key."""

    text: str
    private_key: str
    public_pem: bytes
    key_id: str
    email: str


def make_account(
    origin: str, *, email: str = EMAIL, project: str | None = PROJECT, key_id: str = "key-1"
) -> ServiceAccount:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    public = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    info: dict[str, Any] = {
        "type": "service_account",
        "private_key_id": key_id,
        "private_key": private,
        "client_email": email,
        "client_id": "100000000000000000001",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": f"{origin}/token",
        "universe_domain": "googleapis.com",
    }
    if project is not None:
        info["project_id"] = project
    return ServiceAccount(json.dumps(info), private, public, key_id, email)


@pytest.fixture
def fake() -> Iterator[tuple[FakeGoogle, str]]:
    with serve_fake_google("unused-api-key") as served:
        yield served


@pytest.fixture
def account_json(fake: tuple[FakeGoogle, str]) -> ServiceAccount:
    server, origin = fake
    made = make_account(origin)
    server.trust(made.email, made.key_id, made.public_pem)
    return made


def vertex(origin: str, account: str, **overrides: Any) -> VertexProvider:
    values: dict[str, Any] = {
        "vertex_service_account_json": account,
        "vertex_base_url": f"{origin}/v1",
        "vertex_location": "us-central1",
        **overrides,
    }
    return VertexProvider.from_settings(Settings(**values))


def route(project: str, location: str, model: str) -> str:
    return f"/v1/projects/{project}/locations/{location}/publishers/google/models/{model}:generateContent"


def generate(provider: VertexProvider, *requests: tuple[str, TextToImageRequest]) -> list[list[Image.Image]]:
    async def calls() -> list[list[Image.Image]]:
        try:
            return [await provider.text_to_image(model, request) for model, request in requests]
        finally:
            await provider.aclose()

    return asyncio.run(calls())


def refused(call: Any) -> PixelmillError:
    async def attempt() -> PixelmillError:
        with pytest.raises(PixelmillError) as raised:
            await call()
        return raised.value

    return asyncio.run(attempt())


def test_calls_go_to_the_regional_route_with_one_token_from_a_verified_assertion(
    fake: tuple[FakeGoogle, str], account_json: ServiceAccount
) -> None:
    server, origin = fake
    provider = vertex(origin, account_json.text)
    (first,), (second,) = generate(
        provider,
        (f"vertex/{FLASH}", TextToImageRequest("a lighthouse", 1536, 1024, seed=0)),
        (f"vertex/{FLASH}", TextToImageRequest("a harbour", 1024, 1024, seed=0)),
    )
    assert first.size == (1024, 683)
    assert first.convert("RGB").getpixel((3, 3)) == COLOUR
    assert second.size == (1024, 1024)
    (grant_request,) = server.requests("/token")
    assert grant_request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert grant_request.form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assertion = grant_request.form["assertion"]
    assert jwt.get_unverified_header(assertion)["kid"] == "key-1"
    claims = jwt.decode(assertion, account_json.public_pem, algorithms=["RS256"], options={"verify_aud": False})
    assert (claims["iss"], claims["scope"], claims["exp"] - claims["iat"]) == (EMAIL, SCOPE, 3600)
    (token,) = server.issued()
    sent = server.requests(route(PROJECT, "us-central1", FLASH))
    assert [r.headers["authorization"] for r in sent] == [f"Bearer {token}"] * 2
    assert "x-goog-api-key" not in sent[0].headers
    assert sent[0].json == {
        "contents": [{"role": "user", "parts": [{"text": "a lighthouse"}]}],
        "generationConfig": {"responseModalities": ["TEXT", "IMAGE"], "imageConfig": {"aspectRatio": "3:2"}},
    }


def test_a_burst_waits_for_one_token(fake: tuple[FakeGoogle, str], account_json: ServiceAccount) -> None:
    server, origin = fake
    (pictures,) = generate(
        vertex(origin, account_json.text), (f"vertex/{FLASH}", TextToImageRequest("cats", 512, 512, seed=0, n=3))
    )
    assert len(pictures) == 3
    assert len(server.requests("/token")) == 1
    assert len(server.requests(route(PROJECT, "us-central1", FLASH))) == 3


def test_a_token_about_to_expire_is_fetched_again(fake: tuple[FakeGoogle, str], account_json: ServiceAccount) -> None:
    server, origin = fake
    server.token_lifetime = 120  # inside google-auth's refresh margin: never fresh enough to keep
    request = TextToImageRequest("a cat", 1024, 1024, seed=0)
    generate(vertex(origin, account_json.text), (f"vertex/{FLASH}", request), (f"vertex/{FLASH}", request))
    assert len(server.requests("/token")) == 2
    first, second = server.requests(route(PROJECT, "us-central1", FLASH))
    assert first.headers["authorization"] != second.headers["authorization"]


def test_the_global_location_a_configured_project_and_a_json_file(
    fake: tuple[FakeGoogle, str], account_json: ServiceAccount, tmp_path: Path
) -> None:
    server, origin = fake
    path = tmp_path / "service-account.json"
    path.write_text(account_json.text)
    provider = vertex(origin, str(path), vertex_location="global", vertex_project="billing-project")
    source = Image.new("RGB", (200, 300), (9, 9, 9))

    async def edit() -> list[Image.Image]:
        try:
            return await provider.image_to_image(f"vertex/{PRO}", ImageToImageRequest(source, "img2img", prompt="snow"))
        finally:
            await provider.aclose()

    (picture,) = asyncio.run(edit())
    assert picture.size == (683, 1024)  # the input's 2:3 kept at 1K
    (sent,) = server.requests(route("billing-project", "global", PRO))
    assert sent.json["generationConfig"] == {
        "responseModalities": ["TEXT", "IMAGE"],
        "imageConfig": {"imageSize": "1K"},
    }


def test_a_key_the_token_endpoint_refuses_is_upstream_auth_failed_and_nothing_is_generated(
    fake: tuple[FakeGoogle, str], caplog: pytest.LogCaptureFixture
) -> None:
    server, origin = fake
    stranger = make_account(origin, email=f"stranger@{PROJECT}.iam.gserviceaccount.com")  # never trusted
    caplog.set_level(logging.DEBUG)
    provider = vertex(origin, stranger.text)
    checked = refused(provider.check_key)
    generated = refused(lambda: provider.text_to_image(f"vertex/{FLASH}", TextToImageRequest("x", 64, 64, seed=0)))
    for error in (checked, generated):
        assert (error.code, error.extra["upstream_code"], error.extra["provider"]) == (
            "UPSTREAM_AUTH_FAILED",
            "invalid_grant",
            "vertex",
        )
        assert "Invalid JWT Signature." in error.message
    assert server.requests(route(PROJECT, "us-central1", FLASH)) == []
    body = stranger.private_key.splitlines()[5]
    assert body not in str(checked) + repr(checked.extra) + caplog.text
    assert not any(request.form.get("assertion", "x") in caplog.text for request in server.requests("/token"))


def test_an_expired_token_at_vertex_is_upstream_auth_failed(
    fake: tuple[FakeGoogle, str], account_json: ServiceAccount
) -> None:
    server, origin = fake
    provider = vertex(origin, account_json.text)

    async def call_after_revocation() -> PixelmillError:
        try:
            await provider.check_key()
            server.tokens.clear()  # Google no longer honours the cached token
            with pytest.raises(PixelmillError) as raised:
                await provider.text_to_image(f"vertex/{FLASH}", TextToImageRequest("x", 64, 64, seed=0))
            return raised.value
        finally:
            await provider.aclose()

    error = asyncio.run(call_after_revocation())
    assert (error.code, error.extra["upstream_status"]) == ("UPSTREAM_AUTH_FAILED", 401)


def test_a_workspace_service_account_calls_in_its_own_project_through_a_trusted_token_uri(
    fake: tuple[FakeGoogle, str], account_json: ServiceAccount
) -> None:
    server, origin = fake
    operator = vertex(origin, account_json.text)
    theirs = make_account(
        origin, email="team@their-project.iam.gserviceaccount.com", project="their-project", key_id="k9"
    )
    server.trust(theirs.email, theirs.key_id, theirs.public_pem)
    workspace = operator.with_key(theirs.text)
    assert workspace.is_configured()
    assert (workspace.id, workspace.key_env) == ("vertex", "VERTEX_SERVICE_ACCOUNT_JSON")
    assert (operator.key_hint(), workspace.key_hint()) == (EMAIL, theirs.email)  # the account names the key
    generate(workspace, (f"vertex/{FLASH}", TextToImageRequest("x", 64, 64, seed=0)))
    assert len(server.requests(route("their-project", "us-central1", FLASH))) == 1
    claims = jwt.decode(server.requests("/token")[0].form["assertion"], options={"verify_signature": False})
    assert claims["iss"] == theirs.email
    asyncio.run(operator.aclose())
    elsewhere = json.loads(theirs.text) | {"token_uri": "http://127.0.0.1:9/token"}
    for key in (json.dumps(elsewhere), "/etc/passwd", "not json"):
        with pytest.raises(PixelmillError) as invalid:
            operator.with_key(key)
        assert invalid.value.code == "INVALID_INPUT"
        assert theirs.private_key.splitlines()[5] not in str(invalid.value)


def test_a_service_account_without_a_project_needs_vertex_project(fake: tuple[FakeGoogle, str]) -> None:
    _, origin = fake
    lacking = make_account(origin, project=None)
    with pytest.raises(PixelmillError) as invalid:
        vertex(origin, lacking.text)
    assert invalid.value.extra["field"] == "vertex_project"
    assert vertex(origin, lacking.text, vertex_project="given").is_configured()
    assert not VertexProvider.from_settings(Settings()).is_configured()


@pytest.fixture
def settings(tmp_path: Path, database_url: str, fake: tuple[FakeGoogle, str], account_json: ServiceAccount) -> Settings:
    return gemini_settings(
        tmp_path,
        database_url,
        fake[1],
        gemini_api_key=None,
        vertex_service_account_json=account_json.text,
        vertex_base_url=f"{fake[1]}/v1",
    )


def test_a_run_with_a_vertex_model_is_served_and_charged_once_with_no_secret_in_reads_or_logs(
    api: httpx.Client,
    account: SeededAccount,
    settings: Settings,
    fake: tuple[FakeGoogle, str],
    account_json: ServiceAccount,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server, _ = fake
    caplog.set_level(logging.DEBUG)
    listed = {m["id"] for m in api.get("/v1/models", headers=account.headers).json()["data"]}
    assert {f"vertex/{FLASH}", f"vertex/{PRO}"} <= listed
    assert not any(model_id.startswith("gemini/") for model_id in listed)  # no API key configured
    grant(settings.resolved_database_url, account.workspace_id, 50)
    run = run_to_end(
        api, account, node("img", "image.generate", prompt="a lighthouse", model=f"vertex/{PRO}", size="2048x2048")
    )
    assert run["status"] == "completed", run
    picture = output_image(api, account, run, "img")
    assert (picture.size, picture.convert("RGB").getpixel((1, 1))) == ((2048, 2048), COLOUR)
    (sent,) = server.requests(route(PROJECT, "global", PRO))
    assert sent.json["generationConfig"]["imageConfig"] == {"aspectRatio": "1:1", "imageSize": "2K"}
    assert run_entries(settings.resolved_database_url, run["run_id"]) == [("hold", 5), ("capture", 5)]
    (executed,) = run["nodes"]
    assert executed["usage"]["provider"] == "vertex"
    assert executed["usage"]["model"] == PRO
    (token,) = server.issued()
    seen = json.dumps(run) + caplog.text
    assert token not in seen
    assert account_json.private_key.splitlines()[5] not in seen
    assert server.requests("/token")[0].form["assertion"] not in seen
