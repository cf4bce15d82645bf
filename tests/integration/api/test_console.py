"""The console's files as the API serves them: at /, for client routes, with a strict CSP; never
in place of the API's own 404s."""

from __future__ import annotations

import gzip
import re

import httpx
import pytest

from pixelmill.api.console import CONTENT_SECURITY_POLICY
from tests.support.console import require_console_build

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


@pytest.fixture(autouse=True)
def _built() -> None:
    require_console_build()


def test_the_console_is_served_at_the_root_with_a_strict_policy(api: httpx.Client) -> None:
    page = api.get("/", headers=HTML)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-cache"
    assert '<div id="root">' in page.text
    assert "<script>" not in page.text  # nothing inline: the policy would block it

    script = re.search(r'src="(/assets/[^"]+\.js)"', page.text)
    assert script is not None
    asset = api.get(script.group(1))
    assert asset.status_code == 200
    assert "javascript" in asset.headers["content-type"]
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert asset.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert api.get("/assets/nothing-here.js").status_code == 404


@pytest.mark.parametrize("path", ["/gallery", "/keys", "/sign-in", "/gallery/deep/link"])
def test_a_client_route_loads_the_console(api: httpx.Client, path: str) -> None:
    page = api.get(path, headers=HTML)
    assert page.status_code == 200
    assert '<div id="root">' in page.text
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


@pytest.mark.parametrize("path", ["/v1/no-such-thing", "/api/v1/no-such-thing", "/runs/run_x", "/mcp/x"])
def test_unknown_api_paths_stay_json_404s(api: httpx.Client, path: str) -> None:
    response = api.get(path, headers=HTML)
    assert response.status_code in (401, 404)
    assert response.headers["content-type"].startswith("application/json")


def test_a_client_route_without_html_in_accept_is_a_404(api: httpx.Client) -> None:
    response = api.get("/gallery", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
    assert api.post("/gallery", headers=HTML).status_code in (404, 405)


def test_the_first_load_stays_under_350_kb_of_compressed_javascript(api: httpx.Client) -> None:
    page = api.get("/", headers=HTML).text
    scripts = re.findall(r'(?:src|href)="(/assets/[^"]+\.js)"', page)
    assert scripts
    compressed = sum(len(gzip.compress(api.get(path).content, compresslevel=9)) for path in scripts)
    assert compressed < 350_000, f"{compressed} bytes of gzipped JavaScript on the first load"
