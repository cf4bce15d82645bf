"""The one check of every outbound URL a user supplies (SSRF guard): parse, classify, resolve.

A user may hand the server URLs it will later call: webhook endpoints, per-run ``webhook.url``,
image and media URLs given as node inputs, reference URLs of any dialect. Each is checked twice,
by the same code, with the parser the sender uses (:class:`httpx.URL`), so what was accepted is
exactly what is sent to:

- when it is given (:func:`check_outbound_url`, or :func:`parse_outbound_url` where no DNS lookup
  fits, such as graph validation; node inputs typed :data:`UserUrl` get it there), and
- when it is connected to (``pixelmill.net.send`` calls :func:`parse_outbound_url` and
  :func:`resolve_outbound` on every hop and connects to the address that was checked).

Refused always, whatever the operator allows: a URL httpx cannot parse, a scheme other than http(s),
userinfo (``https://good.example@10.0.0.1/``), a host that is a number in any form but the canonical
dotted quad (``127.1``, ``0177.0.0.1``, ``2130706433``, ``0x7f000001``: resolvers read them as
addresses) and non-ASCII digits or dots in the authority (they normalise to addresses somewhere).

Refused unless the operator allows private URLs (``allow_private_urls``; a lab or test network):
plain http; names that only a local network answers (``localhost`` and ``*.localhost``, names
without a dot, ``.local``, ``.internal``, ``.home.arpa``, ``.localdomain``); and addresses, literal
or resolved, that are loopback, private, link-local (169.254.169.254), multicast, reserved,
unspecified, shared (CGNAT 100.64/10), site-local, or IPv4-mapped, IPv4-compatible, 6to4, Teredo or
NAT64 forms of any of these.

Trusted upstreams are not user input and do not come here: a base URL the operator configured
(a provider's endpoint, such as an Ollama on localhost) is called through
``pixelmill.net.upstream_client``. Never pass a URL from a request to that path.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import httpx
from pydantic import AfterValidator, ValidationInfo
from pydantic_core import PydanticCustomError

from pixelmill import errors
from pixelmill.config import Settings
from pixelmill.errors import PixelmillError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[Sequence[IPAddress]]]
"""Looks up a host name for a port; tests inject one so that no check depends on real DNS."""

_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".home.arpa", ".localdomain")
# The authority exactly as httpx's own URL grammar delimits it (RFC 3986: up to the first / ? #).
_AUTHORITY = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:(?://([^/?#]*))?")
_HEX_LABEL = re.compile(r"^0x[0-9a-f]*$")
# A DNS name as a resolver takes it: labels of letters, digits, hyphens (and underscores, seen in
# real records), 1-63 each, 253 in all, an optional final dot. Anything else (percent escapes) is
# not a name any resolver should be handed.
_HOST_NAME = re.compile(r"^(?=.{1,253}\.?$)[a-z0-9_-]{1,63}(?:\.[a-z0-9_-]{1,63})*\.?$")
# Label separators IDNA reads as dots (RFC 3490 3.1), which NFKC leaves alone.
_IDNA_DOTS = frozenset("\u3002\uff0e\uff61")


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
class OutboundUrl:
    """A URL that passed the syntactic checks: httpx's parse of it, its ASCII host and port, and the
    address when the host is an address literal."""

    url: httpx.URL
    host: str
    port: int
    literal: IPAddress | None


def refuse(url: str, reason: str) -> PixelmillError:
    """The URL_NOT_ALLOWED error every refusal raises: the reason, then the URL."""
    return PixelmillError(errors.URL_NOT_ALLOWED, f"{reason}: {url[:300]}", url=url[:2048])


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[tuple[str, ipaddress.IPv4Address]]:
    """The IPv4 addresses an IPv6 address carries, each with the name of its form."""
    if address.ipv4_mapped is not None:
        return [("IPv4-mapped", address.ipv4_mapped)]
    if address.sixtofour is not None:
        return [("6to4", address.sixtofour)]
    if address.teredo is not None:
        server, client = address.teredo
        return [("Teredo", client), ("Teredo", server)]
    if address in _NAT64:
        return [("NAT64", ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))]
    if 1 < int(address) <= 0xFFFFFFFF:
        return [("IPv4-compatible", ipaddress.IPv4Address(int(address)))]
    return []


def _own_refusal(address: IPAddress) -> str | None:
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address in _CGNAT:
        return "shared (CGNAT)"
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return "site-local"
    if address.is_reserved:
        return "reserved"
    if address.is_private:
        return "private"
    if not address.is_global:
        return "not globally routable"
    return None


def address_refusal(address: IPAddress) -> str | None:
    """Why ``address`` may not be reached from here, or None for a globally routable unicast address.
    An IPv6 address that embeds an IPv4 one is refused for what it embeds as well as for itself."""
    if isinstance(address, ipaddress.IPv6Address):
        for form, inner in _embedded_ipv4(address):
            reason = _own_refusal(inner)
            if reason is not None:
                return f"the {form} form of a {reason} address ({inner})"
    reason = _own_refusal(address)
    return None if reason is None else f"a {reason} address ({address})"


def _ends_in_number(name: str) -> bool:
    """The WHATWG rule: a host whose last label is a number (decimal, or 0x hex) is read as IPv4 by
    resolvers and browsers, whatever the other labels are."""
    last = name.rsplit(".", 1)[-1]
    return last.isdigit() or bool(_HEX_LABEL.match(last))


def _has_unicode_digits_or_dots(url: str) -> bool:
    """Non-ASCII characters in the authority that normalise (NFKC) to digits or dots, such as
    fullwidth ``１２７．０．０．１`` or the ideographic full stop: a host made of them becomes an address
    in some parser or resolver on the way, which is exactly what this module must see."""
    found = _AUTHORITY.match(url)
    authority = (found.group(1) or "") if found else url
    for char in authority:
        if char.isascii():
            continue
        normal = unicodedata.normalize("NFKC", char)
        if char.isdecimal() or char in _IDNA_DOTS or any(part.isdigit() or part == "." for part in normal):
            return True
    return False


def _host_refusal(host: str, policy: UrlPolicy) -> str | None:
    """Why a host name (not an address) may not be used, or None."""
    name = host.removesuffix(".")
    if not _HOST_NAME.match(host):
        return "The host is not a valid DNS name"
    if _ends_in_number(name):
        return "The host is a number in a non-canonical form; write the address as a dotted quad"
    if policy.allow_private:
        return None
    if name in _LOCAL_NAMES or name.endswith(_LOCAL_SUFFIXES):
        return f"The host {name!r} names this machine or a local network"
    if "." not in name:
        return f"The host {name!r} has no domain; such names resolve only on a local network"
    return None


def parse_outbound_url(url: str, policy: UrlPolicy) -> OutboundUrl:
    """Parse ``url`` as the sender will and refuse it (URL_NOT_ALLOWED) if anything but its DNS
    answer makes it unsafe. No I/O: usable anywhere, including inside validation."""
    if _has_unicode_digits_or_dots(url):
        raise refuse(url, "The host has non-ASCII digits or dots")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        raise refuse(url, f"Not a valid URL ({exc})") from None
    allowed = ("http", "https") if policy.allow_http else ("https",)
    if parsed.scheme not in allowed:
        raise refuse(url, f"Only {' and '.join(allowed)} URLs are allowed")
    if parsed.userinfo:
        raise refuse(url, "The URL must not carry a user name or password")
    try:
        host = parsed.raw_host.decode("ascii").lower()
    except UnicodeDecodeError:
        raise refuse(url, "The host is not ASCII after IDNA encoding") from None
    if not host:
        raise refuse(url, "The URL has no host")
    port = parsed.port if parsed.port is not None else (443 if parsed.scheme == "https" else 80)
    if not 0 < port < 65536:
        raise refuse(url, f"The port {port} is out of range")
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is None:
        reason = _host_refusal(host, policy)
        if reason is not None:
            raise refuse(url, reason)
    elif isinstance(literal, ipaddress.IPv4Address) and str(literal) != host:
        raise refuse(url, "The host is an address in a non-canonical form; write it as a dotted quad")
    elif not policy.allow_private:
        reason = address_refusal(literal)
        if reason is not None:
            raise refuse(url, f"The host is {reason}")
    return OutboundUrl(url=parsed, host=host, port=port, literal=literal)


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    """Every address the operating system's resolver gives for ``host`` (without a zone index, which
    the connection could not carry)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


