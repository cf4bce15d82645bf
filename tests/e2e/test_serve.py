"""``pixelmill serve`` as a real process: first-start bootstrap, saved key, discovery file, clean stop."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

_CLI = "from pixelmill.cli.main import run; run()"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Served:
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    _queue: queue.Queue[str | None] = field(default_factory=queue.Queue)

    _pump_thread: threading.Thread | None = None

    def __post_init__(self) -> None:
        self._pump_thread = threading.Thread(target=self._pump, daemon=True)
        self._pump_thread.start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        for line in self.lines:
            if match := regex.search(line):
                return match
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
            if line is None:
                break
            self.lines.append(line)
            if match := regex.search(line):
                return match
        raise AssertionError(f"{pattern!r} never appeared; output so far:\n" + "\n".join(self.lines))

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)

    def close(self) -> None:
        """Kill the process if it still runs, and release its pipe once the reader has drained it."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        if self._pump_thread is not None:
            self._pump_thread.join(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture
def environment(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIXELMILL_")}
    env.update(
        PIXELMILL_CONFIG_DIR=str(tmp_path / "config"),
        PIXELMILL_LOG_FORMAT="text",
        PIXELMILL_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture
def serve(environment: dict[str, str], tmp_path: Path) -> Iterator[tuple[Path, int, list[Served]]]:
    started: list[Served] = []
    data_dir, port = tmp_path / "data", _free_port()
    yield data_dir, port, started
    for served in started:
        served.close()


def _start(environment: dict[str, str], data_dir: Path, port: int) -> Served:
    process = subprocess.Popen(
        [sys.executable, "-c", _CLI, "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir)],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return Served(process)


def _wait_ready(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError(f"{url} never answered")


@pytest.mark.slow
def test_first_serve_bootstraps_an_operator_key_that_works_until_a_clean_stop(
    serve: tuple[Path, int, list[Served]], environment: dict[str, str], tmp_path: Path
) -> None:
    data_dir, port, started = serve
    url = f"http://127.0.0.1:{port}"
    first = _start(environment, data_dir, port)
    started.append(first)
    key = first.wait_for(r"API key:\s+(pm_live_\S+)").group(1)
    password = first.wait_for(r"password:\s+(\S+)").group(1)
    link = first.wait_for(rf"({re.escape(url)}/v1/auth/session/link\?token=\S+)").group(1)
    first.wait_for(rf"listening on {re.escape(url)}\s+\(API docs: {re.escape(url)}/docs")
    _wait_ready(url)

    credentials_file = tmp_path / "config" / "credentials.json"
    assert stat.S_IMODE(credentials_file.stat().st_mode) == 0o600
    saved = json.loads(credentials_file.read_text())
    assert (saved["api_key"], saved["url"], saved["email"]) == (key, url, "operator@localhost")
    discovery = json.loads((data_dir / "server.json").read_text())
    assert (discovery["url"], discovery["pid"], discovery["port"]) == (url, first.process.pid, port)
    assert discovery["version"]
    assert discovery["started_at"]

    me = httpx.get(f"{url}/v1/auth/me", headers={"Authorization": f"Bearer {key}"})
    assert me.status_code == 200
    body = me.json()
    assert body["user"]["email"] == "operator@localhost"
    assert body["user"]["is_operator"] is True
    assert (body["plan"]["name"], body["role"]) == ("operator", "owner")
    login = httpx.post(f"{url}/v1/auth/login", data={"username": "operator@localhost", "password": password})
    assert login.status_code == 200
    with httpx.Client() as browser:  # the one-time console link: a session cookie, then never again
        followed = browser.get(link)
        assert (followed.status_code, followed.headers["location"]) == (303, "/")
        assert browser.get(f"{url}/v1/auth/me").json()["user"]["email"] == "operator@localhost"
        browser.cookies.clear()
        assert browser.get(link).headers["location"] == "/sign-in?error=SIGN_IN_LINK_INVALID"

    rival = _start(environment, data_dir, _free_port())  # one data directory, one server
    started.append(rival)
    rival.wait_for(r"already serving")
    assert rival.process.wait(timeout=30) == 1
    assert json.loads((data_dir / "server.json").read_text())["pid"] == first.process.pid

    assert first.stop() == 0
    assert not (data_dir / "server.json").exists()

    second = _start(environment, data_dir, port)
    started.append(second)
    second.wait_for(r"listening on")
    _wait_ready(url)
    assert httpx.get(f"{url}/v1/auth/me", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert second.stop() == 0
    assert not any("API key:" in line or "/link?token=" in line for line in second.lines)
    assert json.loads(credentials_file.read_text())["api_key"] == key
