"""Requests per second of authenticated routes against an unauthenticated echo route, same server, same run.

    .venv/bin/python benchmarks/auth_overhead.py [--seconds 5] [--connections 32]

The real app (create_app, embedded SQLite in a temporary directory, logging configured as
``pixelmill serve`` does) runs under uvicorn in a subprocess on a loopback port; this benchmark
mounts two extra routes on it: ``GET /bench/echo`` (no authentication, the baseline) and
``GET /bench/echo-auth`` (the same echo behind ``PrincipalDep``, so the difference is exactly
authentication plus rate limiting). An API key on the operator plan is seeded first.

The load comes from ``--connections`` keep-alive HTTP/1.1 connections driven by a minimal asyncio
client (far cheaper per request than an HTTP library, so the server, not the client, is measured),
``--seconds`` per route in ``--rounds`` interleaved turns after a short warm-up. Printed: requests/s of
- echo: the unauthenticated baseline;
- echo-auth: the echo with an API key (authentication and rate limit only);
- /v1/auth/me: the real route with an API key (authentication, rate limit, two database reads);
and each authenticated figure as a ratio of the echo's. The target is >= 0.70 for authentication.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from pixelmill.api.deps import PrincipalDep

_LENGTH = re.compile(rb"content-length: *(\d+)", re.IGNORECASE)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def serve(data_dir: Path, port: int) -> None:
    """The server process: the real app plus the two benchmark routes."""
    import uvicorn
    from fastapi import FastAPI

    from pixelmill.api.app import create_app
    from pixelmill.config import Settings
    from pixelmill.logs import configure_logging

    settings = Settings(data_dir=data_dir, port=port)
    configure_logging(settings.log_level, settings.log_format)
    app: FastAPI = create_app(settings)

    @app.get("/bench/echo")
    async def echo(value: str = "ping") -> dict[str, str]:
        return {"echo": value}

    @app.get("/bench/echo-auth")
    async def echo_auth(principal: PrincipalDep, value: str = "ping") -> dict[str, str]:
        return {"echo": value, "principal": principal.id}

    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, access_log=False)


def seed(data_dir: Path) -> str:
    """Migrate the embedded database and create an operator-plan workspace with a live key."""
    from pixelmill.config import Settings
    from pixelmill.db.migrate import upgrade
    from pixelmill.db.session import Database
    from pixelmill.services.accounts import AccountService
    from pixelmill.services.keys import ApiKeyService

    settings = Settings(data_dir=data_dir)
    upgrade(settings.resolved_database_url)

    async def create() -> str:
        db = Database(settings.resolved_database_url)
        try:
            async with db.session() as session:
                user, workspace = await AccountService(session).signup(
                    "bench@example.com", "benchmark password", plan="operator"
                )
                created = await ApiKeyService(session).create(workspace.id, name="bench", created_by=user.id)
                return created.secret
        finally:
            await db.dispose()

    return asyncio.run(create())


async def _drive(port: int, request: bytes, until: float, statuses: Counter[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < until:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            match = _LENGTH.search(head)
            await reader.readexactly(int(match.group(1)) if match else 0)
            statuses[int(head[9:12])] += 1
    finally:
        writer.close()
        await writer.wait_closed()


async def measure(port: int, path: str, key: str | None, seconds: float, connections: int) -> tuple[int, float]:
    """Requests answered and seconds taken by ``GET path`` over ``connections`` keep-alive connections."""
    headers = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if key is not None:
        headers += f"Authorization: Bearer {key}\r\n"
    request = (headers + "\r\n").encode()
    statuses: Counter[int] = Counter()
    started = time.perf_counter()
    await asyncio.gather(*[_drive(port, request, started + seconds, statuses) for _ in range(connections)])
    elapsed = time.perf_counter() - started
    if set(statuses) != {200}:
        raise SystemExit(f"{path} answered {dict(statuses)}; expected only 200")
    return sum(statuses.values()), elapsed


async def compare(port: int, key: str, seconds: float, connections: int, rounds: int) -> dict[str, float]:
    """Requests/s per route. The routes take turns in short slices, so a neighbour's load on a shared
    machine falls on all of them alike instead of on whichever ran at the wrong moment."""
    routes = {
        "echo": ("/bench/echo", None),
        "echo-auth": ("/bench/echo-auth", key),
        "/v1/auth/me": ("/v1/auth/me", key),
    }
    for path, credential in routes.values():  # warm-up: connections, caches, the first key lookup
        await measure(port, path, credential, 0.5, connections)
    done = {name: 0 for name in routes}
    spent = {name: 0.0 for name in routes}
    for _ in range(rounds):
        for name, (path, credential) in routes.items():
            count, elapsed = await measure(port, path, credential, seconds / rounds, connections)
            done[name] += count
            spent[name] += elapsed
    return {name: done[name] / spent[name] for name in routes}


def _wait_until_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("the benchmark server exited during start-up")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the benchmark server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per route")
    parser.add_argument("--connections", type=int, default=32, help="concurrent keep-alive connections")
    parser.add_argument("--rounds", type=int, default=5, help="turns each route takes, interleaved")
    parser.add_argument("--serve", nargs=2, metavar=("DATA_DIR", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(Path(args.serve[0]), int(args.serve[1]))
        return
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    with tempfile.TemporaryDirectory(prefix="pixelmill-bench-") as tmp:
        data_dir = Path(tmp)
        key = seed(data_dir)
        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(data_dir), str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_until_listening(port, server)
            figures = asyncio.run(compare(port, key, args.seconds, args.connections, args.rounds))
        finally:
            server.terminate()
            server.wait(timeout=30)
    baseline = figures["echo"]
    print(
        f"{args.connections} connections, {args.seconds:g} s per route in {args.rounds} interleaved turns, "
        "one uvicorn process"
    )
    for name, rate in figures.items():
        ratio = "" if name == "echo" else f"   ratio {rate / baseline:.2f} of echo"
        print(f"{name:<12} {rate:9.0f} requests/s{ratio}")
    verdict = "meets" if figures["echo-auth"] / baseline >= 0.70 else "misses"
    print(f"authentication overhead {verdict} the target (echo-auth >= 0.70 of echo)")


if __name__ == "__main__":
    main()
