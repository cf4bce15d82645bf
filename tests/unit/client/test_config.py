from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pixelmill.client.config import DEFAULT_BASE_URL, resolve


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PIXELMILL_API_KEY", raising=False)
    monkeypatch.delenv("PIXELMILL_BASE_URL", raising=False)
    monkeypatch.setenv("PIXELMILL_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("PIXELMILL_DATA_DIR", str(tmp_path / "data"))


def _write(path: Path, content: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content))


def test_nothing_configured_gives_the_default_url_and_no_key() -> None:
    config = resolve()
    assert (config.base_url, config.api_key, config.base_url_source) == (DEFAULT_BASE_URL, None, "default")


def test_arguments_win_over_environment_and_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PIXELMILL_API_KEY", "pm_env")
    monkeypatch.setenv("PIXELMILL_BASE_URL", "http://env:1")
    _write(tmp_path / "config" / "credentials.json", {"api_key": "pm_saved", "url": "http://saved:2"})
    config = resolve("pm_arg", "http://arg:3/")
    assert (config.api_key, config.base_url, config.api_key_source) == ("pm_arg", "http://arg:3", "argument")


def test_environment_wins_over_saved_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PIXELMILL_API_KEY", "pm_env")
    _write(tmp_path / "config" / "credentials.json", {"api_key": "pm_saved", "url": "http://saved:2"})
    config = resolve()
    assert (config.api_key, config.base_url) == ("pm_env", "http://saved:2")
    assert config.api_key_source == "PIXELMILL_API_KEY"


def test_discovery_file_of_a_live_server_supplies_the_url(tmp_path: Path) -> None:
    _write(tmp_path / "data" / "server.json", {"url": "http://127.0.0.1:9999", "pid": os.getpid()})
    assert resolve().base_url == "http://127.0.0.1:9999"


def test_discovery_file_of_a_dead_server_is_ignored(tmp_path: Path) -> None:
    _write(tmp_path / "data" / "server.json", {"url": "http://127.0.0.1:9999", "pid": 2**22 + 12345})
    assert resolve().base_url == DEFAULT_BASE_URL


def test_saved_credentials_win_over_discovery(tmp_path: Path) -> None:
    _write(tmp_path / "data" / "server.json", {"url": "http://127.0.0.1:9999", "pid": os.getpid()})
    _write(tmp_path / "config" / "credentials.json", {"api_key": "pm_saved", "url": "http://saved:2"})
    config = resolve()
    assert (config.api_key, config.base_url) == ("pm_saved", "http://saved:2")
