"""Run throughput of a real server: K concurrent clients create trivial runs and wait for them.

    .venv/bin/python benchmarks/run_throughput.py [--clients 16] [--runs 2000] [--poll]
                                                  [--postgres postgresql+psycopg://user@host:5432/postgres]

The server is ``pixelmill serve`` in a subprocess (embedded SQLite in a temporary data directory, or a
fresh PostgreSQL database created for the run and dropped after it), with the default in-process
dispatcher. Each run is one ``math.add`` node with distinct inputs (math.add is never cached, and
distinct inputs keep it so should a cached node type take its place).
By default a client creates with ``Prefer: wait=30`` and the answer is the finished run; with
``--poll`` it creates, then polls ``GET /v1/runs/{id}`` every ``--poll-interval`` seconds until the run is
terminal (each poll is a full run view: authentication, the run, its nodes, its queue position).

The clients are keep-alive HTTP/1.1 connections written with asyncio streams (``Connection``), not
httpx: on 2 cores they share the machine with the server, and httpx's ~1.5 ms of CPU per request
would cap the echo baseline at the client's rate instead of the server's.

Printed: runs per second, create -> complete latency p50/p95/p99, the server process's CPU time per
run (user + system, from /proc: the figure that noise from other processes on the machine disturbs
least), the server's resident memory at each quarter of the runs and its peak (from /proc), and — the
baseline measured in the same run with
the same clients — requests per second of the bare ``GET /healthz`` route, with the ratio between
the two (how many plain requests one run costs). Targets on the embedded default with 2 cores:
>= 300 runs/s and p95 <= 50 ms at K = 16.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from pixelmill.db.migrate import upgrade
from pixelmill.db.session import Database
from pixelmill.services.bootstrap import OperatorCredentials, bootstrap_operator
from pixelmill.services.credits import CreditLedger

ECHO_SECONDS = 5.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far, from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_kib(pid: int, field_name: str) -> int:
    """A memory figure of a process from /proc (VmRSS: now, VmHWM: peak), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field_name}:"):
            return int(line.split()[1])
    raise RuntimeError(f"{field_name} not found for pid {pid}")


class Connection:
    """One keep-alive HTTP/1.1 connection, the load generator's: a request costs this process a few
    tens of microseconds, where httpx spends about 1.5 ms of CPU per request. On a 2-core machine the
    clients share the cores with the server, so a heavy client would make the server look slow and
    would cap the echo baseline at the client's own rate rather than the server's."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, headers: dict[str, str]) -> None:
        self._reader = reader
        self._writer = writer
        self._head = "".join(f"{name}: {value}\r\n" for name, value in {"Host": "bench", **headers}.items())

    @classmethod
    async def open(cls, url: str, headers: dict[str, str] | None = None) -> Connection:
        host, _, port = url.removeprefix("http://").partition(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        return cls(reader, writer, headers or {})

    async def request(
        self, method: str, path: str, body: object = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        """Send one request and read the whole answer: (status, decoded JSON body)."""
        payload = json.dumps(body).encode() if body is not None else b""
        extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        if body is not None:
            extra += "Content-Type: application/json\r\n"
        head = f"{method} {path} HTTP/1.1\r\n{self._head}{extra}Content-Length: {len(payload)}\r\n\r\n"
        self._writer.write(head.encode() + payload)
        lines = (await self._reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = next((int(line[15:]) for line in lines if line.lower().startswith("content-length:")), None)
        if length is None:
            raise RuntimeError(f"{method} {path}: an answer without Content-Length: {lines}")
        data = await self._reader.readexactly(length)
        return status, json.loads(data) if data else None

    async def close(self) -> None:
        self._writer.close()
        await self._writer.wait_closed()


class PostgresDatabase:
    """A database made for this benchmark on the server at ``url`` and dropped afterwards."""

    def __init__(self, url: str) -> None:
        import psycopg
        from sqlalchemy.engine import make_url

        self._psycopg = psycopg
        parsed = make_url(url)
        self.name = f"pm_bench_{uuid.uuid4().hex[:10]}"
        self._admin = (
            f"host={parsed.host} port={parsed.port or 5432} user={parsed.username or 'postgres'} "
            f"dbname={parsed.database or 'postgres'}" + (f" password={parsed.password}" if parsed.password else "")
        )
        with psycopg.connect(self._admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        self.url = parsed.set(drivername="postgresql+psycopg", database=self.name).render_as_string(hide_password=False)

    def drop(self) -> None:
        with self._psycopg.connect(self._admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


@dataclass
class Server:
    process: subprocess.Popen[str]
    url: str
    output: list[str] = field(default_factory=list)

    def pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line.rstrip())

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)


def bootstrap(database_url: str, credits: int = 0, note: str = "benchmark") -> OperatorCredentials:
    """Migrate the database and create the operator (whose plan has no practical rate limit), granted
    ``credits`` when the benchmark spends them; every benchmark starts from an empty database."""
    upgrade(database_url)

    async def work() -> OperatorCredentials:
        db = Database(database_url)
        try:
            credentials = await bootstrap_operator(db)
            if credentials is None:
                raise SystemExit("the benchmark database already has users")
            if credits:
                async with db.session() as session:
                    await CreditLedger(session).grant(credentials.workspace_id, credits, note)
            return credentials
        finally:
            await db.dispose()

    return asyncio.run(work())


def prepare(database_url: str) -> str:
    """The operator's key on a fresh database (see ``bootstrap``)."""
    return bootstrap(database_url).key


