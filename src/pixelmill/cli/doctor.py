"""``pixelmill doctor``: is everything this installation needs present? Each problem comes with its fix.

Checks: the database (reachable, migrations current), the data directory (writable), the blob
store, the programs the media nodes call (ffmpeg, espeak-ng) and Redis when configured. Exit code
1 when anything is missing, so scripts and CI can gate on it.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from pixelmill.config import Settings
from pixelmill.db.migrate import pending, sync_url

APT_PACKAGES = {"ffmpeg": "ffmpeg", "espeak-ng": "espeak-ng"}


@dataclass(frozen=True, slots=True)
class Check:
    """One finding: ``fix`` says what to do when ``ok`` is false."""

    name: str
    ok: bool
    detail: str
    fix: str = ""


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
    parsed = make_url(url)
    shown = parsed.render_as_string(hide_password=True)
    if settings.is_embedded_database and parsed.database and not Path(parsed.database).exists():
        return Check("database", True, f"{shown} will be created by `pixelmill serve` or `pixelmill migrate`")
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        return Check(
            "database",
            False,
            f"{shown} is unreachable ({type(exc).__name__})",
            "start the database server, or fix PIXELMILL_DATABASE_URL (for PostgreSQL also: "
            "pip install 'pixelmill[postgres]')",
        )
    finally:
        engine.dispose()
    missing = pending(url)
    if missing:
        return Check("database", False, f"{shown} lacks migrations {', '.join(missing)}", "run `pixelmill migrate`")
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


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    host = f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
    return f"{parts.scheme}://{host}{parts.path}"


def check_redis(redis_url: str) -> Check:
    shown = _without_password(redis_url)
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


def run_checks(settings: Settings) -> list[Check]:
    checks = [check_data_dir(settings), check_database(settings), check_storage(settings)]
    checks += [check_program(program) for program in APT_PACKAGES]
    if settings.redis_url:
        checks.append(check_redis(settings.redis_url))
    return checks


def report(checks: list[Check]) -> str:
    lines = []
    for check in checks:
        lines.append(f"{'ok' if check.ok else 'MISSING':<8} {check.name}: {check.detail}")
        if not check.ok:
            lines.append(f"         fix: {check.fix}")
    problems = sum(not c.ok for c in checks)
    lines.append("everything is in place" if not problems else f"{problems} problem(s) found")
    return "\n".join(lines)
