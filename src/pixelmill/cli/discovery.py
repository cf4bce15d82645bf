"""Files that let local client commands find a running server and authenticate to it.

- The discovery file ``<data_dir>/server.json`` (url, port, pid, version, started_at) is written by
  ``pixelmill serve`` once it is about to listen and removed when it shuts down cleanly.
- The credentials file ``<config dir>/credentials.json`` (mode 0600) keeps the operator key that
  the first start of an embedded server created. The config dir is platformdirs'
  ``user_config_dir("pixelmill")``, or ``PIXELMILL_CONFIG_DIR`` when set.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import platformdirs

DISCOVERY_FILE = "server.json"
CREDENTIALS_FILE = "credentials.json"


def config_dir() -> Path:
    override = os.environ.get("PIXELMILL_CONFIG_DIR")
    return Path(override) if override else Path(platformdirs.user_config_dir("pixelmill", appauthor=False))


def _write_private(path: Path, content: dict[str, Any]) -> None:
    """Write JSON readable by the owner only, atomically: the file never exists with wider permissions."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(content, handle, indent=2)
        handle.write("\n")
    os.replace(temporary, path)


def _read(path: Path) -> dict[str, Any] | None:
    try:
        content = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return content if isinstance(content, dict) else None


def save_credentials(*, url: str, email: str, workspace_id: str, key_id: str, api_key: str) -> Path:
    """Keep the bootstrap key for the local CLI (replacing an earlier one); returns the file's path."""
    path = config_dir() / CREDENTIALS_FILE
    _write_private(
        path,
        {
            "url": url,
            "email": email,
            "workspace_id": workspace_id,
            "key_id": key_id,
            "api_key": api_key,
            "created_at": datetime.now(UTC).isoformat(),
        },
    )
    return path


def load_credentials() -> dict[str, Any] | None:
    return _read(config_dir() / CREDENTIALS_FILE)


def discovery_path(data_dir: Path) -> Path:
    return data_dir / DISCOVERY_FILE


def read_discovery(data_dir: Path) -> dict[str, Any] | None:
    return _read(discovery_path(data_dir))


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    return True


def running_server(data_dir: Path) -> dict[str, Any] | None:
    """The discovery record of a live server on ``data_dir``; a stale record (dead pid) is None."""
    record = read_discovery(data_dir)
    if record is None or not isinstance(record.get("pid"), int):
        return None
    return record if pid_alive(record["pid"]) else None


def write_discovery(data_dir: Path, *, url: str, port: int, version: str) -> Path:
    path = discovery_path(data_dir)
    _write_private(
        path,
        {
            "url": url,
            "port": port,
            "pid": os.getpid(),
            "version": version,
            "started_at": datetime.now(UTC).isoformat(),
        },
    )
    return path


def remove_discovery(data_dir: Path) -> None:
    """Remove the discovery file if this process wrote it (never another live server's)."""
    record = read_discovery(data_dir)
    if record is not None and record.get("pid") == os.getpid():
        discovery_path(data_dir).unlink(missing_ok=True)
