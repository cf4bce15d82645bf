"""A fake Google image upstream on a loopback port: the Gemini API's ``generateContent`` (API-key
form), the same call in Vertex AI's form, and an OAuth token endpoint for service accounts.

- ``POST /v1beta/models/{model}:generateContent`` takes the key as ``x-goog-api-key`` (or ``?key=``);
  a wrong one is Google's 400 INVALID_ARGUMENT with ErrorInfo reason API_KEY_INVALID.
- ``POST /v1/projects/{project}/locations/{location}/publishers/google/models/{model}:generateContent``
  takes ``Authorization: Bearer`` with a token this fake issued and that has not expired (else 401
  UNAUTHENTICATED), and refuses a content without a role, as Vertex does.
- ``POST /token`` is a service account's ``token_uri``: the form's ``assertion`` must be an RS256 JWT
  signed by a key the test registered with :meth:`FakeGoogle.trust` (its ``kid`` the account's
  private_key_id, the cloud-platform scope); else ``{"error": "invalid_grant"}``.
- ``GET /v1beta/models`` lists the models (what a key check asks).

Answers follow the documented GenerateContentResponse: the image as ``inlineData`` (real PNG bytes
whose size follows ``imageConfig``, or the first input image's aspect when no ``aspectRatio`` is
sent), a text part, ``usageMetadata`` and ``modelVersion``. With :attr:`FakeGoogle.thought_images`
the answer starts with that many draft parts marked ``"thought": true`` (grey images). A prompt
containing ``UNSAFE`` finishes with IMAGE_SAFETY and only text, ``BLOCKED`` gets a
``promptFeedback.blockReason`` and no candidates, ``TEXTONLY`` finishes STOP with text only. Tests
queue other answers with :meth:`FakeGoogle.fail_next`, served first, in order, on the generate routes.
"""

from __future__ import annotations

import base64
import io
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import jwt
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.loopback import serve_loopback

COLOUR = (30, 140, 220)  # the final images are this colour, so a test can tell them apart
THOUGHT_COLOUR = (128, 128, 128)  # draft images
MODELS = ("gemini-2.5-flash-image", "gemini-3-pro-image-preview", "gemini-3.1-flash-image-preview")
SIZED_MODELS = frozenset({"gemini-3-pro-image-preview", "gemini-3.1-flash-image-preview"})
ASPECT_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
SIDES = {"1K": 1024, "2K": 2048, "4K": 4096}
SCOPE = "https://www.googleapis.com/auth/cloud-platform"
OUTPUT_TOKENS = 1290  # candidatesTokenCount of every image answer
ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"


@dataclass
class Received:
    """One request as the fake saw it."""

    path: str
    headers: dict[str, str]
    json: dict[str, Any] = field(default_factory=dict)
    form: dict[str, str] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)


@dataclass
class Scripted:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TrustedAccount:
    client_email: str
    key_id: str
    public_key_pem: bytes


