"""The outbound URL guard (SSRF): which destinations a fetch or webhook may reach."""

from __future__ import annotations

import ipaddress

import httpx
import pytest

from pixelmill.errors import PixelmillError
from pixelmill.net import UrlPolicy, is_public_address, resolve_allowed

pytestmark = pytest.mark.anyio

STRICT = UrlPolicy()
LAB = UrlPolicy(allow_private=True, allow_http=True)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fd00:ec2::254",
        "::ffff:127.0.0.1",
        "240.0.0.1",
    ],
)
def test_internal_addresses_are_not_public(address: str) -> None:
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_global_unicast_addresses_are_public(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/x",
        "https://10.0.0.5/x",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/x",
        "https://localhost/x",
    ],
)
async def test_private_destinations_are_refused_unless_allowed(url: str) -> None:
    with pytest.raises(PixelmillError) as caught:
        await resolve_allowed(httpx.URL(url), STRICT)
    assert caught.value.code == "URL_NOT_ALLOWED"
    address = await resolve_allowed(httpx.URL(url), LAB)
    assert not is_public_address(address)


@pytest.mark.parametrize("url", ["http://8.8.8.8/x", "ftp://8.8.8.8/x", "file:///etc/passwd"])
async def test_only_https_unless_allowed(url: str) -> None:
    with pytest.raises(PixelmillError) as caught:
        await resolve_allowed(httpx.URL(url), STRICT)
    assert caught.value.code == "URL_NOT_ALLOWED"


async def test_a_public_literal_address_passes() -> None:
    assert str(await resolve_allowed(httpx.URL("https://8.8.8.8/x"), STRICT)) == "8.8.8.8"
