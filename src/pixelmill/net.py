"""Outbound HTTP that cannot be aimed at the server's own network (SSRF guard).

Every request (image URLs given to nodes, webhook deliveries) goes through :func:`send`:

- the scheme must be https (http only where the policy allows it);
- the host is resolved once, and every address must be public: loopback, private, link-local
  (the cloud metadata address 169.254.169.254 among them), multicast, reserved and unspecified
  addresses are refused unless the operator allowed private URLs;
- the connection goes to the address that was checked (the Host header and TLS SNI keep the
  name), so a second DNS answer cannot swap in an internal address;
- redirects are followed by hand, each hop checked the same way;
- the body is streamed and cut off at ``max_bytes``; one deadline covers the whole exchange.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from typing import Any

import certifi
import httpx

from pixelmill import errors
from pixelmill.config import Settings
from pixelmill.errors import PixelmillError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_REDIRECTS = {301, 302, 303, 307, 308}


@dataclass(frozen=True, slots=True)
class UrlPolicy:
    """Which destinations are allowed. ``allow_private`` is an operator's choice for lab setups and tests."""

    allow_private: bool = False
    allow_http: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> UrlPolicy:
        # An operator who allows private addresses runs a lab or test network, where plain http is normal.
        return cls(allow_private=settings.allow_private_urls, allow_http=settings.allow_private_urls)


@dataclass(frozen=True, slots=True)
class FetchResult:
    url: str
    status_code: int
    headers: httpx.Headers
    content: bytes


def is_public_address(address: IPAddress) -> bool:
    """True for globally routable unicast addresses only."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not (
        address.is_multicast or address.is_reserved or address.is_loopback or address.is_link_local
    )


def _refuse(url: str, reason: str) -> PixelmillError:
    return PixelmillError(errors.URL_NOT_ALLOWED, f"{reason}: {url}", url=url)


async def resolve_allowed(url: httpx.URL, policy: UrlPolicy) -> IPAddress:
    """Check ``url`` against the policy and return the address to connect to."""
    text = str(url)
    if url.scheme not in ("https", "http") or (url.scheme == "http" and not policy.allow_http):
        raise _refuse(text, "Only https URLs are allowed")
    host = url.host
    if not host:
        raise _refuse(text, "The URL has no host")
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise PixelmillError(errors.FETCH_FAILED, f"Could not resolve {host}: {exc}", url=text) from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not addresses:
        raise PixelmillError(errors.FETCH_FAILED, f"Could not resolve {host}", url=text)
    if not policy.allow_private:
        for address in addresses:
            if not is_public_address(address):
                raise _refuse(text, f"The host resolves to a non-public address ({address})")
    return addresses[0]


def _pinned_request(
    client: httpx.AsyncClient, method: str, url: httpx.URL, address: IPAddress, **kwargs: Any
) -> httpx.Request:
    headers = httpx.Headers(kwargs.pop("headers", None) or {})
    default_port = 443 if url.scheme == "https" else 80
    headers["Host"] = url.host if url.port in (None, default_port) else f"{url.host}:{url.port}"
    extensions = {"sni_hostname": url.host} if url.scheme == "https" else {}
    return client.build_request(
        method, url.copy_with(host=str(address)), headers=headers, extensions=extensions, **kwargs
    )


async def _read_limited(response: httpx.Response, max_bytes: int, url: str) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise PixelmillError(errors.FETCH_FAILED, f"The response is larger than {max_bytes} bytes", url=url)
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > max_bytes:
            raise PixelmillError(errors.FETCH_FAILED, f"The response is larger than {max_bytes} bytes", url=url)
    return bytes(body)


async def _exchange(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    policy: UrlPolicy,
    max_bytes: int,
    max_redirects: int,
    content: bytes | None,
    headers: dict[str, str] | None,
) -> FetchResult:
    current = httpx.URL(url)
    for _hop in range(max_redirects + 1):
        address = await resolve_allowed(current, policy)
        request = _pinned_request(client, method, current, address, headers=headers, content=content)
        response = await client.send(request, stream=True)
        try:
            location = response.headers.get("location")
            if response.status_code in _REDIRECTS and location:
                current = current.join(location)
                if response.status_code == 303 or (response.status_code in (301, 302) and method != "GET"):
                    method, content = "GET", None
                continue
            data = await _read_limited(response, max_bytes, str(current))
            return FetchResult(str(current), response.status_code, response.headers, data)
        finally:
            await response.aclose()
    raise PixelmillError(errors.FETCH_FAILED, f"More than {max_redirects} redirects", url=url)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context for every outbound exchange: building it loads the CA bundle, which
    costs more CPU than a small fetch itself, and a context is safe to share across connections."""
    return ssl.create_default_context(cafile=certifi.where())


async def send(
    method: str,
    url: str,
    *,
    policy: UrlPolicy,
    max_bytes: int,
    timeout_seconds: float,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
    max_redirects: int = 5,
) -> FetchResult:
    """One guarded HTTP exchange; any status is returned, failures to connect are FETCH_FAILED."""
    try:
        async with (
            asyncio.timeout(timeout_seconds),
            httpx.AsyncClient(timeout=timeout_seconds, trust_env=False, verify=_tls_context()) as client,
        ):
            return await _exchange(client, method, url, policy, max_bytes, max_redirects, content, headers)
    except TimeoutError:
        raise PixelmillError(errors.FETCH_FAILED, f"Timed out after {timeout_seconds} s", url=url) from None
    except httpx.HTTPError as exc:
        raise PixelmillError(errors.FETCH_FAILED, f"{type(exc).__name__}: {exc}", url=url) from None


async def fetch_bytes(url: str, settings: Settings) -> FetchResult:
    """GET ``url`` under the operator's policy and limits; a non-2xx answer is FETCH_FAILED."""
    result = await send(
        "GET",
        url,
        policy=UrlPolicy.from_settings(settings),
        max_bytes=settings.fetch_max_bytes,
        timeout_seconds=settings.fetch_timeout_seconds,
    )
    if not 200 <= result.status_code < 300:
        raise PixelmillError(
            errors.FETCH_FAILED, f"The URL answered HTTP {result.status_code}", url=url, status=result.status_code
        )
    return result
