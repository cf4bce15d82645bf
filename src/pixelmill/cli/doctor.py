"""``pixelmill doctor``: is everything this installation needs present? Each problem comes with its fix.

Checks: the database (reachable, migrations current), the data directory (writable), the blob
store (an S3 bucket with a real write), the programs the media nodes call (ffmpeg, espeak-ng), Redis
when configured and, for a fleet (``dispatch = celery``), the broker and what a fleet spread over
several hosts needs (see :func:`fleet_checks`). Exit code 1 when anything is missing, so scripts and
CI can gate on it; warnings name setups that work on one host only and do not change the exit code.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from pixelmill.config import Settings
from pixelmill.db.migrate import DatabaseNotReady, masked_url, schema_status
from pixelmill.dispatch.broker import ping_broker, shown_url

APT_PACKAGES = {"ffmpeg": "ffmpeg", "espeak-ng": "espeak-ng"}


@dataclass(frozen=True, slots=True)
class Check:
    """One finding: ``fix`` says what to do when ``ok`` is false or ``warning`` is true."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    warning: bool = False  # works, but not across hosts; never set with ok false


def _writable(directory: Path) -> str | None:
    """None when a file can be created in ``directory`` (made if missing), else why not."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".doctor-"):
            pass
    except OSError as exc:
        return f"{type(exc).__name__}: {exc.strerror or exc}"
    return None


def check_data_dir(settings: Settings) -> Check:
    problem = _writable(settings.data_dir)
    if problem is None:
        return Check("data directory", True, str(settings.data_dir))
    return Check(
        "data directory",
        False,
        f"{settings.data_dir} is not writable ({problem})",
        "create it and give your user write access (chown/chmod), or choose another with --data-dir or "
        "PIXELMILL_DATA_DIR",
    )


def check_database(settings: Settings) -> Check:
    url = settings.resolved_database_url
    shown = masked_url(url)
    parsed = make_url(url)
    if settings.owns_database and parsed.database and not Path(parsed.database).exists():
        return Check("database", True, f"{shown} will be created by `pixelmill serve` or `pixelmill migrate`")
    try:
        status = schema_status(url)
    except DatabaseNotReady as exc:
        return Check(
            "database",
            False,
            str(exc),
            "start the database server, or fix PIXELMILL_DATABASE_URL (for PostgreSQL also: "
            "pip install 'pixelmill[postgres]'); a missing SQLite file is made by `pixelmill migrate`",
        )
    problem = status.problem()
    if problem is not None:
        return Check("database", False, problem, status.fix)
    return Check("database", True, f"{shown} is reachable and up to date")


def check_storage(settings: Settings) -> Check:
    url = settings.resolved_storage_url
    if url.startswith("file://"):
        problem = _writable(Path(url.removeprefix("file://")))
        if problem is None:
            return Check("blob storage", True, url)
        return Check("blob storage", False, f"{url} is not writable ({problem})", "give your user write access to it")
    try:
        from pixelmill.storage.local import open_blob_store

        asyncio.run(open_blob_store(url, settings).check())
    except Exception as exc:
        return Check(
            "blob storage",
            False,
            f"{url} failed its check ({type(exc).__name__}: {exc})",
            "check PIXELMILL_STORAGE_URL and its credentials (for S3 also: pip install 'pixelmill[s3]')",
        )
    return Check("blob storage", True, url)


def check_program(program: str) -> Check:
    path = shutil.which(program)
    if path is not None:
        return Check(program, True, path)
    return Check(
        program,
        False,
        f"{program} is not on PATH",
        f"sudo apt-get install {APT_PACKAGES.get(program, program)}  (Debian/Ubuntu; other systems: "
        f"install {program} with the system's package manager)",
    )


def check_redis(redis_url: str) -> Check:
    shown = shown_url(redis_url)
    try:
        import redis
    except ImportError:
        return Check("redis", False, "the redis package is not installed", "pip install 'pixelmill[redis]'")
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=3, socket_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        return Check(
            "redis",
            False,
            f"{shown} is unreachable ({type(exc).__name__})",
            "start Redis, or fix or unset PIXELMILL_REDIS_URL",
        )
    finally:
        client.close()
    return Check("redis", True, shown)


def check_broker(settings: Settings) -> Check:
    """The Celery broker accepts a connection (a real login, so wrong credentials or vhost show)."""
    if not settings.broker_url:
        return Check(
            "broker",
            False,
            "dispatch = celery, but no broker is configured: the API cannot publish runs, no worker starts",
            "set PIXELMILL_BROKER_URL to redis://… or amqp://… (RabbitMQ) on every API process and worker",
        )
    shown = shown_url(settings.broker_url)
    try:
        ping_broker(settings.broker_url)
    except ImportError:
        return Check("broker", False, "the celery extra is not installed", "pip install 'pixelmill[celery]'")
    except Exception as exc:
        return Check(
            "broker",
            False,
            f"{shown} is unreachable ({type(exc).__name__})",
            "start the broker, or fix PIXELMILL_BROKER_URL (host, port, user, password, vhost)",
        )
    return Check("broker", True, shown)


def fleet_checks(settings: Settings) -> list[Check]:
    """What API processes and workers on several hosts must share (``dispatch = celery`` only).

    SQLite, a local blob directory and a generated secret are each a file on one host: warnings,
    since a fleet on one host can use them. No Redis at all (neither ``redis_url`` nor a Redis
    broker) is a problem: no worker can win the sweeper election, so runs of a dead worker and runs
    whose publish was lost are never recovered.
    """
    checks = [check_broker(settings)]
    if settings.is_embedded_database:
        checks.append(
            Check(
                "fleet database",
                True,
                "SQLite is a file on this host: workers on other hosts cannot reach it",
                "use PostgreSQL (PIXELMILL_DATABASE_URL=postgresql+psycopg://…) for workers on other hosts",
                warning=True,
            )
        )
    storage = settings.resolved_storage_url
    if storage.startswith("file://"):
        checks.append(
            Check(
                "fleet storage",
                True,
                f"{storage} is a directory on this host: outputs written by workers elsewhere are not readable here",
                "use S3 (PIXELMILL_STORAGE_URL=s3://bucket/prefix), or one shared mount at the same path everywhere",
                warning=True,
            )
        )
    if settings.secret_key is None:
        checks.append(
            Check(
                "fleet secret",
                True,
                "no PIXELMILL_SECRET_KEY: each host generates its own, so tokens and signed links made by one "
                "API process fail on another",
                "set PIXELMILL_SECRET_KEY to one long random value on every API process and worker",
                warning=True,
            )
        )
    if not settings.redis_url:
        redis_broker = (settings.broker_url or "").startswith(("redis://", "rediss://"))
        detail = (
            "no PIXELMILL_REDIS_URL: live events do not cross processes (streams get workers' events only "
            "on reconnect) and rate limits count per API process"
        )
        fix = "set PIXELMILL_REDIS_URL=redis://… on every API process and worker"
        if redis_broker:
            checks.append(Check("fleet redis", True, f"{detail}; the sweeper elects itself on the broker", fix, True))
        else:
            checks.append(Check("fleet redis", False, f"{detail}, and no worker can win the sweeper election", fix))
    return checks


def run_checks(settings: Settings) -> list[Check]:
    checks = [check_data_dir(settings), check_database(settings), check_storage(settings)]
    checks += [check_program(program) for program in APT_PACKAGES]
    if settings.redis_url:
        checks.append(check_redis(settings.redis_url))
    if settings.dispatch == "celery":
        checks += fleet_checks(settings)
    return checks


def report(checks: list[Check]) -> str:
    lines = []
    for check in checks:
        label = "MISSING" if not check.ok else "warn" if check.warning else "ok"
        lines.append(f"{label:<8} {check.name}: {check.detail}")
        if not check.ok or check.warning:
            lines.append(f"         fix: {check.fix}")
    problems = sum(not c.ok for c in checks)
    warnings = sum(c.warning for c in checks)
    if problems:
        lines.append(f"{problems} problem(s) found")
    else:
        lines.append("everything is in place" + (f" ({warnings} warning(s))" if warnings else ""))
    return "\n".join(lines)
