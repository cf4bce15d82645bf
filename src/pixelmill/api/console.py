"""The web console: the single-page app built from ``web/`` into ``pixelmill/console/static``, served at ``/``.

``/assets/*`` are Vite's content-hashed files (cached for a year); any other GET that asks for HTML
and is not under an API prefix gets ``index.html``, so the console's own routes (``/gallery``,
``/keys``) survive a reload. Every console response carries a strict Content-Security-Policy: only
this origin's scripts, styles, images, media and connections, no inline script, no framing.

A source checkout that has not built the console answers ``/`` with a page that says how to.
"""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

STATIC_DIR = Path(__file__).resolve().parent.parent / "console" / "static"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}

# First path segments that belong to the API, its dialects and its documents: an unknown path
# under one of them is the API's JSON 404, never the console.
API_SEGMENTS = frozenset(
    {"v1", "api", "runs", "generated", "ws", "mcp", "docs", "redoc", "openapi.json", "healthz", "readyz", "metrics"}
)

_NOT_BUILT = """<!doctype html><html lang="en"><meta charset="utf-8"><title>pixelmill</title>
<p>The web console is not built in this checkout. Run <code>npm ci &amp;&amp; npm run build</code> in
<code>web/</code> (or <code>./scripts/serve</code>, which does it), then reload. The API is at
<a href="/docs">/docs</a>.</p></html>"""


class _Assets(StaticFiles):
    """Vite's hashed assets: immutable, so browsers never ask twice."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        response.headers.update(SECURITY_HEADERS)
        return response


def _wants_console(request: Request) -> bool:
    first = request.url.path.lstrip("/").split("/", 1)[0]
    return first not in API_SEGMENTS and "text/html" in request.headers.get("accept", "")


async def _index(_request: Request) -> Response:
    index = STATIC_DIR / "index.html"
    if not index.is_file():
        return HTMLResponse(_NOT_BUILT, status_code=503, headers=SECURITY_HEADERS)
    # Revalidated on every load, so a new build is picked up at once; the assets it names are immutable.
    return FileResponse(index, headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"})


def install_console(app: Starlette) -> None:
    """Serve the console at ``/`` and ``/assets``, and its ``index.html`` for a browser's navigation
    to a path no route matched (a client route); anything else unmatched stays the API's 404."""
    app.router.routes.append(Route("/", _index, methods=["GET", "HEAD"], include_in_schema=False))
    if (STATIC_DIR / "assets").is_dir():
        app.router.routes.append(Mount("/assets", app=_Assets(directory=STATIC_DIR / "assets"), name="console-assets"))
    not_found = app.router.default

    async def console_or_not_found(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            request = Request(scope, receive)
            if request.method in ("GET", "HEAD") and _wants_console(request):
                await (await _index(request))(scope, receive, send)
                return
        await not_found(scope, receive, send)

    app.router.default = console_or_not_found