def start_server(
    data_dir: Path,
    database_url: str | None,
    *,
    settings: Mapping[str, str] | None = None,
    unset: tuple[str, ...] = ("PIXELMILL_",),
) -> Server:
    """``pixelmill serve`` on a free loopback port with only the benchmark's settings: variables
    starting with ``unset`` are left out of its environment, ``settings`` added."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(unset)}
    env.update(
        PIXELMILL_CONFIG_DIR=str(data_dir / "config"),
        PIXELMILL_LOG_LEVEL="WARNING",
        PIXELMILL_LOG_FORMAT="text",
        PIXELMILL_METRICS_ENABLED="false",
        PYTHONUNBUFFERED="1",
    )
    env.update(settings or {})
    if database_url is not None:
        env["PIXELMILL_DATABASE_URL"] = database_url
    command = [sys.executable, "-c", "from pixelmill.cli.main import run; run()", "serve"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    server = Server(process, f"http://127.0.0.1:{port}")
    threading.Thread(target=server.pump, daemon=True).start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("the server exited:\n" + "\n".join(server.output))
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.05)
    server.stop()
    raise SystemExit("the server did not start:\n" + "\n".join(server.output))


async def echo_rate(server: Server, clients: int, seconds: float) -> tuple[float, float]:
    """Requests per second of GET /healthz with ``clients`` concurrent keep-alive clients, and the
    server's CPU seconds per request."""
    count = 0
    deadline = time.perf_counter() + seconds
    connections = [await Connection.open(server.url) for _ in range(clients)]

    async def worker(connection: Connection) -> None:
        nonlocal count
        while time.perf_counter() < deadline:
            status, _ = await connection.request("GET", "/healthz")
            if status != 200:
                raise SystemExit(f"GET /healthz answered {status}")
            count += 1

    started = time.perf_counter()
    cpu_before = cpu_seconds(server.process.pid)
    try:
        await asyncio.gather(*[worker(connection) for connection in connections])
    finally:
        for connection in connections:
            await connection.close()
    cpu = cpu_seconds(server.process.pid) - cpu_before
    return count / (time.perf_counter() - started), cpu / max(count, 1)


@dataclass
class RunFigures:
    latencies: list[float]
    elapsed: float
    rss_kib: list[tuple[int, int]]  # (runs done, server RSS)
    server_cpu: float = 0.0  # seconds of server CPU time spent during the load
    client_cpu: float = 0.0  # seconds of this process's CPU time (the clients) during the load


