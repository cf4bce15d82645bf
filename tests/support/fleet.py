"""A real fleet for tests and benchmarks: ``pixelmill serve`` and ``pixelmill worker`` subprocesses on
one PostgreSQL database, a Redis or RabbitMQ broker and Redis, plus a fake upstream on loopback.

The upstream serves a tiny PNG per key (``/img/<key>.png``) after a delay and counts requests per
key, so a node that ran twice shows as a second request; it also records webhook POSTs
(``/hook/<name>``) and the most requests of one group it ever had in flight at once. Processes are
stopped by pid (SIGTERM, then SIGKILL); their output is kept to print when a test fails.
"""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from PIL import Image

from pixelmill.config import Settings
from pixelmill.dispatch.celery_app import create_celery

_CLI = "from pixelmill.cli.main import run; run()"
SECRET_KEY = "fleet-test-secret-key-that-is-long-enough-for-hs256"
# This suite's own Redis databases, so other users of the same Redis are never touched.
BROKER_REDIS_URL = "redis://127.0.0.1:6379/5"
STATE_REDIS_URL = "redis://127.0.0.1:6379/6"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _tiny_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 80, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass
class Hook:
    name: str
    body: dict[str, Any]
    headers: dict[str, str]


@dataclass
class UpstreamState:
    """What the fake upstream saw; read it under ``lock``."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: Counter[str] = field(default_factory=Counter)
    in_flight: Counter[str] = field(default_factory=Counter)
    most_in_flight: Counter[str] = field(default_factory=Counter)
    hooks: list[Hook] = field(default_factory=list)
    # Image requests wait here until it is set (open by default): a benchmark lines every worker up first.
    gate: threading.Event = field(default_factory=threading.Event)
    arrived: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.arrived = threading.Condition(self.lock)
        self.gate.set()


class _Handler(BaseHTTPRequestHandler):
    server: _UpstreamServer
    png = _tiny_png()

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if not parts.path.startswith("/img/"):
            self.send_error(404)
            return
        key = parts.path.removeprefix("/img/").removesuffix(".png")
        query = {name: values[0] for name, values in parse_qs(parts.query).items()}
        group = query.get("group", "")
        state = self.server.state
        with state.lock:
            state.requests[key] += 1
            first = state.requests[key] == 1
            state.in_flight[group] += 1
            state.most_in_flight[group] = max(state.most_in_flight[group], state.in_flight[group])
            state.arrived.notify_all()
        try:
            state.gate.wait()
            # ``first`` delays only the first request of a key: the one a test kills a worker during.
            time.sleep(float(query.get("first", query.get("delay", 0))) if first else float(query.get("delay", 0)))
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(self.png)))
            self.end_headers()
            self.wfile.write(self.png)
        except OSError:
            pass  # the worker that asked was killed
        finally:
            with state.lock:
                state.in_flight[group] -= 1

    def do_POST(self) -> None:
        parts = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if not parts.path.startswith("/hook/"):
            self.send_error(404)
            return
        with self.server.state.lock:
            self.server.state.hooks.append(
                Hook(parts.path.removeprefix("/hook/"), json.loads(body or b"{}"), dict(self.headers.items()))
            )
            self.server.state.arrived.notify_all()
        self.send_response(204)
        self.end_headers()


class _UpstreamServer(ThreadingHTTPServer):
    daemon_threads = True
    state: UpstreamState


class Upstream:
    """The fake upstream provider and webhook receiver on a loopback port, served by a thread."""

    def __init__(self) -> None:
        self._server = _UpstreamServer(("127.0.0.1", 0), _Handler)
        self._server.state = UpstreamState()
        self.state = self._server.state
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="fleet-upstream", daemon=True)
        self._thread.start()

    def image_url(self, key: str, *, delay: float = 0.0, first: float | None = None, group: str = "") -> str:
        url = f"{self.url}/img/{key}.png?delay={delay}"
        if first is not None:
            url += f"&first={first}"
        return url + (f"&group={group}" if group else "")

    def hook_url(self, name: str) -> str:
        return f"{self.url}/hook/{name}"

    def requests(self, key: str) -> int:
        with self.state.lock:
            return self.state.requests[key]

    def hooks(self, name: str) -> list[Hook]:
        with self.state.lock:
            return [hook for hook in self.state.hooks if hook.name == name]

    def in_flight(self, group: str = "") -> int:
        with self.state.lock:
            return self.state.in_flight[group]

    def wait_requests(self, key: str, count: int, timeout: float) -> None:
        with self.state.arrived:
            if not self.state.arrived.wait_for(lambda: self.state.requests[key] >= count, timeout):
                raise AssertionError(f"the upstream saw {self.state.requests[key]} request(s) for {key}, not {count}")

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


class Process:
    """One fleet member as a child process; its output is collected by a thread."""

    def __init__(self, name: str, args: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.output: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-c", _CLI, *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, name=f"fleet-{name}-output", daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line.rstrip("\n"))

    def logs(self, last: int = 60) -> str:
        return "\n".join(f"[{self.name}] {line}" for line in self.output[-last:])

    def wait_ready(self, timeout: float = 60) -> None:
        raise NotImplementedError

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise AssertionError(f"{self.name} exited with {self.process.returncode}:\n{self.logs()}")

    def kill9(self) -> None:
        os.kill(self.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def terminate(self) -> None:
        if self.process.poll() is None:
            os.kill(self.pid, signal.SIGTERM)

    def stop(self, grace: float = 15) -> int:
        """SIGTERM, then SIGKILL after ``grace`` seconds; the exit status."""
        if self.process.poll() is None:
            self.terminate()
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.output.append(f"(still running {grace} s after SIGTERM: killed)")
                os.kill(self.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        self._reader.join(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return self.process.returncode


class Api(Process):
    def __init__(self, name: str, data_dir: Path, env: dict[str, str]) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        args = ["serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir)]
        super().__init__(name, args, env)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"{self.name} never answered on {self.url}:\n{self.logs()}")


class Worker(Process):
    def __init__(self, name: str, data_dir: Path, env: dict[str, str], *, concurrency: int, queues: str) -> None:
        args = ["worker", "--queues", queues, "--concurrency", str(concurrency), "--data-dir", str(data_dir)]
        super().__init__(name, args, env)

    def wait_ready(self, timeout: float = 60) -> None:
        """``pixelmill worker`` says ``… ready: …`` once it consumes from its queues."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            if any(line.startswith("pixelmill worker ") and " ready: " in line for line in list(self.output)):
                return
            time.sleep(0.05)
        raise AssertionError(f"{self.name} never became ready:\n{self.logs()}")


