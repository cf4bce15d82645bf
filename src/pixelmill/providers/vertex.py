"""Gemini image models on Vertex AI, authorised by a Google Cloud service account.

Models are ``vertex/<name>`` (the Gemini image models), listed only when a service-account JSON is
configured (``VERTEX_SERVICE_ACCOUNT_JSON``: the JSON itself or the path of its file). Bodies and
answers are the Gemini API's (``providers/gemini.py``); only the route and the credentials differ:
``projects/{project}/locations/{location}/publishers/google/models/{model}:generateContent`` on
``aiplatform.googleapis.com`` for the global location and ``{location}-aiplatform.googleapis.com``
for a region, with a bearer token from :mod:`pixelmill.providers.google_token` on every call.

A workspace's own service account (``with_key``) arrives over the API, so it is JSON text, never a
path, and its ``token_uri`` must be Google's (or the operator's own account's): the server POSTs a
signed assertion there, and a key must not aim the server at an address of the key holder's choice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Self
from urllib.parse import quote

from pixelmill import errors
from pixelmill.errors import PixelmillError
from pixelmill.providers.gemini import GeminiModel, GenerateContentImages
from pixelmill.providers.google_token import (
    GOOGLE_TOKEN_URI,
    ServiceAccountTokens,
    parse_service_account,
    read_service_account,
)
from pixelmill.providers.upstream.client import UpstreamConfig

if TYPE_CHECKING:
    from pixelmill.config import Settings

PROVIDER = "vertex"
SETTING = "vertex_service_account_json"


def vertex_base_url(location: str, override: str | None = None) -> str:
    """The API's base URL: the operator's override, else the global host or the location's own."""
    if override:
        return override
    if location == "global":
        return "https://aiplatform.googleapis.com/v1"
    return f"https://{location}-aiplatform.googleapis.com/v1"


def model_route(project: str, location: str, model: str) -> str:
    """A publisher model's ``generateContent`` path, relative to the base URL."""
    return (
        f"projects/{quote(project, safe='')}/locations/{quote(location, safe='')}"
        f"/publishers/google/models/{model}:generateContent"
    )


class VertexProvider(GenerateContentImages):
    """The ``vertex/*`` image models; configured when a service account is set."""

    id = PROVIDER
    key_env = "VERTEX_SERVICE_ACCOUNT_JSON"

    def __init__(
        self,
        config: UpstreamConfig,
        tokens: ServiceAccountTokens | None,
        *,
        project: str | None,
        location: str,
        token_uris: frozenset[str] = frozenset({GOOGLE_TOKEN_URI}),
    ) -> None:
        if tokens is not None and not project:
            raise PixelmillError(
                errors.INVALID_INPUT,
                "Vertex AI needs a project: set vertex_project or use a service-account JSON with project_id",
                field="vertex_project",
            )
        super().__init__(config)
        self._tokens = tokens
        self._project = project
        self._location = location
        self._token_uris = token_uris  # where a workspace's service account may send its assertion

    @classmethod
    def from_settings(cls, settings: Settings) -> VertexProvider:
        location = settings.vertex_location
        base_url = vertex_base_url(location, settings.vertex_base_url)
        config = UpstreamConfig.bearer(PROVIDER, base_url, None, settings)
        account = settings.vertex_service_account_json
        if account is None:
            return cls(config, None, project=settings.vertex_project, location=location)
        info = read_service_account(account.get_secret_value(), source=SETTING)
        tokens = ServiceAccountTokens(info, provider=PROVIDER)
        return cls(
            config,
            tokens,
            project=settings.vertex_project or tokens.project_id,
            location=location,
            token_uris=frozenset({GOOGLE_TOKEN_URI, tokens.token_uri}),
        )

    def is_configured(self) -> bool:
        return self._tokens is not None

    def key_hint(self) -> str | None:
        """The service account's email: it names the key and is no secret."""
        return self._tokens.client_email if self._tokens is not None else None

    def with_key(self, key: str) -> Self:
        """This adapter calling as the service account in ``key`` (its JSON text) in its own project."""
        info = parse_service_account(key, source="key")
        if info["token_uri"] not in self._token_uris:
            raise PixelmillError(
                errors.INVALID_INPUT,
                f"The service account's token_uri must be Google's ({GOOGLE_TOKEN_URI})",
                field="key",
            )
        tokens = ServiceAccountTokens(info, provider=PROVIDER)
        return type(self)(
            self._config,
            tokens,
            project=tokens.project_id or self._project,
            location=self._location,
            token_uris=self._token_uris,
        )

    async def check_key(self) -> None:
        """A token is the check: Google signs one only for a live key of an existing service account
        (Vertex AI has no cheap read every role may make)."""
        await self._token()

    async def _token(self) -> str:
        if self._tokens is None:
            raise PixelmillError(
                errors.UPSTREAM_AUTH_FAILED, "vertex has no service account configured", provider=PROVIDER
            )
        return await self._tokens.token()

    async def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self._token()}"}

    def _route(self, spec: GeminiModel) -> str:
        assert self._project is not None  # checked when the service account was given
        return model_route(self._project, self._location, spec.name)

    async def aclose(self) -> None:
        await super().aclose()
        if self._tokens is not None:
            self._tokens.close()