async def run_load(server: Server, key: str, clients: int, runs: int, poll: float | None, first: int = 0) -> RunFigures:
    """``runs`` runs; run i adds ``first + i`` and 0.5 (each phase has its own ``first``, so no two
    runs of a benchmark share their inputs)."""
    latencies: list[float] = []
    rss: list[tuple[int, int]] = []
    checkpoints = {runs * quarter // 4 for quarter in (1, 2, 3, 4)}
    issued = 0
    connections = [await Connection.open(server.url, {"Authorization": f"Bearer {key}"}) for _ in range(clients)]

    async def one(connection: Connection, index: int) -> None:
        graph = {"nodes": [{"id": "sum", "type": "math.add", "inputs": {"a": first + index, "b": 0.5}}]}
        started = time.perf_counter()
        if poll is not None:
            status, created = await connection.request("POST", "/v1/runs", {"graph": graph})
            if status != 201:
                raise SystemExit(f"POST /v1/runs answered {status}: {created}")
            while True:
                _, body = await connection.request("GET", f"/v1/runs/{created['run_id']}")
                if body["status"] in ("completed", "failed", "cancelled"):
                    break
                await asyncio.sleep(poll)
        else:
            status, body = await connection.request("POST", "/v1/runs", {"graph": graph}, {"Prefer": "wait=30"})
            if status != 201:
                raise SystemExit(f"POST /v1/runs answered {status}: {body}")
        latencies.append(time.perf_counter() - started)
        if body["status"] != "completed" or body["outputs"]["sum"]["value"] != first + index + 0.5:
            raise SystemExit(f"run {body['run_id']} did not complete as expected: {body}")
        if len(latencies) in checkpoints:
            rss.append((len(latencies), memory_kib(server.process.pid, "VmRSS")))

    async def worker(connection: Connection) -> None:
        nonlocal issued
        while issued < runs:
            index = issued
            issued += 1
            await one(connection, index)

    try:
        started = time.perf_counter()
        cpu_before, client_before = cpu_seconds(server.process.pid), time.process_time()
        await asyncio.gather(*[worker(connection) for connection in connections])
        elapsed = time.perf_counter() - started
        client_cpu = time.process_time() - client_before
    finally:
        for connection in connections:
            await connection.close()
    return RunFigures(latencies, elapsed, rss, cpu_seconds(server.process.pid) - cpu_before, client_cpu)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (K)")
    parser.add_argument("--runs", type=int, default=2000, help="runs to create in all")
    parser.add_argument("--poll", action="store_true", help="poll GET /v1/runs/{id} instead of Prefer: wait")
    parser.add_argument("--poll-interval", type=float, default=0.02, help="seconds between polls (with --poll)")
    parser.add_argument("--postgres", metavar="URL", help="PostgreSQL server to create a scratch database on")
    args = parser.parse_args()

    poll = args.poll_interval if args.poll else None
    with tempfile.TemporaryDirectory(prefix="pixelmill-bench-") as scratch:
        data_dir = Path(scratch) / "data"
        postgres = PostgresDatabase(args.postgres) if args.postgres else None
        database_url = postgres.url if postgres else f"sqlite+aiosqlite:///{data_dir / 'pixelmill.db'}"
        try:
            key = prepare(database_url)
            server = start_server(data_dir, postgres.url if postgres else None)
            try:
                warm = asyncio.run(run_load(server, key, args.clients, min(200, args.runs), poll))
                echo, echo_cpu = asyncio.run(echo_rate(server, args.clients, ECHO_SECONDS))
                figures = asyncio.run(run_load(server, key, args.clients, args.runs, poll, first=1_000_000))
                peak = memory_kib(server.process.pid, "VmHWM")
            finally:
                server.stop()
        finally:
            if postgres is not None:
                postgres.drop()

    backend = "postgresql" if postgres else "sqlite (embedded)"
    mode = f"polling every {args.poll_interval * 1000:.0f} ms" if args.poll else "Prefer: wait"
    rate = len(figures.latencies) / figures.elapsed
    print(f"run throughput: {backend}, K={args.clients}, {args.runs} runs of one math.add node, {mode}")
    print(f"  warm-up                     {len(warm.latencies)} runs, {len(warm.latencies) / warm.elapsed:.0f} runs/s")
    print(f"  runs/s                      {rate:.1f}")
    print(
        "  create->complete latency    "
        f"p50 {percentile(figures.latencies, 0.50) * 1000:.1f} ms  "
        f"p95 {percentile(figures.latencies, 0.95) * 1000:.1f} ms  "
        f"p99 {percentile(figures.latencies, 0.99) * 1000:.1f} ms  "
        f"(mean {statistics.fmean(figures.latencies) * 1000:.1f} ms)"
    )
    print(
        f"  server CPU per run          {figures.server_cpu / len(figures.latencies) * 1000:.2f} ms "
        f"({figures.server_cpu / figures.elapsed * 100:.0f}% of one core); GET /healthz: {echo_cpu * 1000:.2f} ms"
    )
    client_ms = figures.client_cpu / len(figures.latencies) * 1000
    print(f"  client CPU per run          {client_ms:.2f} ms (the load generator)")
    print(
        "  server RSS                  "
        + "  ".join(f"{done} runs: {kib / 1024:.0f} MiB" for done, kib in figures.rss_kib)
    )
    print(f"  server peak RSS (VmHWM)     {peak / 1024:.0f} MiB")
    print(f"  baseline GET /healthz       {echo:.0f} requests/s (same clients, same server)")
    print(f"  ratio                       {echo / rate:.1f} echo requests per run")
    print(f"  targets                     >= 300 runs/s: {'met' if rate >= 300 else 'NOT met'}; ", end="")
    print(f"p95 <= 50 ms: {'met' if percentile(figures.latencies, 0.95) <= 0.050 else 'NOT met'}")


if __name__ == "__main__":
    main()
