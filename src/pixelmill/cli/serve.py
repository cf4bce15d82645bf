"""``pixelmill serve``: migrate an embedded database, then run uvicorn."""

from __future__ import annotations

import uvicorn

from pixelmill.api.app import create_app
from pixelmill.config import Settings
from pixelmill.db.migrate import upgrade
from pixelmill.logs import configure_logging


def run_server(settings: Settings) -> None:
    configure_logging(settings.log_level, settings.log_format)
    if settings.is_embedded_database:
        # One process owns an embedded database, so it is safe to migrate at start-up; shared
        # databases are migrated once by the operator with `pixelmill migrate`.
        upgrade(settings.resolved_database_url)
    app = create_app(settings)
    print(f"pixelmill listening on {settings.resolved_public_url}  (API docs: {settings.resolved_public_url}/docs)")
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, access_log=False)