async def resolve_outbound(target: OutboundUrl, policy: UrlPolicy, resolver: Resolver | None = None) -> IPAddress:
    """The address to connect to for ``target``: every address its name resolves to must be allowed
    (one bad answer refuses the URL, since the client could be steered to any of them)."""
    text = str(target.url)
    if target.literal is not None:
        return target.literal
    try:
        addresses = list(await (resolver or system_resolver)(target.host, target.port))
    except (OSError, UnicodeError, ValueError) as exc:
        raise PixelmillError(errors.FETCH_FAILED, f"Could not resolve {target.host}: {exc}", url=text) from None
    if not addresses:
        raise PixelmillError(errors.FETCH_FAILED, f"Could not resolve {target.host}", url=text)
    if not policy.allow_private:
        for address in addresses:
            reason = address_refusal(address)
            if reason is not None:
                raise refuse(text, f"The host resolves to {reason}")
    return addresses[0]


async def check_outbound_url(
    url: str, policy: UrlPolicy, *, field: str, resolver: Resolver | None = None
) -> OutboundUrl:
    """The check at creation: :func:`parse_outbound_url`, then DNS as :func:`resolve_outbound` does.
    Errors name ``field``. Delivery checks again, since DNS answers change."""
    try:
        target = parse_outbound_url(url, policy)
        await resolve_outbound(target, policy, resolver)
    except PixelmillError as exc:
        raise PixelmillError(exc.spec, exc.message, **{**exc.extra, "field": field}) from None
    return target


def _validate_user_url(value: str, info: ValidationInfo) -> str:
    """Graph validation passes ``{"settings": Settings}`` as context; there, a node's URL input is
    refused before the run is queued. At run time the fetch checks it again (with DNS)."""
    settings = info.context.get("settings") if isinstance(info.context, dict) else None
    if isinstance(settings, Settings):
        try:
            parse_outbound_url(value, UrlPolicy.from_settings(settings))
        except PixelmillError as exc:
            raise PydanticCustomError(errors.URL_NOT_ALLOWED.code, "{reason}", {"reason": exc.message}) from None
    return value


UserUrl = AfterValidator(_validate_user_url)
"""Mark a node input that is a URL the server will fetch: ``url: Annotated[str, UserUrl]``."""
