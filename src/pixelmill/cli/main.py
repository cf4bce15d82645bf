"""Entry point. Sub-commands live in their own modules and are attached here.

Heavy imports (FastAPI, SQLAlchemy, OpenCV) happen inside commands, so ``pixelmill --help`` and
the client commands start fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pixelmill.cli import admin, client_auth, client_catalog, client_gen, client_providers, client_runs, mcp

if TYPE_CHECKING:
    from pixelmill.config import Settings

app = typer.Typer(
    name="pixelmill",
    help="A self-hosted server for generative media.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(admin.app, name="admin")
# Client commands: they talk to a server through the SDK (pixelmill.client).
app.command("login")(client_auth.login_command)
app.command("whoami")(client_auth.whoami_command)
app.add_typer(client_gen.gen_app, name="gen")
app.add_typer(client_gen.edit_app, name="edit")
app.command("run")(client_runs.run_command)
app.add_typer(client_runs.runs_app, name="runs")
app.add_typer(client_catalog.workflows_app, name="workflows")
app.add_typer(client_catalog.nodes_app, name="nodes")
app.command("models")(client_catalog.models_command)
app.add_typer(client_catalog.keys_app, name="keys")
app.add_typer(client_providers.providers_app, name="providers")
app.command("credits")(client_catalog.credits_command)
app.command("mcp")(mcp.mcp_command)

DataDirOption = Annotated[
    Path | None, typer.Option("--data-dir", help="Data directory for the embedded database and files")
]


def _settings(data_dir: Path | None = None, host: str | None = None, port: int | None = None) -> Settings:
    from pixelmill.config import Settings

    overrides = {k: v for k, v in {"data_dir": data_dir, "host": host, "port": port}.items() if v is not None}
    return Settings.model_validate(overrides)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind (default 8700)")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Run the API server (and, with the default local dispatch, the in-process workers)."""
    from pixelmill.cli.serve import run_server

    run_server(_settings(data_dir, host, port))


@app.command()
def worker(
    queues: Annotated[
        str, typer.Option(help="Capabilities to take work for, comma-separated: cpu, gpu, remote")
    ] = "cpu,remote",
    concurrency: Annotated[int | None, typer.Option(help="Runs at once (default worker_concurrency)")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Run a fleet worker (dispatch = celery): executes runs published to the named queues."""
    from pixelmill.cli.worker import run_worker

    run_worker(_settings(data_dir), queues=queues, concurrency=concurrency)


@app.command()
def migrate(data_dir: DataDirOption = None) -> None:
    """Apply database migrations (PIXELMILL_DATABASE_URL, or the embedded SQLite database)."""
    from pixelmill.db.migrate import DatabaseNotReady, upgrade

    settings = _settings(data_dir)
    try:
        upgrade(settings.resolved_database_url)
    except DatabaseNotReady as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo("database is up to date")


@app.command()
def doctor(data_dir: DataDirOption = None) -> None:
    """Check the database, data directory, blob storage, ffmpeg, espeak-ng, Redis and (dispatch = celery)
    the broker and the fleet setup; print each fix."""
    from pixelmill.cli.doctor import report, run_checks

    checks = run_checks(_settings(data_dir))
    typer.echo(report(checks))
    if not all(check.ok for check in checks):
        raise typer.Exit(1)


@app.command()
def config(
    markdown: Annotated[bool, typer.Option("--markdown", help="Print docs/settings.md instead")] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Print the effective settings as JSON (secrets masked), or the settings reference as Markdown."""
    from pixelmill.cli.config import effective_settings, settings_markdown

    if markdown:
        typer.echo(settings_markdown(), nl=False)
    else:
        typer.echo(json.dumps(effective_settings(_settings(data_dir)), indent=2))


def run() -> None:
    app()
