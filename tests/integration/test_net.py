"""Guarded fetches against a loopback HTTP server: limits, redirects, refusals, pinning, and the
trusted path for operator-configured upstreams."""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from pixelmill.errors import PixelmillError
from pixelmill.net import send, upstream_client
from pixelmill.outbound_urls import IPAddress, UrlPolicy

pytestmark = pytest.mark.anyio
LAB = UrlPolicy(allow_private=True, allow_http=True)


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/big":
            self._reply(200, b"x" * 5000)
        elif self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for _ in range(10):
                self.wfile.write(b"3E8\r\n" + b"y" * 1000 + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        elif self.path == "/hop":
            self.send_response(302)
            self.send_header("Location", "/small")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/to-file":
            self.send_response(302)
            self.send_header("Location", "file:///etc/passwd")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self._reply(200, f"host={self.headers['Host']}".encode())

    def _reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def origin() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


async def fetch(url: str, policy: UrlPolicy = LAB, max_bytes: int = 2000) -> bytes:
    return (await send("GET", url, policy=policy, max_bytes=max_bytes, timeout_seconds=5)).content


async def test_fetch_keeps_the_host_header_and_follows_checked_redirects(origin: str) -> None:
    port = origin.rsplit(":", 1)[1]
    assert await fetch(f"{origin}/hop") == f"host=127.0.0.1:{port}".encode()


async def test_bodies_over_the_limit_fail_declared_or_streamed(origin: str) -> None:
    for path in ("/big", "/chunked"):
        with pytest.raises(PixelmillError) as caught:
            await fetch(f"{origin}{path}")
        assert caught.value.code == "FETCH_FAILED"


async def test_loopback_is_refused_by_default(origin: str) -> None:
    with pytest.raises(PixelmillError) as caught:
        await fetch(f"{origin}/small", UrlPolicy(allow_private=False, allow_http=True))
    assert caught.value.code == "URL_NOT_ALLOWED"


async def test_every_redirect_hop_is_checked_again(origin: str) -> None:
    with pytest.raises(PixelmillError) as caught:
        await fetch(f"{origin}/to-file")
    assert caught.value.code == "URL_NOT_ALLOWED"


@pytest.mark.parametrize("url", ["http://0177.0.0.1/x", "https://[::1/x", "http://127.1/x", "http://ex%41mple.com/"])
async def test_a_url_the_check_refuses_is_url_not_allowed_and_nothing_else(url: str) -> None:
    with pytest.raises(PixelmillError) as caught:
        await fetch(url)
    assert caught.value.code == "URL_NOT_ALLOWED"


async def test_a_name_is_resolved_once_and_the_connection_pinned_to_the_checked_address(origin: str) -> None:
    port = origin.rsplit(":", 1)[1]
    asked: list[str] = []

    async def resolver(host: str, _port: int) -> list[IPAddress]:
        asked.append(host)
        return [ipaddress.ip_address("127.0.0.1")]

    url = f"http://images.example.com:{port}/small"
    result = await send("GET", url, policy=LAB, max_bytes=2000, timeout_seconds=5, resolver=resolver)
    assert result.content == f"host=images.example.com:{port}".encode()
    assert asked == ["images.example.com"]
    strict_http = UrlPolicy(allow_private=False, allow_http=True)
    with pytest.raises(PixelmillError) as caught:
        await send("GET", url, policy=strict_http, max_bytes=2000, timeout_seconds=5, resolver=resolver)
    assert caught.value.code == "URL_NOT_ALLOWED"


async def test_the_system_resolver_is_used_by_default(origin: str) -> None:
    port = origin.rsplit(":", 1)[1]
    assert await fetch(f"http://localhost:{port}/small") == f"host=localhost:{port}".encode()


async def test_an_operator_configured_upstream_is_trusted_where_a_user_url_is_refused(origin: str) -> None:
    strict_http = UrlPolicy(allow_private=False, allow_http=True)
    with pytest.raises(PixelmillError):
        await fetch(f"{origin}/small", strict_http)
    async with upstream_client(origin, timeout_seconds=5) as client:
        response = await client.get("/small")
    assert response.status_code == 200
    assert response.content.startswith(b"host=127.0.0.1")
