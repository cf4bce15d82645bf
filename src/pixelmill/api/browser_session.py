"""The console's browser session: an access token in an httpOnly cookie, guarded by a CSRF token.

A browser sends cookies with requests other sites make it send, so a cookie alone must never
authorise a change. The CSRF token is the HMAC of the session token under the server's secret
(the signed double-submit pattern): it is set in a second cookie that the console's script can
read and must echo in the ``X-CSRF-Token`` header of every unsafe request. Another site can
neither read the cookie nor compute the HMAC, and a token planted from a sibling subdomain does
not match a session it does not know. Safe methods (GET, HEAD, OPTIONS) need only the cookie,
which is what lets ``<img>``, ``EventSource`` and reloads work.

The session token is the same JWT the OAuth2 login issues, so everything behind ``PrincipalDep``
treats a cookie session like a bearer access token; nothing is kept in ``localStorage``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from starlette.requests import Request
from starlette.responses import Response

from pixelmill import errors
from pixelmill.errors import PixelmillError

SESSION_COOKIE = "pixelmill_session"
CSRF_COOKIE = "pixelmill_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_token(secret: bytes, session_token: str) -> str:
    """The CSRF token bound to ``session_token``."""
    mac = hmac.new(secret, b"csrf:" + session_token.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def session_credential(request: Request, secret: bytes) -> str | None:
    """The access token of the request's session cookie, or None without one.

    An unsafe request must carry the matching ``X-CSRF-Token`` header (403 CSRF_FAILED otherwise),
    whether or not the token is still valid, so a forged request learns nothing.
    """
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), csrf_token(secret, token).encode()):
            raise PixelmillError(errors.CSRF_FAILED)
    return token


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_session(response: Response, request: Request, secret: bytes, token: str, max_age: int) -> str:
    """Put ``token`` in the session cookie and its CSRF token in the readable one; returns the latter."""
    csrf = csrf_token(secret, token)
    secure = _secure(request)
    response.set_cookie(SESSION_COOKIE, token, max_age=max_age, path="/", secure=secure, httponly=True, samesite="lax")
    response.set_cookie(CSRF_COOKIE, csrf, max_age=max_age, path="/", secure=secure, httponly=False, samesite="lax")
    return csrf


def clear_session(response: Response, request: Request) -> None:
    """Expire both cookies."""
    secure = _secure(request)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=secure, httponly=True, samesite="lax")
    response.delete_cookie(CSRF_COOKIE, path="/", secure=secure, httponly=False, samesite="lax")
