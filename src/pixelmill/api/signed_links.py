"""Routes that serve bytes to either a bearer credential or a signed link (``?expires=&sig=``).

A signed link stands in for a credential for the one path it was made for. A link the server did
not sign for that path answers exactly what the route answers for a resource that does not exist,
so a forged or borrowed signature cannot tell whether an id names something in another workspace.
Only a genuine link, which the server itself handed out, is told that it has expired.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.security import HTTPBearer

from pixelmill import errors
from pixelmill.api.deps import get_principal
from pixelmill.errors import PixelmillError
from pixelmill.runtime import Runtime
from pixelmill.services.principal import Principal
from pixelmill.storage.signing import check_signature

_bearer = HTTPBearer(auto_error=False)


async def principal_or_link(
    request: Request, runtime: Runtime, path: str, expires: int | None, sig: str | None, *, missing: PixelmillError
) -> Principal | None:
    """The caller's principal, or None when the request carries a valid signed link for ``path``.

    ``missing`` is the route's answer for a resource that does not exist; a forged link gets it.
    """
    if expires is None and sig is None:
        return await get_principal(request, await _bearer(request))
    if expires is None or sig is None:
        raise missing
    check = check_signature(runtime.settings.secret, path, expires, sig)
    if check == "forged":
        raise missing
    if check == "expired":
        raise PixelmillError(errors.FORBIDDEN, "This link has expired; read the resource again for a fresh link")
    return None
