"""``pixelmill serve``: migrate and bootstrap an embedded database, advertise the server, run uvicorn."""

from __future__ import annotations

import asyncio
import gc
import signal
import sys
from types import FrameType
from urllib.parse import urlencode

from pixelmill import __version__
from pixelmill.api.dialects.ima2 import discovery as ima2_discovery
from pixelmill.cli.discovery import remove_discovery, running_server, save_credentials, write_discovery
from pixelmill.config import Settings, is_loopback_host
from pixelmill.db.migrate import DatabaseNotReady, require_current_schema, upgrade
from pixelmill.db.session import Database
from pixelmill.logs import configure_logging
from pixelmill.services.bootstrap import OperatorCredentials, bootstrap_operator
from pixelmill.services.sign_in_links import SIGN_IN_LINK_PATH, SignInLinks


async def _bootstrap(settings: Settings) -> tuple[OperatorCredentials, str | None] | None:
    """The first start's operator credentials, with a one-time console sign-in token when the
    server listens on loopback only (elsewhere a printed link could be followed by anyone who saw
    the log before the operator)."""
    db = Database(settings.resolved_database_url)
    try:
        credentials = await bootstrap_operator(db)
        if credentials is None or not is_loopback_host(settings.host):
            return None if credentials is None else (credentials, None)
        async with db.session() as session:
            token = await SignInLinks(session).issue(
                credentials.user_id, credentials.workspace_id, settings.sign_in_link_ttl_seconds
            )
        return credentials, token
    finally:
        await db.dispose()


def _announce_operator(credentials: OperatorCredentials, url: str, sign_in_token: str | None) -> None:
    saved = save_credentials(
        url=url,
        email=credentials.email,
        workspace_id=credentials.workspace_id,
        key_id=credentials.key_id,
        api_key=credentials.key,
    )
    print(
        "\nFirst start: created the operator account and an API key. They are shown only now.\n"
        f"  email:    {credentials.email}\n"
        f"  password: {credentials.password}\n"
        f"  API key:  {credentials.key}\n"
        f"The key is saved for the local CLI in {saved} (readable only by you).",
        flush=True,
    )
    if sign_in_token is not None:
        link = f"{url}{SIGN_IN_LINK_PATH}?{urlencode({'token': sign_in_token})}"
        print(f"Open the web console signed in as the operator (this link works once):\n  {link}", flush=True)
    print(flush=True)


class _Stopped(Exception):
    """uvicorn re-raises the signal that stopped it once it has shut down; this turns it into a return."""


def _raise_stopped(signum: int, _frame: FrameType | None) -> None:
    raise _Stopped(signum)


def run_server(settings: Settings) -> None:
    """Serve until interrupted; the discovery file lives exactly as long as the server."""
    configure_logging(settings.log_level, settings.log_format)
    data_dir = settings.data_dir
    other = running_server(data_dir)
    if other is not None:
        print(
            f"pixelmill is already serving {other.get('url')} from {data_dir} (pid {other.get('pid')}); "
            "stop it first or choose another --data-dir",
            file=sys.stderr,
        )
        raise SystemExit(1)
    data_dir.mkdir(parents=True, exist_ok=True)
    url = settings.resolved_public_url
    try:
        if settings.owns_database:
            # One process owns the data directory's own database, so it is safe to migrate and
            # bootstrap at start-up; a configured database (PostgreSQL, or SQLite named by URL) may
            # be shared, is migrated with `pixelmill migrate` and gets users from `pixelmill admin`.
            upgrade(settings.resolved_database_url)
            first_start = asyncio.run(_bootstrap(settings))
            if first_start is not None:
                credentials, sign_in_token = first_start
                _announce_operator(credentials, url, sign_in_token)
        else:
            # Refuse now rather than start and fail every request on a missing table.
            require_current_schema(settings.resolved_database_url)
    except DatabaseNotReady as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(1) from exc
    # The app and uvicorn are imported only now, so a refused start answers at once.
    import uvicorn

    from pixelmill.api.app import create_app

    app = create_app(settings)
    # Everything imported so far lives as long as the process: moving it out of the collector's
    # generations spares every later collection from walking it again (measurably cheaper per event
    # with many open streams).
    gc.freeze()
    print(
        f"pixelmill {__version__} listening on {url}  (API docs: {url}/docs, OpenAPI: {url}/openapi.json)", flush=True
    )
    write_discovery(data_dir, url=url, port=settings.port, version=__version__)
    ima2_file = ima2_discovery.discovery_path() if settings.ima2_discovery else None
    if ima2_file is not None:
        ima2_discovery.write_discovery(ima2_file, url=url, port=settings.port, version=__version__)
    previous = {sig: signal.signal(sig, _raise_stopped) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, access_log=False)
    except _Stopped:
        print("pixelmill stopped", flush=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        remove_discovery(data_dir)
        if ima2_file is not None:
            ima2_discovery.remove_discovery(ima2_file)
