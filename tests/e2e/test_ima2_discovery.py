"""``pixelmill serve`` as a real process with ``ima2_discovery`` and single-user mode: it writes ima2's
advertisement where ima2's CLI looks, answers the CLI's probe (``GET /api/health`` without any
credential) at the advertised ``backend.url``, and removes the file when it stops."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

_CLI = "from pixelmill.cli.main import run; run()"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.slow
def test_serve_advertises_itself_to_ima2s_cli(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIXELMILL_", "IMA2_"))}
    env.update(
        PIXELMILL_CONFIG_DIR=str(tmp_path / "config"),
        PIXELMILL_LOG_FORMAT="text",
        PIXELMILL_LOG_LEVEL="WARNING",
        PIXELMILL_IMA2_DISCOVERY="true",
        PIXELMILL_ANONYMOUS_LOOPBACK="true",
        IMA2_CONFIG_DIR=str(tmp_path / "ima2"),
    )
    port = _free_port()
    advertised = tmp_path / "ima2" / "server.json"
    command = [sys.executable, "-c", _CLI, "serve", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--data-dir", str(tmp_path / "data")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not advertised.exists():
            assert process.poll() is None, "serve exited"
            assert time.monotonic() < deadline, "no advertisement was written"
            time.sleep(0.05)
        content = json.loads(advertised.read_text())
        url = content["backend"]["url"]
        assert url == f"http://127.0.0.1:{port}"
        assert content["pid"] == process.pid
        while True:  # the advertisement is written as uvicorn starts listening
            try:
                probe = httpx.get(f"{url}/api/health", timeout=2)  # what every ima2 CLI command does first
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert probe.status_code == 200, probe.text
        assert probe.json()["ok"] is True
        assert probe.json()["activeJobs"] == 0
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert not advertised.exists()
