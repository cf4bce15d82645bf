"""Access tokens for Vertex AI from a service-account JSON, through google-auth.

google-auth signs the RS256 JWT assertion with the account's private key and trades it at the
account's ``token_uri`` for a bearer token. Its refresh is blocking HTTP, so it runs in a worker
thread; the token is kept until it is about to expire (google-auth's own margin), and a lock lets
one refresh run at a time, so a burst of calls asks for one token, not one each. The private key,
the assertion and the token never reach a message or a log line here.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import google.auth.exceptions
import requests
from google.auth.credentials import TokenState
from google.auth.transport.requests import Request
from google.oauth2 import service_account

from pixelmill import errors
from pixelmill.errors import PixelmillError
from pixelmill.providers.upstream.failures import redact

SCOPE = "https://www.googleapis.com/auth/cloud-platform"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105 - an endpoint, not a secret
MAX_DESCRIPTION = 200


def parse_service_account(text: str, *, source: str) -> dict[str, Any]:
    """A service-account JSON's fields; INVALID_INPUT naming ``source``, never quoting the text."""
    try:
        info = json.loads(text)
    except ValueError:
        info = None
    if not isinstance(info, dict) or info.get("type", "service_account") != "service_account":
        raise PixelmillError(errors.INVALID_INPUT, f"{source} is not a service-account JSON", field=source)
    missing = sorted(name for name in ("client_email", "private_key", "token_uri") if not info.get(name))
    if missing:
        raise PixelmillError(
            errors.INVALID_INPUT, f"{source} lacks {', '.join(missing)}", field=source, missing=missing
        )
    return info


def read_service_account(value: str, *, source: str) -> dict[str, Any]:
    """The operator's setting: the JSON itself, or the path of a file holding it."""
    if value.lstrip().startswith("{"):
        return parse_service_account(value, source=source)
    try:
        text = Path(value).expanduser().read_text()
    except OSError as exc:
        raise PixelmillError(
            errors.INVALID_INPUT,
            f"{source} is neither service-account JSON nor a readable file ({type(exc).__name__})",
            field=source,
        ) from None
    return parse_service_account(text, source=source)


class ServiceAccountTokens:
    """Bearer tokens for one service account, cached until near expiry."""

    def __init__(self, info: Mapping[str, Any], *, provider: str) -> None:
        self.provider = provider
        self.client_email = str(info["client_email"])
        self.token_uri = str(info["token_uri"])
        self.project_id = info.get("project_id") if isinstance(info.get("project_id"), str) else None
        try:
            self._credentials = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
                info, scopes=[SCOPE]
            )
        except (ValueError, TypeError, google.auth.exceptions.GoogleAuthError):
            # The library's message may quote what it could not read: say only which part is wrong.
            raise PixelmillError(
                errors.INVALID_INPUT, "the service account's private_key could not be read", field="private_key"
            ) from None
        self._lock = threading.Lock()
        session = requests.Session()
        session.trust_env = False  # the token endpoint is reached directly, as the upstream client does
        self._session = session
        self._request = Request(session)

    async def token(self) -> str:
        """A token that is valid for a while yet; refreshed in a thread when it is not."""
        if self._credentials.token_state == TokenState.FRESH:
            return str(self._credentials.token)
        return await asyncio.to_thread(self._refresh)

    def _refresh(self) -> str:
        with self._lock:
            # A call that waited on the lock finds the token another call just fetched.
            if self._credentials.token_state != TokenState.FRESH:
                try:
                    self._credentials.refresh(self._request)
                except google.auth.exceptions.RefreshError as exc:
                    raise self._refused(exc) from None
                except google.auth.exceptions.TransportError as exc:
                    raise PixelmillError(
                        errors.UPSTREAM_UNAVAILABLE,
                        f"{self.provider}: the token endpoint could not be reached ({type(exc).__name__})",
                        provider=self.provider,
                    ) from None
            return str(self._credentials.token)

    def _refused(self, exc: google.auth.exceptions.RefreshError) -> PixelmillError:
        """The token endpoint's answer (``{"error": "invalid_grant", "error_description": ...}``) as
        UPSTREAM_AUTH_FAILED; a retryable one (a 5xx google-auth retried already) as unavailable."""
        answer = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], Mapping) else {}
        code = answer.get("error") if isinstance(answer.get("error"), str) else None
        said = answer.get("error_description")
        description = redact(said, None)[:MAX_DESCRIPTION] if isinstance(said, str) else ""
        extra: dict[str, Any] = {"provider": self.provider}
        if code:
            extra["upstream_code"] = code
        detail = ": ".join(part for part in (code, description) if part)
        if exc.retryable:
            return PixelmillError(
                errors.UPSTREAM_UNAVAILABLE, f"{self.provider}: the token endpoint failed ({detail})", **extra
            )
        return PixelmillError(
            errors.UPSTREAM_AUTH_FAILED,
            f"{self.provider}: the token endpoint refused the service account ({detail or 'no reason given'})",
            **extra,
        )

    def close(self) -> None:
        self._session.close()
