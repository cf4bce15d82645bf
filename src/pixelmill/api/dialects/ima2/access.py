"""Who an ima2 request acts for: ima2's clients send no credentials on loopback, and a token off it.

Three ways in, all onto pixelmill's one authentication (:func:`pixelmill.api.deps.get_principal`, so
the plan's rate limit counts every ima2 request too):

- ``Authorization: Bearer <pixelmill key>``, as every pixelmill client sends;
- ima2's LAN token, ``X-Ima2-Token: <pixelmill key>`` or ``?token=`` (ima2's web client puts it in the
  query of its ``EventSource``, which cannot send headers), carrying a pixelmill key;
- nothing at all, which is the operator's workspace in single-user mode (``anonymous_loopback``) for
  a loopback peer, and 401 ``LAN_TOKEN_REQUIRED`` otherwise, as ima2 answers.

A credential that is given is checked: a wrong one is 401 even in single-user mode.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials

from pixelmill.api.deps import get_principal
from pixelmill.services.principal import Principal

TOKEN_HEADER = "x-ima2-token"  # noqa: S105 (a header name)
TOKEN_QUERY = "token"  # noqa: S105 (a query parameter name)


def credential(request: Request) -> str | None:
    """The key the request carries, preferring the bearer header, or None when it carries none."""
    scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and bearer.strip():
        return bearer.strip()
    token = request.headers.get(TOKEN_HEADER) or request.query_params.get(TOKEN_QUERY)
    return token.strip() if token and token.strip() else None


async def ima2_principal(request: Request) -> Principal:
    key = credential(request)
    credentials = HTTPAuthorizationCredentials(scheme="Bearer", credentials=key) if key is not None else None
    return await get_principal(request, credentials)


Ima2PrincipalDep = Annotated[Principal, Depends(ima2_principal)]
