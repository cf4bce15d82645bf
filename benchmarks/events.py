"""Fan-out of live events: how long a ``node_complete`` takes to reach every listener of the workspace
stream ``GET /v1/events``, and what an idle listener costs the server in memory.

    .venv/bin/python benchmarks/events.py [--runs 30] [--levels 1,100,1000] [--quick]

For each level (1 listener, the baseline, then 100 and 1,000) a fresh ``pixelmill serve`` runs as a
subprocess on a loopback port with a temporary data and config directory (embedded SQLite, the
in-process bus, ``PIXELMILL_SSE_MAX_LISTENERS`` raised above the level). Its first-start operator key
(saved to the temporary config directory) is used by every connection. Then:

1. warm-up: a few runs and one short stream, so first-use costs are not counted as listener memory;
2. the server's VmRSS (from /proc) is read, N listeners connect and get their response head, and
   after a short settle VmRSS is read again: (after - before) / N is the memory of one idle listener;
3. runs of one ``math.add`` node are created one after the other (``Prefer: wait``); after each, the
   benchmark waits until every listener has its ``node_complete`` before the next one, so each sample
   is the fan-out of one event to N streams, not a queue of them.

"Node finished" is the event's ``created_at`` in the event log, read back from the database by the
frame's ``id:`` after the level. The frame itself carries no timestamp, and the event log stamps the
record when the executor hands the finished node over, just before the insert, the commit and the
publish to the bus: so latency = receive time - created_at covers everything between a node
finishing and a client holding the event (the insert and commit, the bus, rendering the frame once
per stream, the socket, and the client's own read). Both clocks are this machine's wall clock.

The listeners are raw asyncio streams in this one process (uvloop when installed): a request line,
the response head, then ``readuntil(b"\\n\\n")`` per frame. Client and server share the machine's
cores, so at 1,000 listeners part of the latency is the client reading 1,000 sockets.

Printed: per level p50 / p95 / max latency, events not received, memory per idle listener, the
server's CPU time per run (steadier than latency when other work shares the machine); the p95
ratio against the 1-listener baseline; and the targets: p95 <= 25 ms at 100 listeners, <= 100 ms at
1,000, <= 50 KB per idle listener.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

CLI = [sys.executable, "-c", "from pixelmill.cli.main import run; run()"]
TARGET_P95_MS = {100: 25.0, 1000: 100.0}
TARGET_KB_PER_LISTENER = 50.0
CONNECT_AT_ONCE = 100  # listeners connecting concurrently (the rest wait), so the accept backlog never overflows


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (from /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    host: str
    port: int
    key: str
    data_dir: Path


def start_server(root: Path, max_listeners: int) -> Server:
    """``pixelmill serve`` on a free port; returns once it answers, with the operator key it saved."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIXELMILL_")}
    env |= {
        "PIXELMILL_DATA_DIR": str(root / "data"),
        "PIXELMILL_CONFIG_DIR": str(root / "config"),
        "PIXELMILL_HOST": "127.0.0.1",
        "PIXELMILL_PORT": str(port),
        "PIXELMILL_LOG_LEVEL": "WARNING",
        "PIXELMILL_SSE_MAX_LISTENERS": str(max_listeners),
    }
    process = subprocess.Popen([*CLI, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 90
    while not (root / "data" / "server.json").exists():
        if process.poll() is not None:
            assert process.stderr is not None
            raise SystemExit("the server exited:\n" + process.stderr.read().decode(errors="replace")[-3000:])
        if time.monotonic() > deadline:
            process.terminate()
            raise SystemExit("the server did not start")
        time.sleep(0.05)
    saved = json.loads((root / "config" / "credentials.json").read_text())
    url = f"http://127.0.0.1:{port}"
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            process.terminate()
            raise SystemExit("the server does not answer /healthz")
        time.sleep(0.05)
    return Server(process, url, "127.0.0.1", port, str(saved["api_key"]), root / "data")


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@dataclass
class Listeners:
    """N raw SSE connections; ``received[event_id]`` holds the receive times of one node_complete."""

    server: Server
    received: dict[int, list[float]] = field(default_factory=dict)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    expected: int = 0
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    async def open(self, count: int) -> None:
        """Connect ``count`` listeners; returns once each has its 200 response head."""
        self.expected = count
        gate = asyncio.Semaphore(CONNECT_AT_ONCE)
        heads = [asyncio.get_running_loop().create_future() for _ in range(count)]
        self.tasks = [asyncio.create_task(self._listen(gate, head)) for head in heads]
        await asyncio.gather(*heads)

    async def _listen(self, gate: asyncio.Semaphore, head: asyncio.Future[None]) -> None:
        request = (
            f"GET /v1/events HTTP/1.1\r\nHost: {self.server.host}:{self.server.port}\r\n"
            f"Authorization: Bearer {self.server.key}\r\nAccept: text/event-stream\r\n\r\n"
        ).encode()
        try:
            async with gate:
                reader, writer = await asyncio.open_connection(self.server.host, self.server.port)
                writer.write(request)
                status = await reader.readuntil(b"\r\n\r\n")
            if not status.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(status.split(b"\r\n", 1)[0].decode(errors="replace"))
            head.set_result(None)
        except Exception as exc:
            if not head.done():
                head.set_exception(exc)
            return
        received = self.received
        try:
            while True:
                # Each frame is one chunk of the chunked body; the chunk framing around it never
                # holds a blank line, so a frame ends at the first b"\n\n".
                piece = await reader.readuntil(b"\n\n")
                at = time.time()
                if b"event: node_complete\n" not in piece:
                    continue
                start = piece.index(b"id: ") + 4
                event_id = int(piece[start : piece.index(b"\n", start)])
                times = received.setdefault(event_id, [])
                times.append(at)
                if len(times) == self.expected:
                    self.arrived.set()
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            self.errors.append(repr(exc))
        finally:
            writer.close()

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def created_at(database_url: str, event_ids: list[int]) -> dict[int, float]:
    """The event log's timestamp of each event (POSIX seconds)."""
    from sqlalchemy import select

    from pixelmill.db.models.events import RunEvent
    from pixelmill.db.session import Database

    db = Database(database_url)
    try:
        async with db.sessions() as session:
            rows = await session.execute(select(RunEvent.id, RunEvent.created_at).where(RunEvent.id.in_(event_ids)))
            return {event_id: stamp.timestamp() for event_id, stamp in rows}
    finally:
        await db.dispose()


@dataclass
class Level:
    listeners: int
    latencies_ms: list[float]
    missed: int
    kib_per_listener: float | None
    rss_before_kib: int
    rss_after_kib: int
    server_cpu_ms_per_run: float


async def one_run(client: httpx.AsyncClient, index: int) -> None:
    graph = {"nodes": [{"id": "sum", "type": "math.add", "inputs": {"a": index, "b": 0.5}}]}
    response = await client.post("/v1/runs", json={"graph": graph}, headers={"Prefer": "wait=30"})
    response.raise_for_status()
    body = response.json()
    if body["status"] != "completed":
        raise SystemExit(f"run {body['run_id']} did not complete: {body}")


async def measure(server: Server, count: int, runs: int) -> Level:
    headers = {"Authorization": f"Bearer {server.key}"}
    async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=60) as client:
        warm = Listeners(server)
        await warm.open(1)
        for index in range(3):
            warm.arrived.clear()
            await one_run(client, index)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(warm.arrived.wait(), 5)
        await warm.close()
        await asyncio.sleep(0.5)  # the server notices the closed warm-up stream

        before = rss_kib(server.process.pid)
        listeners = Listeners(server)
        await listeners.open(count)
        await asyncio.sleep(1.0)  # let the server finish setting up every stream
        after = rss_kib(server.process.pid)

        cpu = cpu_seconds(server.process.pid)
        for index in range(runs):
            listeners.arrived.clear()
            await one_run(client, 100 + index)
            with contextlib.suppress(TimeoutError):  # what never arrived is counted below
                await asyncio.wait_for(listeners.arrived.wait(), 10)
            await asyncio.sleep(0.02)
        cpu = cpu_seconds(server.process.pid) - cpu
        await listeners.close()
    if listeners.errors:
        print(f"  ({len(listeners.errors)} streams ended early, e.g. {listeners.errors[0]})", file=sys.stderr)
    from pixelmill.config import Settings

    stamps = await created_at(Settings(data_dir=server.data_dir).resolved_database_url, list(listeners.received))
    latencies = [(at - stamps[event_id]) * 1000 for event_id, times in listeners.received.items() for at in times]
    missed = runs * count - len(latencies)
    per_listener = (after - before) / count if count >= 10 else None
    return Level(count, latencies, missed, per_listener, before, after, cpu * 1000 / runs)


def run_level(count: int, runs: int) -> Level:
    with tempfile.TemporaryDirectory(prefix="pixelmill-bench-events-") as scratch:
        server = start_server(Path(scratch), max_listeners=max(2 * count, 64))
        try:
            return asyncio.run(measure(server, count, runs))
        finally:
            stop_server(server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30, help="runs (node_complete events) per level")
    parser.add_argument("--levels", default="1,100,1000", help="listener counts; the first is the baseline")
    parser.add_argument("--quick", action="store_true", help="8 runs per level")
    args = parser.parse_args()
    runs = 8 if args.quick else args.runs
    counts = [int(part) for part in args.levels.split(",")]
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())

    levels = []
    for count in counts:
        print(f"level: {count} listener(s), {runs} runs ...", file=sys.stderr, flush=True)
        levels.append(run_level(count, runs))

    print(
        f"SSE fan-out of node_complete on GET /v1/events: {runs} runs of one math.add node per level, "
        f"fresh server per level (embedded SQLite, in-process bus);"
    )
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(
        f"the listeners run in this one asyncio process and share the machine's {os.cpu_count()} cores with the "
        f"server (load average now {load})"
    )
    print(
        f"{'listeners':>10} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'mean ms':>8} {'missed':>7} {'KB/idle':>8} "
        f"{'server CPU/run':>14}"
    )
    for level in levels:
        values = level.latencies_ms or [float("nan")]
        cell = f"{level.kib_per_listener * 1.024:8.1f}" if level.kib_per_listener is not None else f"{'-':>8}"
        print(
            f"{level.listeners:>10} {percentile(values, 0.50):8.1f} {percentile(values, 0.95):8.1f} "
            f"{max(values):8.1f} {statistics.fmean(values):8.1f} {level.missed:>7} {cell} "
            f"{level.server_cpu_ms_per_run:11.1f} ms"
        )
    baseline = levels[0]
    base_p95 = percentile(baseline.latencies_ms, 0.95) if baseline.latencies_ms else float("nan")
    for level in levels[1:]:
        p95 = percentile(level.latencies_ms, 0.95) if level.latencies_ms else float("nan")
        ratio = p95 / base_p95
        line = f"{level.listeners:>5} listeners: p95 {p95:.1f} ms = {ratio:.1f}x the {baseline.listeners}-listener p95"
        target = TARGET_P95_MS.get(level.listeners)
        if target is not None:
            line += f"; target p95 <= {target:.0f} ms: {'met' if p95 <= target else 'NOT met'}"
        if level.kib_per_listener is not None:
            kb = level.kib_per_listener * 1.024
            line += (
                f"; {kb:.1f} KB per idle listener (RSS {level.rss_before_kib / 1024:.0f} -> "
                f"{level.rss_after_kib / 1024:.0f} MiB), target <= {TARGET_KB_PER_LISTENER:.0f} KB: "
                f"{'met' if kb <= TARGET_KB_PER_LISTENER else 'NOT met'}"
            )
        print(line)


if __name__ == "__main__":
    main()
