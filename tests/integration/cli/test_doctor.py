"""``pixelmill doctor``: each missing piece is named with its fix, and the exit code says whether any is."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pixelmill.cli.main import app
from pixelmill.config import Settings


def _fake_programs(directory: Path, *names: str) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        program = directory / name
        program.write_text("#!/bin/sh\nexit 0\n")
        program.chmod(program.stat().st_mode | stat.S_IXUSR)
    return str(directory)


@pytest.fixture
def environment(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("PIXELMILL_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("PIXELMILL_DATA_DIR", str(settings.data_dir))
    monkeypatch.delenv("PIXELMILL_REDIS_URL", raising=False)
    monkeypatch.delenv("PIXELMILL_STORAGE_URL", raising=False)
    return settings


def test_everything_in_place_exits_0(environment: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", _fake_programs(tmp_path / "bin", "ffmpeg", "espeak-ng"))
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 0, result.output
    assert "everything is in place" in result.output
    assert "up to date" in result.output


def test_missing_programs_are_named_with_their_fix(
    environment: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", _fake_programs(tmp_path / "bin", "ffmpeg"))
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 1
    assert "MISSING  espeak-ng: espeak-ng is not on PATH" in result.output
    assert "sudo apt-get install espeak-ng" in result.output
    assert "MISSING  ffmpeg" not in result.output


def test_an_unmigrated_database_and_unreachable_redis_are_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "old.db"
    sqlite3.connect(database).close()
    monkeypatch.setenv("PIXELMILL_DATABASE_URL", f"sqlite+aiosqlite:///{database}")
    monkeypatch.setenv("PIXELMILL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PIXELMILL_REDIS_URL", "redis://:hunter2@127.0.0.1:1/0")
    monkeypatch.setenv("PATH", _fake_programs(tmp_path / "bin", "ffmpeg", "espeak-ng"))
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 1
    assert "run `pixelmill migrate`" in result.output
    assert "redis://127.0.0.1:1/0 is unreachable" in result.output
    assert "hunter2" not in result.output


def test_an_unwritable_data_dir_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("PIXELMILL_DATA_DIR", str(blocker / "data"))
    monkeypatch.setenv("PIXELMILL_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    monkeypatch.delenv("PIXELMILL_REDIS_URL", raising=False)
    monkeypatch.setenv("PATH", _fake_programs(tmp_path / "bin", "ffmpeg", "espeak-ng"))
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 1
    assert "MISSING  data directory" in result.output
