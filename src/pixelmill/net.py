"""Outbound HTTP to URLs users supplied, which cannot be aimed at the server's own network.

Every such request (image URLs given to nodes, webhook deliveries) goes through :func:`send`:

- each hop's URL is parsed and classified by :mod:`pixelmill.outbound_urls`, the same check that
  accepted it at creation (scheme, userinfo, numeric host forms, local names, address classes);
- the host is resolved once and every address must be allowed (the same classifier);
- the connection goes to the address that was checked (the Host header and TLS SNI keep the
  name), so a second DNS answer cannot swap in an internal address;
- redirects are followed by hand, each hop checked the same way;
- the body is streamed and cut off at ``max_bytes``; one deadline covers the whole exchange.

Upstreams the operator configured (a provider's base URL in settings, such as an Ollama on
localhost) are trusted and skip all of this: call them with :func:`upstream_client`.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import ssl
from dataclasses import dataclass
from typing import Any

import certifi
import httpx

from pixelmill import errors
from pixelmill.config import Settings
from pixelmill.errors import PixelmillError
from pixelmill.outbound_urls import (
    IPAddress,
    OutboundUrl,
    Resolver,
    UrlPolicy,
    parse_outbound_url,
    refuse,
    resolve_outbound,
)

_REDIRECTS = {301, 302, 303, 307, 308}


@dataclass(frozen=True, slots=True)
class FetchResult:
    url: str
    status_code: int
    headers: httpx.Headers
    content: bytes


def _pinned_request(
    client: httpx.AsyncClient, method: str, target: OutboundUrl, address: IPAddress, **kwargs: Any
) -> httpx.Request:
    url = target.url
    headers = httpx.Headers(kwargs.pop("headers", None) or {})
    default_port = 443 if url.scheme == "https" else 80
    host = f"[{target.host}]" if isinstance(target.literal, ipaddress.IPv6Address) else target.host
    headers["Host"] = host if target.port == default_port else f"{host}:{target.port}"
    extensions = {"sni_hostname": target.host} if url.scheme == "https" else {}
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
    resolver: Resolver | None,
) -> FetchResult:
    current = url
    for _hop in range(max_redirects + 1):
        target = parse_outbound_url(current, policy)
        address = await resolve_outbound(target, policy, resolver)
        request = _pinned_request(client, method, target, address, headers=headers, content=content)
        response = await client.send(request, stream=True)
        try:
            location = response.headers.get("location")
            if response.status_code in _REDIRECTS and location:
                current = str(target.url.join(location))  # httpx refused an unparsable Location already
                if response.status_code == 303 or (response.status_code in (301, 302) and method != "GET"):
                    method, content = "GET", None
                continue
            data = await _read_limited(response, max_bytes, current)
            return FetchResult(current, response.status_code, response.headers, data)
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
    resolver: Resolver | None = None,
) -> FetchResult:
    """One guarded HTTP exchange; any status is returned. A URL the check refuses (unparsable ones
    included) is URL_NOT_ALLOWED, a failure to resolve, connect or read FETCH_FAILED: nothing else
    escapes, so a bad URL fails its one request and never its caller's loop."""
    try:
        async with (
            asyncio.timeout(timeout_seconds),
            httpx.AsyncClient(timeout=timeout_seconds, trust_env=False, verify=_tls_context()) as client,
        ):
            return await _exchange(client, method, url, policy, max_bytes, max_redirects, content, headers, resolver)
    except TimeoutError:
        raise PixelmillError(errors.FETCH_FAILED, f"Timed out after {timeout_seconds} s", url=url) from None
    except httpx.InvalidURL as exc:
        raise refuse(url, f"Not a valid URL ({exc})") from None
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


def upstream_client(base_url: str, *, timeout_seconds: float, max_connections: int | None = None) -> httpx.AsyncClient:
    """A client for an upstream the operator configured (a provider's base URL from settings, such
    as an Ollama on localhost). Trusted: no outbound-URL check, any address, redirects as httpx
    does them. Only settings may supply ``base_url``; a URL from a request goes through :func:`send`.

    HTTP/2 is offered in the TLS handshake (ALPN), so an upstream that speaks it multiplexes every
    concurrent call over one connection; plain ``http://`` (a local server) stays HTTP/1.1, since
    httpx never tries h2c unannounced.

    ``max_connections`` sizes the pool, and the connections it keeps alive, to the caller's own
    concurrency limit: httpx's default pool (100 connections, 20 kept alive) would cap a larger
    limit unseen, and open new connections (TLS handshakes included) after each burst over HTTP/1.1."""
    limits = httpx.Limits(max_connections=max_connections or 100, max_keepalive_connections=max_connections or 20)
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=timeout_seconds,
        trust_env=False,
        verify=_tls_context(),
        http2=True,
        limits=limits,
    )
