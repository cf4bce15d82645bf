"""ima2's advertisement file, so ima2's own CLI finds ``pixelmill serve`` with no ``--server``.

ima2's CLI looks, in order, at ``IMA2_SERVER``, then the file ``IMA2_ADVERTISE_FILE`` or
``${IMA2_CONFIG_DIR:-~/.ima2}/server.json`` (``backend.url``, else ``url``, else ``port``), then
``http://localhost:3333``. With the ``ima2_discovery`` setting, ``pixelmill serve`` writes that file
in ``ima2 serve``'s shape as it starts listening and removes it on shutdown, only if it still names
this process (a later ``ima2 serve`` may have replaced it). It holds no credential.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

FILE_NAME = "server.json"


def discovery_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where ima2's CLI reads the advertisement, from the same variables it reads."""
    env = os.environ if environ is None else environ
    if env.get("IMA2_ADVERTISE_FILE"):
        return Path(env["IMA2_ADVERTISE_FILE"]).expanduser()
    config_dir = env.get("IMA2_CONFIG_DIR")
    return (Path(config_dir).expanduser() if config_dir else Path.home() / ".ima2") / FILE_NAME


def advertisement(*, url: str, port: int, version: str, pid: int, started_at_ms: int) -> dict[str, Any]:
    """The file's content in ``ima2 serve``'s shape; no OAuth or Grok proxy runs beside pixelmill."""
    return {
        "port": port,
        "url": url,
        "pid": pid,
        "startedAt": started_at_ms,
        "version": version,
        "backend": {"configuredPort": port, "actualPort": port, "url": url},
        "oauth": {"configuredPort": None, "actualPort": None, "url": None, "status": "offline"},
        "grok": {"configuredPort": None, "actualPort": None, "url": None},
    }


def write_discovery(path: Path, *, url: str, port: int, version: str) -> None:
    """Write the advertisement atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    content = advertisement(
        url=url, port=port, version=version, pid=os.getpid(), started_at_ms=round(time.time() * 1000)
    )
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(content, indent=2) + "\n")
    os.replace(temporary, path)


def remove_discovery(path: Path) -> None:
    """Remove the advertisement if it names this process."""
    try:
        content = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    if isinstance(content, dict) and content.get("pid") == os.getpid():
        path.unlink(missing_ok=True)
