"""Where the client finds its server and key, first match wins:

1. arguments (``Client(api_key=..., base_url=...)``);
2. ``PIXELMILL_API_KEY`` / ``PIXELMILL_BASE_URL`` (then, for a caller that asks, other prefixes':
   ``pixelmill mcp`` also reads ``IMAGEAT_API_KEY`` / ``IMAGEAT_BASE_URL``);
3. the saved local credentials (``<config dir>/credentials.json``, written by ``pixelmill serve`` on
   first start and by ``pixelmill login``; the config dir is ``PIXELMILL_CONFIG_DIR`` or the user's
   config directory);
4. the discovery file ``<data dir>/server.json`` of a server running on this machine (URL only;
   the data dir is ``PIXELMILL_DATA_DIR`` or the user's data directory).

The base URL falls back to ``http://127.0.0.1:8700``. The files are read here rather than through
the CLI's module because the SDK sits below the CLI.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_BASE_URL = "http://127.0.0.1:8700"
CREDENTIALS_FILE = "credentials.json"
DISCOVERY_FILE = "server.json"


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """The resolved settings and where each came from (for ``pixelmill whoami``)."""

    base_url: str
    api_key: str | None
    base_url_source: str
    api_key_source: str | None


def config_dir() -> Path:
    override = os.environ.get("PIXELMILL_CONFIG_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_config_dir("pixelmill", appauthor=False))


def data_dir() -> Path:
    override = os.environ.get("PIXELMILL_DATA_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_data_dir("pixelmill", appauthor=False))


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        content = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return content if isinstance(content, dict) else None


def saved_credentials() -> dict[str, Any] | None:
    return _read_json(config_dir() / CREDENTIALS_FILE)


def discovered_url() -> str | None:
    """The URL of a server running on this machine, when its discovery file names a live process."""
    record = _read_json(data_dir() / DISCOVERY_FILE)
    if record is None or not isinstance(record.get("url"), str):
        return None
    pid = record.get("pid")
    if isinstance(pid, int):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:  # alive, owned by another user
            pass
    return str(record["url"])


def resolve(
    api_key: str | None = None, base_url: str | None = None, *, env_prefixes: Sequence[str] = ("PIXELMILL",)
) -> ClientConfig:
    """Apply the precedence above; the key may stay None (the server then answers 401).
    ``env_prefixes`` are the ``<PREFIX>_API_KEY`` / ``<PREFIX>_BASE_URL`` variables read, first set wins."""
    key, key_source = (api_key, "argument") if api_key else (None, None)
    url, url_source = (base_url, "argument") if base_url else (None, "")
    for prefix in env_prefixes:
        if key is None and os.environ.get(f"{prefix}_API_KEY"):
            key, key_source = os.environ[f"{prefix}_API_KEY"], f"{prefix}_API_KEY"
        if url is None and os.environ.get(f"{prefix}_BASE_URL"):
            url, url_source = os.environ[f"{prefix}_BASE_URL"], f"{prefix}_BASE_URL"
    if key is None or url is None:
        saved = saved_credentials()
        if saved is not None:
            path = str(config_dir() / CREDENTIALS_FILE)
            if key is None and isinstance(saved.get("api_key"), str):
                key, key_source = saved["api_key"], path
            if url is None and isinstance(saved.get("url"), str):
                url, url_source = saved["url"], path
    if url is None:
        found = discovered_url()
        if found is not None:
            url, url_source = found, str(data_dir() / DISCOVERY_FILE)
    if url is None:
        url, url_source = DEFAULT_BASE_URL, "default"
    return ClientConfig(base_url=url.rstrip("/"), api_key=key, base_url_source=url_source, api_key_source=key_source)
