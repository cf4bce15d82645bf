"""Entry point. Sub-commands live in their own modules and are attached here.

Heavy imports (FastAPI, SQLAlchemy, OpenCV) happen inside commands, so ``pixelmill --help`` and
the client commands start fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    name="pixelmill",
    help="A self-hosted server for generative media.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _settings(data_dir: Path | None = None, host: str | None = None, port: int | None = None):  # type: ignore[no-untyped-def]
    from pixelmill.config import Settings

    overrides = {k: v for k, v in {"data_dir": data_dir, "host": host, "port": port}.items() if v is not None}
    return Settings.model_validate(overrides)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind (default 8700)")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Data directory for the embedded database and files")] = None,
) -> None:
    """Run the API server (and, with the default local dispatch, the in-process workers)."""
    from pixelmill.cli.serve import run_server

    run_server(_settings(data_dir, host, port))


@app.command()
def migrate(
    data_dir: Annotated[Path | None, typer.Option(help="Data directory (embedded database)")] = None,
) -> None:
    """Apply database migrations (PIXELMILL_DATABASE_URL, or the embedded SQLite database)."""
    from pixelmill.db.migrate import upgrade

    settings = _settings(data_dir)
    upgrade(settings.resolved_database_url)
    typer.echo("database is up to date")


def run() -> None:
    app()
