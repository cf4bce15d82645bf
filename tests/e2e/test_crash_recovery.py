"""``kill -9`` of a real ``pixelmill serve`` in the middle of a run, then a restart on the same data
directory: the run completes, its credits are captured exactly once, and no node that had finished
before the kill executes again (its node_executions timestamps are unchanged)."""

from __future__ import annotations

import io
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.support.runs import books, executions, grant, run_entries

_CLI = "from pixelmill.cli.main import run; run()"
EDGES = [("gen", "oil"), ("oil", "clean"), ("clean", "wash"), ("wash", "big")]
COSTS = {"gen": 5, "oil": 2, "clean": 1, "wash": 2, "big": 2}
GRAPH = {
    "nodes": [
        {"id": "gen", "type": "image.generate", "inputs": {"prompt": "harbour at dusk", "size": "768x768", "seed": 3}},
        {"id": "oil", "type": "image.style", "inputs": {"style": "oil_paint"}},
        {"id": "clean", "type": "image.enhance", "inputs": {"denoise": 0.6}},
        {"id": "wash", "type": "image.style", "inputs": {"style": "watercolor"}},
        {"id": "big", "type": "image.upscale", "inputs": {"factor": 2}},
    ],
    "edges": [
        {"source": {"node_id": a, "field": "image"}, "destination": {"node_id": b, "field": "image"}} for a, b in EDGES
    ],
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """``pixelmill serve`` as a child process, its output collected by a thread."""

    def __init__(self, data_dir: Path, port: int, env: dict[str, str]) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.output: list[str] = []
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _CLI,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--data-dir",
                str(data_dir),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line.rstrip("\n"))

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError("pixelmill serve exited:\n" + "\n".join(self.output))
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise AssertionError(f"{self.url} never answered:\n" + "\n".join(self.output))

    def api_key(self) -> str:
        for line in self.output:
            if match := re.search(r"API key:\s+(pm_live_\S+)", line):
                return match.group(1)
        raise AssertionError("no API key was printed:\n" + "\n".join(self.output))

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        self._reader.join(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        server.close()


def _poll(client: httpx.Client, run_id: str, done: Any, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body: dict[str, Any] = client.get(f"/v1/runs/{run_id}").json()
        if done(body):
            return body
        time.sleep(0.02)
    raise AssertionError(f"run {run_id} never reached the expected state")


@pytest.mark.slow
def test_a_run_survives_kill_9_and_finishes_after_a_restart_without_rerunning_finished_nodes(
    servers: list[Server], tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIXELMILL_")}
    env.update(
        PIXELMILL_CONFIG_DIR=str(tmp_path / "config"),
        PIXELMILL_LOG_FORMAT="text",
        PIXELMILL_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    data_dir, port = tmp_path / "data", _free_port()
    database_url = f"sqlite+aiosqlite:///{data_dir / 'pixelmill.db'}"
    first = Server(data_dir, port, env)
    servers.append(first)
    first.wait_ready()
    headers = {"Authorization": f"Bearer {first.api_key()}"}
    with httpx.Client(base_url=first.url, headers=headers, timeout=30) as client:
        workspace_id = client.get("/v1/credits/wallet").json()["workspace_id"]
        grant(database_url, workspace_id, 100)
        run_id = client.post("/v1/runs", json={"graph": GRAPH}).json()["run_id"]

        def two_finished(body: dict[str, Any]) -> bool:
            finished = [n["node_id"] for n in body["nodes"] if n["status"] == "completed"]
            assert body["status"] in ("queued", "running"), body
            return len(finished) >= 2

        before = _poll(client, run_id, two_finished)
    first.process.send_signal(signal.SIGKILL)
    assert first.process.wait(timeout=30) == -signal.SIGKILL
    killed_at = datetime.now(UTC)
    rows_before = executions(database_url, run_id)
    finished_before = {node_id for node_id, row in rows_before.items() if row.status == "completed"}
    assert {"gen", "oil"} <= finished_before
    assert finished_before != set(COSTS), "the run finished before the kill; nothing was interrupted"

    second = Server(data_dir, port, env)
    servers.append(second)
    second.wait_ready()
    with httpx.Client(base_url=second.url, headers=headers, timeout=30) as client:
        after = _poll(client, run_id, lambda body: body["status"] in ("completed", "failed", "cancelled"))
        assert (after["status"], after["error"], after["attempt"]) == ("completed", None, 2)
        assert (after["credits_reserved"], after["credits_used"]) == (12, 12)
        picture = Image.open(io.BytesIO(httpx.get(after["outputs"]["big"]["value"]).content))
        assert picture.size == (1536, 1536)

    rows_after = executions(database_url, run_id)
    assert {node_id: row.status for node_id, row in rows_after.items()} == dict.fromkeys(COSTS, "completed")
    for node_id in finished_before:  # finished before the kill: the very same record, not executed again
        assert (rows_after[node_id].started_at, rows_after[node_id].completed_at) == (
            rows_before[node_id].started_at,
            rows_before[node_id].completed_at,
        )
    for node_id in set(COSTS) - finished_before:
        started = rows_after[node_id].started_at
        assert started is not None
        assert started > killed_at
    assert {n["node_id"]: n["credits"] for n in after["nodes"]} == COSTS
    assert [n["node_id"] for n in before["nodes"]] == list(COSTS)
    assert run_entries(database_url, run_id) == [("hold", 12), ("capture", 12)]
    ledger = books(database_url, workspace_id)
    assert ledger.audit == ledger.wallet
    # Everything granted (the test's 100 and the operator plan's monthly credits) less the 12 spent.
    assert ledger.sums["grant"] > 100
    assert (ledger.wallet.balance, ledger.wallet.reserved) == (ledger.sums["grant"] - 12, 0)

    second.process.send_signal(signal.SIGTERM)
    assert second.process.wait(timeout=60) == 0