def server_env(root: Path) -> dict[str, str]:
    """The environment of a server or worker started under ``root``: none of the caller's own
    ``PIXELMILL_*`` settings, a client config directory of its own, loopback upstreams allowed, no
    plan grants or retention (the caller grants exactly what it counts), terse unbuffered logs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIXELMILL_")}
    env.update(
        PIXELMILL_SECRET_KEY=SECRET_KEY,
        PIXELMILL_ALLOW_PRIVATE_URLS="true",
        PIXELMILL_PLAN_CREDITS_ENABLED="false",
        PIXELMILL_RETENTION_ENABLED="false",
        PIXELMILL_CONFIG_DIR=str(root / "config"),
        PIXELMILL_LOG_FORMAT="text",
        PIXELMILL_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    return env


def purge_broker(broker_url: str) -> None:
    """Empty this suite's Redis databases, or the fleet's RabbitMQ queues, before a fleet starts."""
    import redis

    for url in (BROKER_REDIS_URL, STATE_REDIS_URL):
        client = redis.Redis.from_url(url)
        try:
            client.flushdb()
        finally:
            client.close()
    if broker_url.startswith("amqp://"):
        app = create_celery(Settings(dispatch="celery", broker_url=broker_url))
        try:
            app.control.purge()
        finally:
            app.close()


@dataclass
class Fleet:
    """The processes of one test's fleet, all sharing one database, broker, Redis and blob store."""

    root: Path
    database_url: str
    broker_url: str
    redis_url: str = STATE_REDIS_URL
    settings: dict[str, str] = field(default_factory=dict)
    members: list[Process] = field(default_factory=list)

    def env(self, **overrides: str) -> dict[str, str]:
        env = server_env(self.root)
        env.update(
            PIXELMILL_DATABASE_URL=self.database_url,
            PIXELMILL_DISPATCH="celery",
            PIXELMILL_BROKER_URL=self.broker_url,
            PIXELMILL_REDIS_URL=self.redis_url,
            # Pub/sub ignores Redis database numbers: a channel of this fleet's own.
            PIXELMILL_EVENTS_CHANNEL=f"pixelmill-fleet-test:{self.root.name}:{id(self)}",
            PIXELMILL_STORAGE_URL=f"file://{self.root / 'blobs'}",
            PIXELMILL_LEASE_SECONDS="4",
            PIXELMILL_SWEEP_SECONDS="0.5",
            PIXELMILL_REPUBLISH_AFTER_SECONDS="3",
            PIXELMILL_WEBHOOK_POLL_SECONDS="0.2",
            PIXELMILL_SHUTDOWN_GRACE_SECONDS="2",
        )
        env.update(self.settings)
        env.update(overrides)
        return env

    def configure(self, **settings: str) -> None:
        """Settings (by field name) for the members started from now on."""
        self.settings.update({f"PIXELMILL_{name.upper()}": value for name, value in settings.items()})

    def api(self, name: str, *, wait: bool = True, **overrides: str) -> Api:
        member = Api(name, self.root / name, self.env(**overrides))
        self.members.append(member)
        if wait:
            member.wait_ready()
        return member

    def worker(self, name: str, *, concurrency: int = 4, queues: str = "cpu,remote", wait: bool = True) -> Worker:
        member = Worker(name, self.root / name, self.env(), concurrency=concurrency, queues=queues)
        self.members.append(member)
        if wait:
            member.wait_ready()
        return member

    def start(self, *, apis: int, workers: int, concurrency: int = 4) -> tuple[list[Api], list[Worker]]:
        """Start APIs ``api-a``, ``api-b`` … and workers ``worker-1`` … at once, then wait for all."""
        started_apis = [self.api(f"api-{chr(ord('a') + index)}", wait=False) for index in range(apis)]
        started_workers = [
            self.worker(f"worker-{index + 1}", concurrency=concurrency, wait=False) for index in range(workers)
        ]
        for member in [*started_apis, *started_workers]:
            member.wait_ready()
        return started_apis, started_workers

    def check_alive(self) -> None:
        for member in self.members:
            if member.process.returncode is None:
                member.check_alive()

    def logs(self) -> str:
        return "\n".join(member.logs() for member in self.members)

    def stop(self) -> None:
        for member in self.members:
            member.terminate()
        for member in self.members:
            member.stop()


@contextmanager
def running_fleet(
    root: Path, database_url: str, broker_url: str, *, always_show_logs: bool = True, **settings: str
) -> Iterator[Fleet]:
    """A fleet that is stopped on exit, its logs printed then (pytest shows them for a failed test; a
    fixture cannot tell, so always) or, without ``always_show_logs``, only when an error leaves."""
    purge_broker(broker_url)
    fleet = Fleet(root, database_url, broker_url)
    fleet.configure(**settings)
    failed = True
    try:
        yield fleet
        failed = False
    finally:
        fleet.stop()
        if always_show_logs or failed:
            print(fleet.logs())
