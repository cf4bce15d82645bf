"""``pixelmill serve``'s log format: readable lines on a terminal (a real pty), JSON into a pipe,
and PIXELMILL_LOG_FORMAT overrides the choice."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

_CLI = "from pixelmill.cli.main import run; run()"
# uvicorn says this through the logging pixelmill configures, once the app has started.
_STARTED = "Application startup complete"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _environment(tmp_path: Path, log_format: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIXELMILL_")}
    env.update(PIXELMILL_CONFIG_DIR=str(tmp_path / "config"), PYTHONUNBUFFERED="1")
    if log_format is not None:
        env["PIXELMILL_LOG_FORMAT"] = log_format
    return env


def _command(tmp_path: Path) -> list[str]:
    port = str(_free_port())
    return [
        sys.executable,
        "-c",
        _CLI,
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        port,
        "--data-dir",
        str(tmp_path / "d"),
    ]


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


def _serve_on_a_terminal(tmp_path: Path, log_format: str | None) -> list[str]:
    """Run serve with stdout and stderr on a pseudo-terminal; its lines up to the startup log line."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        _command(tmp_path), env=_environment(tmp_path, log_format), stdin=follower, stdout=follower, stderr=follower
    )
    os.close(follower)
    buffer = b""
    try:
        deadline = time.monotonic() + 90
        while _STARTED.encode() not in buffer and time.monotonic() < deadline and process.poll() is None:
            ready, _, _ = select.select([leader], [], [], 0.2)
            if ready:
                try:
                    buffer += os.read(leader, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
    finally:
        _stop(process)
        os.close(leader)
    text = buffer.decode(errors="replace").replace("\r\n", "\n")
    assert _STARTED in text, text
    return text.splitlines()


def _serve_into_a_pipe(tmp_path: Path) -> list[str]:
    process = subprocess.Popen(
        _command(tmp_path), env=_environment(tmp_path, None), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    lines: list[str] = []
    try:
        assert process.stderr is not None
        for raw in process.stderr:
            lines.append(raw.decode().rstrip("\n"))
            if _STARTED in lines[-1]:
                break
    finally:
        _stop(process)
        if process.stderr is not None:
            process.stderr.close()
    assert any(_STARTED in line for line in lines), lines
    return lines


@pytest.mark.slow
def test_a_terminal_gets_readable_lines_by_default(tmp_path: Path) -> None:
    (started,) = [line for line in _serve_on_a_terminal(tmp_path, None) if _STARTED in line]
    assert re.fullmatch(r"\d\d:\d\d:\d\d\.\d{3} INFO +uvicorn\.error: Application startup complete\.", started)


@pytest.mark.slow
def test_a_pipe_gets_json_by_default(tmp_path: Path) -> None:
    (started,) = [line for line in _serve_into_a_pipe(tmp_path) if _STARTED in line]
    entry = json.loads(started)
    assert (entry["level"], entry["logger"], entry["msg"]) == ("info", "uvicorn.error", "Application startup complete.")


@pytest.mark.slow
def test_the_setting_overrides_the_terminal(tmp_path: Path) -> None:
    (started,) = [line for line in _serve_on_a_terminal(tmp_path, "json") if _STARTED in line]
    assert json.loads(started)["msg"] == "Application startup complete."
