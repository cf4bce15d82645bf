"""The one outbound-URL check: every refused form, what passes, and resolution through a resolver the
test controls (no test here touches DNS or the network)."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from pathlib import Path

import pytest
from pydantic import ValidationError

from pixelmill.config import Settings
from pixelmill.errors import PixelmillError
from pixelmill.nodes.image_io import ImageLoad
from pixelmill.outbound_urls import (
    IPAddress,
    UrlPolicy,
    address_refusal,
    check_outbound_url,
    parse_outbound_url,
    resolve_outbound,
)

pytestmark = pytest.mark.anyio

STRICT = UrlPolicy()
LAB = UrlPolicy(allow_private=True, allow_http=True)

# Refused whatever the operator allows: tricks, not destinations.
ALWAYS_REFUSED = [
    # schemes other than http(s)
    "ftp://8.8.8.8/x",
    "file:///etc/passwd",
    "gopher://8.8.8.8:70/_x",
    "javascript:alert(1)",
    "//8.8.8.8/x",
    # userinfo
    "https://user:pw@8.8.8.8/x",
    "https://8.8.8.8@127.0.0.1/x",
    "https://good.example.com@10.0.0.1/x",
    # numbers in forms a resolver reads as IPv4
    "https://127.1/x",
    "https://0177.0.0.1/x",
    "https://2130706433/x",
    "https://0x7f000001/x",
    "https://0x7f.0.0.1/x",
    "https://127.0.0.01/x",
    "https://017700000001/x",
    "https://8.8.8.8./x",
    "https://www.example.0x08/x",
    # non-ASCII digits and dots that normalise to an address
    "https://１２７.０.０.１/x",
    "https://127。0。0。1/x",
    "https://127．0．0．1/x",
    "https://①②⑦.0.0.1/x",
    "https://٨.٨.٨.٨/x",
    # not parseable by httpx, the sender's parser
    "https://[::1/x",
    "https://[not-an-address]/x",
    "https://exa mple.com/x",
    "https://example.com:99999/x",
    "https://example.com:0/x",
    "https://ex%41mple.com/x",
    "https://a..b.com/x",
    "https:///x",
    "https://",
    "",
]

# Refused unless the operator allows private URLs.
PRIVATE = [
    "http://8.8.8.8/x",
    "https://localhost/x",
    "https://LOCALHOST./x",
    "https://api.localhost/x",
    "https://localhost.localdomain/x",
    "https://ip6-localhost/x",
    "https://printer.local/x",
    "https://metadata.google.internal/x",
    "https://router.home.arpa/x",
    "https://intranet/x",
    "https://127.0.0.1/x",
    "https://127.255.255.254/x",
    "https://10.0.0.1/x",
    "https://172.16.0.1/x",
    "https://192.168.1.1/x",
    "https://169.254.169.254/latest/meta-data",
    "https://100.64.0.1/x",
    "https://100.127.255.254/x",
    "https://0.0.0.0/x",
    "https://224.0.0.1/x",
    "https://239.255.255.250/x",
    "https://240.0.0.1/x",
    "https://255.255.255.255/x",
    "https://198.18.0.1/x",
    "https://192.0.2.1/x",
    "https://[::1]/x",
    "https://[::]/x",
    "https://[0:0:0:0:0:0:0:1]/x",
    "https://[fe80::1]/x",
    "https://[fc00::1]/x",
    "https://[fd00:ec2::254]/x",
    "https://[ff02::1]/x",
    "https://[fec0::1]/x",
    "https://[::ffff:127.0.0.1]/x",
    "https://[::ffff:7f00:1]/x",
    "https://[::ffff:169.254.169.254]/x",
    "https://[::127.0.0.1]/x",
    "https://[::a9fe:a9fe]/x",
    "https://[2002:7f00:1::]/x",
    "https://[2002:a9fe:a9fe::]/x",
    "https://[2002:c0a8:101::1]/x",
    "https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/x",
    "https://[64:ff9b::7f00:1]/x",
    "https://[64:ff9b::169.254.169.254]/x",
    "https://[64:ff9b::10.0.0.1]/x",
]

PUBLIC = [
    "https://8.8.8.8/x",
    "https://1.1.1.1:8443/a?b=c#d",
    "https://[2606:4700::1111]/x",
    "https://[2606:4700:4700::1111]:8443/x",
    "https://images.example.com/a.png",
    "https://IMAGES.Example.COM./a.png",
    "https://1.2.3.example.com/x",
    "https://bücher.example/x",
]


def refusal(url: str, policy: UrlPolicy) -> PixelmillError:
    with pytest.raises(PixelmillError) as caught:
        parse_outbound_url(url, policy)
    return caught.value


@pytest.mark.parametrize("url", ALWAYS_REFUSED)
def test_tricks_and_unparsable_urls_are_refused_even_where_private_targets_are_allowed(url: str) -> None:
    for policy in (STRICT, LAB):
        error = refusal(url, policy)
        assert error.code == "URL_NOT_ALLOWED"
        assert error.extra["url"] == url


@pytest.mark.parametrize("url", PRIVATE)
def test_local_names_and_internal_addresses_are_refused_unless_the_operator_allows_them(url: str) -> None:
    assert refusal(url, STRICT).code == "URL_NOT_ALLOWED"
    assert parse_outbound_url(url, LAB).url.scheme in ("http", "https")


@pytest.mark.parametrize("url", PUBLIC)
def test_public_destinations_pass(url: str) -> None:
    target = parse_outbound_url(url, STRICT)
    assert target.host.isascii()
    assert target.host == target.host.lower()


def test_the_parse_is_the_senders_and_names_what_it_connects_to() -> None:
    target = parse_outbound_url("https://Bücher.Example:8443/p?q=1", STRICT)
    assert (target.host, target.port, target.literal) == ("xn--bcher-kva.example", 8443, None)
    literal = parse_outbound_url("https://[2606:4700::1111]/", STRICT)
    assert (literal.port, literal.literal) == (443, ipaddress.ip_address("2606:4700::1111"))


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("169.254.169.254", "link-local"),
        ("100.64.0.1", "CGNAT"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("::1", "loopback"),
        ("fe80::1%eth0", "link-local"),
        ("::ffff:127.0.0.1", "IPv4-mapped form of a loopback"),
        ("::10.0.0.1", "IPv4-compatible form of a private"),
        ("2002:7f00:1::", "6to4 form of a loopback"),
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", "Teredo form of a loopback"),
        ("64:ff9b::a9fe:a9fe", "NAT64 form of a link-local"),
    ],
)
def test_each_refused_address_says_why(address: str, reason: str) -> None:
    said = address_refusal(ipaddress.ip_address(address))
    assert said is not None
    assert reason in said


@pytest.mark.parametrize("address", ["8.8.8.8", "93.184.216.34", "2606:4700:4700::1111", "2a00:1450:4001::200e"])
def test_global_unicast_addresses_have_no_refusal(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) is None


class Answers:
    """A resolver the test controls: fixed answers per name, and a record of what was asked."""

    def __init__(self, answers: dict[str, Sequence[str]]) -> None:
        self.answers = answers
        self.asked: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.asked.append((host, port))
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [ipaddress.ip_address(address) for address in self.answers[host]]


DNS = Answers(
    {
        "images.example.com": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"],
        "rebound.example.com": ["93.184.216.34", "127.0.0.1"],
        "sixtofour.example.com": ["2002:7f00:1::"],
        "metadata.example.com": ["169.254.169.254"],
        "empty.example.com": [],
    }
)


async def test_a_name_resolving_to_public_addresses_gives_the_first_to_connect_to() -> None:
    target = parse_outbound_url("https://images.example.com:8443/a.png", STRICT)
    assert await resolve_outbound(target, STRICT, DNS) == ipaddress.ip_address("93.184.216.34")
    assert DNS.asked[-1] == ("images.example.com", 8443)


@pytest.mark.parametrize("name", ["rebound.example.com", "sixtofour.example.com", "metadata.example.com"])
async def test_one_internal_answer_refuses_the_name_unless_private_targets_are_allowed(name: str) -> None:
    target = parse_outbound_url(f"https://{name}/hook", STRICT)
    with pytest.raises(PixelmillError) as caught:
        await resolve_outbound(target, STRICT, DNS)
    assert caught.value.code == "URL_NOT_ALLOWED"
    assert "resolves to" in caught.value.message
    assert await resolve_outbound(target, LAB, DNS) is not None


@pytest.mark.parametrize("name", ["empty.example.com", "unknown.example.com"])
async def test_a_name_without_answers_is_a_fetch_failure(name: str) -> None:
    target = parse_outbound_url(f"https://{name}/hook", STRICT)
    with pytest.raises(PixelmillError) as caught:
        await resolve_outbound(target, STRICT, DNS)
    assert caught.value.code == "FETCH_FAILED"


async def test_an_address_literal_is_not_looked_up() -> None:
    calls = len(DNS.asked)
    assert await resolve_outbound(parse_outbound_url("https://8.8.8.8/", STRICT), STRICT, DNS) == (
        ipaddress.ip_address("8.8.8.8")
    )
    assert len(DNS.asked) == calls


async def test_the_check_at_creation_parses_then_resolves_and_names_the_field() -> None:
    target = await check_outbound_url("https://images.example.com/h", STRICT, field="webhook.url", resolver=DNS)
    assert target.host == "images.example.com"
    for url in ("https://127.1/h", "https://rebound.example.com/h"):
        with pytest.raises(PixelmillError) as caught:
            await check_outbound_url(url, STRICT, field="webhook.url", resolver=DNS)
        assert (caught.value.code, caught.value.extra["field"]) == ("URL_NOT_ALLOWED", "webhook.url")


def test_a_node_url_input_is_checked_when_validation_passes_the_settings(tmp_path: Path) -> None:
    strict = Settings(data_dir=tmp_path, allow_private_urls=False)
    with pytest.raises(ValidationError) as caught:
        ImageLoad.model_validate({"url": "https://0x7f000001/a.png"}, context={"settings": strict})
    [problem] = caught.value.errors()
    assert problem["type"] == "URL_NOT_ALLOWED"
    assert "non-canonical" in problem["msg"]
    assert ImageLoad.model_validate({"url": "https://8.8.8.8/a.png"}, context={"settings": strict}).url
    # Without settings (a run resolving its inputs) the fetch itself checks, with DNS.
    assert ImageLoad.model_validate({"url": "https://0x7f000001/a.png"}).url