def png(width: int, height: int, colour: tuple[int, int, int] = COLOUR) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def error_body(
    code: int, status: str, message: str, *, reason: str | None = None, details: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Google's error body; ``reason`` adds an ErrorInfo detail."""
    extra = list(details or [])
    if reason is not None:
        extra.insert(0, {"@type": ERROR_INFO, "reason": reason, "domain": "googleapis.com", "metadata": {}})
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if extra:
        error["details"] = extra
    return {"error": error}


def rate_limited_body(retry_delay: str) -> dict[str, Any]:
    """A 429 RESOURCE_EXHAUSTED with QuotaFailure and RetryInfo details, as the Gemini API sends it."""
    quota = {
        "@type": "type.googleapis.com/google.rpc.QuotaFailure",
        "violations": [{"quotaMetric": "generativelanguage.googleapis.com/generate_content_requests", "quotaId": "q"}],
    }
    return error_body(
        429,
        "RESOURCE_EXHAUSTED",
        "You exceeded your current quota, please check your plan and billing details.",
        details=[quota, {"@type": RETRY_INFO, "retryDelay": retry_delay}],
    )


def output_size(aspect: str, image_size: str) -> tuple[int, int]:
    """The fake's image size: the long side 1024, 2048 or 4096, the other side by the aspect ratio."""
    width, height = (float(part) for part in aspect.split(":"))
    long_side = SIDES[image_size]
    if width >= height:
        return long_side, round(long_side * height / width)
    return round(long_side * width / height), long_side


class FakeGoogle:
    """State and behaviour; served by :func:`serve_fake_google`."""

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.accounts: dict[str, TrustedAccount] = {}
        self.tokens: dict[str, float] = {}  # issued access token -> when it expires (monotonic)
        self.token_lifetime = 3599
        self.thought_images = 0
        self.model_version: str | None = None
        self.received: list[Received] = []
        self.scripted: list[Scripted] = []
        self.lock = threading.Lock()

    def trust(self, client_email: str, key_id: str, public_key_pem: bytes) -> None:
        """Accept assertions from this service account, signed by the private half of ``public_key_pem``."""
        with self.lock:
            self.accounts[client_email] = TrustedAccount(client_email, key_id, public_key_pem)

    def fail_next(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        with self.lock:
            self.scripted.append(Scripted(status, body, headers or {}))

    def requests(self, path: str | None = None) -> list[Received]:
        with self.lock:
            return [r for r in self.received if path is None or r.path == path]

    def issued(self) -> list[str]:
        with self.lock:
            return list(self.tokens)

    def _record(self, request: Request, **content: Any) -> Scripted | None:
        with self.lock:
            self.received.append(Received(request.url.path, dict(request.headers), **content))
            if request.url.path.endswith(":generateContent") and self.scripted:
                return self.scripted.pop(0)
            return None

    async def token(self, request: Request) -> Response:
        """The OAuth token endpoint: a JWT-bearer grant with an assertion signed by a trusted key."""
        form = {key: str(value) for key, value in (await request.form()).items()}
        self._record(request, form=form)
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return JSONResponse({"error": "unsupported_grant_type", "error_description": "Invalid grant_type"}, 400)
        claims = self._verified(form.get("assertion", ""))
        if claims is None:
            return JSONResponse({"error": "invalid_grant", "error_description": "Invalid JWT Signature."}, 400)
        if SCOPE not in str(claims.get("scope", "")).split():
            return JSONResponse({"error": "invalid_scope", "error_description": "Invalid OAuth scope."}, 400)
        token = "ya29.fake-" + secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[token] = time.monotonic() + self.token_lifetime
        return JSONResponse({"access_token": token, "expires_in": self.token_lifetime, "token_type": "Bearer"})

    def _verified(self, assertion: str) -> dict[str, Any] | None:
        """The assertion's claims when its signature, kid, issuer and times check out."""
        try:
            header = jwt.get_unverified_header(assertion)
            issuer = jwt.decode(assertion, options={"verify_signature": False}).get("iss")
            account = self.accounts.get(str(issuer))
            if account is None or header.get("alg") != "RS256" or header.get("kid") != account.key_id:
                return None
            claims: dict[str, Any] = jwt.decode(
                assertion,
                account.public_key_pem,
                algorithms=["RS256"],
                options={"verify_aud": False, "require": ["iss", "iat", "exp"]},
            )
        except jwt.InvalidTokenError:
            return None
        return claims

    async def list_models(self, request: Request) -> Response:
        self._record(request)
        if not self._api_key_ok(request):
            return self._bad_key()
        models = [{"name": f"models/{name}", "supportedGenerationMethods": ["generateContent"]} for name in MODELS]
        return JSONResponse({"models": models})

    def _api_key_ok(self, request: Request) -> bool:
        return (request.headers.get("x-goog-api-key") or request.query_params.get("key")) == self.api_key

    def _bad_key(self) -> Response:
        body = error_body(
            400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", reason="API_KEY_INVALID"
        )
        return JSONResponse(body, 400)

    async def generate(self, request: Request) -> Response:
        """The Gemini API form: ``/v1beta/models/{model}:generateContent`` with an API key."""
        params = await request.json()
        scripted = self._record(request, json=params)
        if not self._api_key_ok(request):
            return self._bad_key()
        return self._answer(scripted, str(request.path_params["target"]), params, role_required=False)

    async def generate_vertex(self, request: Request) -> Response:
        """Vertex AI's form: the project's publisher model, with a bearer token."""
        params = await request.json()
        scripted = self._record(request, json=params)
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        with self.lock:
            expires = self.tokens.get(token)
        if expires is None or expires < time.monotonic():
            message = "Request had invalid authentication credentials. Expected OAuth 2 access token."
            return JSONResponse(
                error_body(401, "UNAUTHENTICATED", message, reason="ACCESS_TOKEN_TYPE_UNSUPPORTED"), 401
            )
        return self._answer(scripted, str(request.path_params["target"]), params, role_required=True)

    def _answer(
        self, scripted: Scripted | None, target: str, params: dict[str, Any], *, role_required: bool
    ) -> Response:
        if scripted is not None:
            return JSONResponse(scripted.body, scripted.status, headers=scripted.headers)
        model, _, method = target.partition(":")
        if method != "generateContent" or model not in MODELS:
            return JSONResponse(error_body(404, "NOT_FOUND", f"models/{model} is not found for API version"), 404)
        contents = params.get("contents")
        if not isinstance(contents, list) or not contents:
            return self._invalid("contents is not specified", "contents")
        if role_required and any(not isinstance(c, dict) or c.get("role") not in ("user", "model") for c in contents):
            return self._invalid("Please use a valid role: user, model.", "contents.role")
        parts = contents[-1].get("parts") or []
        prompt = " ".join(str(p["text"]) for p in parts if isinstance(p, dict) and "text" in p)
        inputs = [p["inlineData"] for p in parts if isinstance(p, dict) and "inlineData" in p]
        config = params.get("generationConfig") or {}
        if "IMAGE" not in (config.get("responseModalities") or []):
            return self._invalid("This model only supports responseModalities including IMAGE", "generation_config")
        image_config = config.get("imageConfig") or {}
        aspect = image_config.get("aspectRatio")
        if aspect is not None and aspect not in ASPECT_RATIOS:
            return self._invalid("Unsupported aspect ratio", "generation_config.image_config.aspect_ratio")
        size_name = image_config.get("imageSize", "1K")
        if "imageSize" in image_config and (model not in SIZED_MODELS or size_name not in SIDES):
            return self._invalid("Unsupported image size", "generation_config.image_config.image_size")
        usage = {
            "promptTokenCount": len(prompt.split()) + 258 * len(inputs),
            "candidatesTokenCount": OUTPUT_TOKENS,
            "totalTokenCount": len(prompt.split()) + 258 * len(inputs) + OUTPUT_TOKENS,
        }
        version = self.model_version or model
        if "BLOCKED" in prompt:
            feedback = {"blockReason": "PROHIBITED_CONTENT", "safetyRatings": []}
            return JSONResponse({"promptFeedback": feedback, "usageMetadata": usage, "modelVersion": version})
        if "UNSAFE" in prompt:
            answer = [{"text": "I can't create that image because it may violate the safety policy."}]
            return JSONResponse(self._response(answer, "IMAGE_SAFETY", usage, version))
        if "TEXTONLY" in prompt:
            return JSONResponse(self._response([{"text": "Here is a poem instead."}], "STOP", usage, version))
        if aspect is None and inputs:
            first = Image.open(io.BytesIO(base64.b64decode(inputs[0]["data"])))
            width, height = first.size
            long_side = SIDES[size_name]
            size = (
                (long_side, round(long_side * height / width))
                if width >= height
                else (
                    round(long_side * width / height),
                    long_side,
                )
            )
        else:
            size = output_size(aspect or "1:1", size_name)
        answer = []
        for _ in range(self.thought_images):
            draft = base64.b64encode(png(64, 64, THOUGHT_COLOUR)).decode()
            answer.append({"text": "Sketching the composition.", "thought": True})
            answer.append({"inlineData": {"mimeType": "image/png", "data": draft}, "thought": True})
        if self.thought_images:
            usage["thoughtsTokenCount"] = 100 * self.thought_images
        picture = base64.b64encode(png(*size)).decode()
        answer.append({"text": f"Here is your image: {prompt}"})
        answer.append({"inlineData": {"mimeType": "image/png", "data": picture}, "thoughtSignature": "c2lnbmF0dXJl"})
        return JSONResponse(self._response(answer, "STOP", usage, version))

    @staticmethod
    def _response(parts: list[dict[str, Any]], finish: str, usage: dict[str, int], version: str) -> dict[str, Any]:
        candidate = {"content": {"role": "model", "parts": parts}, "finishReason": finish, "index": 0}
        return {
            "candidates": [candidate],
            "usageMetadata": usage,
            "modelVersion": version,
            "responseId": secrets.token_hex(8),
        }

    @staticmethod
    def _invalid(message: str, field_name: str) -> Response:
        violation = {"@type": BAD_REQUEST, "fieldViolations": [{"field": field_name, "description": message}]}
        return JSONResponse(error_body(400, "INVALID_ARGUMENT", message, details=[violation]), 400)


@contextmanager
def serve_fake_google(api_key: str) -> Iterator[tuple[FakeGoogle, str]]:
    """Serve a FakeGoogle on 127.0.0.1 (an ephemeral port); yield it and its origin: the Gemini API's
    base URL is ``{origin}/v1beta``, Vertex's ``{origin}/v1`` and the token_uri ``{origin}/token``."""
    fake = FakeGoogle(api_key)
    app = Starlette(
        routes=[
            Route("/v1beta/models/{target}", fake.generate, methods=["POST"]),
            Route("/v1beta/models", fake.list_models, methods=["GET"]),
            Route(
                "/v1/projects/{project}/locations/{location}/publishers/google/models/{target}",
                fake.generate_vertex,
                methods=["POST"],
            ),
            Route("/token", fake.token, methods=["POST"]),
        ]
    )
    with serve_loopback(app, "fake-google") as origin:
        yield fake, origin
