"""``pixelmill worker``: a Celery worker (thread pool) around this process's WorkerProcess."""

from __future__ import annotations

import os

import typer

from pixelmill.config import Settings


def run_worker(settings: Settings, *, queues: str, concurrency: int | None) -> None:
    from pixelmill.db.migrate import DatabaseNotReady, require_current_schema
    from pixelmill.dispatch.celery_app import CAPABILITIES, queue_name
    from pixelmill.dispatch.celery_worker import build_worker_app
    from pixelmill.logs import configure_logging

    names = [name.strip() for name in queues.split(",") if name.strip()]
    unknown = sorted(set(names) - set(CAPABILITIES))
    if not names or unknown:
        raise typer.BadParameter(f"queues must be among {', '.join(CAPABILITIES)}", param_hint="--queues")
    if not settings.broker_url:
        raise typer.BadParameter("set PIXELMILL_BROKER_URL (redis://… or amqp://…) to run a worker")
    try:  # a worker never migrates: its database is the fleet's, migrated once with `pixelmill migrate`
        require_current_schema(settings.resolved_database_url)
    except DatabaseNotReady as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    from celery.signals import worker_ready

    configure_logging(settings.log_level, settings.log_format)
    app, process = build_worker_app(settings)
    slots = concurrency or settings.worker_concurrency
    queue_names = ",".join(queue_name(name) for name in names)

    def announce(**_: object) -> None:
        # Whatever the log level, say when the worker consumes (as `serve` says when it listens).
        print(f"pixelmill worker {process.owner} ready: {queue_names}, {slots} run(s) at once", flush=True)

    worker_ready.connect(announce, weak=False)
    process.start()
    try:
        app.worker_main(
            [
                "worker",
                "--pool=threads",
                # A node name of its own: Celery's default (celery@host) is shared by every worker of a
                # host, and RabbitMQ then refuses the second one's remote-control queue.
                f"--hostname=pixelmill-{os.getpid()}@%h",
                f"--concurrency={slots}",
                f"--queues={queue_names}",
                "--without-gossip",
                "--without-mingle",
                f"--loglevel={settings.log_level}",
            ]
        )
    finally:
        process.stop()
