"""Wall time of ``pixelmill gen image`` end to end against a bare httpx script doing the same request,
and the CLI's start-up time; same server, same run.

    .venv/bin/python benchmarks/clients.py [--rounds 5]

A real ``pixelmill serve`` runs on a loopback port with a temporary data and config directory; its
first-start admin key (saved to the temporary config directory) is used by both clients, and its
workspace is granted credits through the ledger. Each round, in alternating order, both make a
512x512 ``local/procedural`` image with the same prompt and seed and save the PNG:

- bare: ``python -c <script>``: one ``POST /v1/generations`` with ``Prefer: wait=60``, then one GET
  of the output URL, with plain httpx (interpreter start-up included);
- cli: ``pixelmill gen image PROMPT --size 512x512 --seed 1 -o out.png`` (start-up, upload of
  nothing, create, live progress over SSE, read, download).

Printed: the median of each, the ratio cli/bare (target <= 1.5) and the median of ``pixelmill --help``
(target <= 300 ms). Beside each wall time, the median CPU time (user + system) of the client process:
on a machine shared with other work the wall times swing with its load, the CPU times much less.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROMPT = "a lighthouse on a cliff at dusk"
CLI = [sys.executable, "-c", "from pixelmill.cli.main import run; run()"]
BARE = """
import sys, httpx
base, key, out, prompt = sys.argv[1:5]
headers = {"Authorization": f"Bearer {key}", "Prefer": "wait=60"}
body = {"generation_type": "image", "model_name": "local/procedural", "prompt": prompt,
        "settings": {"size": "512x512", "seed": 1}}
with httpx.Client(base_url=base, timeout=120) as client:
    generation = client.post("/v1/generations", json=body, headers=headers).raise_for_status().json()
    assert generation["status"] == "completed", generation
    image = client.get(generation["outputs"][0], headers={"Authorization": f"Bearer {key}"}).raise_for_status()
    open(out, "wb").write(image.content)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _grant(data_dir: Path, workspace_id: str) -> None:
    from pixelmill.config import Settings
    from pixelmill.db.session import Database
    from pixelmill.services.credits import CreditLedger

    async def grant() -> None:
        db = Database(Settings(data_dir=data_dir).resolved_database_url)
        try:
            async with db.session() as session:
                await CreditLedger(session).grant(workspace_id, 1_000_000, "benchmark")
        finally:
            await db.dispose()

    asyncio.run(grant())


CPU: dict[str, list[float]] = {}  # command label -> CPU seconds of each of its runs


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(command: list[str], env: dict[str, str], label: str = "") -> float:
    """Wall time of one run; its CPU time goes to ``CPU[label]`` (the server, still running, is not counted)."""
    cpu = _children_cpu()
    started = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{command[3:]} failed ({result.returncode}): {result.stderr[-2000:]}")
    CPU.setdefault(label, []).append(_children_cpu() - cpu)
    return elapsed


def _check_png(path: Path) -> None:
    from PIL import Image

    with Image.open(path) as image:
        if image.size != (512, 512):
            raise SystemExit(f"{path} is {image.size}, not 512x512")
    path.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pixelmill-bench-") as tmp:
        root = Path(tmp)
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("PIXELMILL_")}
        env |= {
            "PIXELMILL_DATA_DIR": str(root / "data"),
            "PIXELMILL_CONFIG_DIR": str(root / "config"),
            "PIXELMILL_PORT": str(port),
            "PIXELMILL_LOG_LEVEL": "WARNING",
        }
        server = subprocess.Popen([*CLI, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            credentials = root / "config" / "credentials.json"
            deadline = time.monotonic() + 60
            while not (root / "data" / "server.json").exists():
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the server did not start")
                time.sleep(0.1)
            saved = json.loads(credentials.read_text())
            _grant(root / "data", saved["workspace_id"])
            base, key = saved["url"], saved["api_key"]
            client_env = env | {"PIXELMILL_BASE_URL": base, "PIXELMILL_API_KEY": key}
            bare_cmd = [sys.executable, "-c", BARE, base, key, str(root / "bare.png"), PROMPT]
            cli_cmd = [*CLI, "gen", "image", PROMPT, "--model", "local/procedural", "--size", "512x512"]
            cli_cmd += ["--seed", "1", "-o", str(root / "cli.png")]
            _timed(bare_cmd, client_env)  # warm-up: first-use caches on both sides
            _timed(cli_cmd, client_env)
            bare: list[float] = []
            cli: list[float] = []
            for round_number in range(args.rounds):
                order = [(bare_cmd, bare, "bare"), (cli_cmd, cli, "cli")]
                for command, times, name in order if round_number % 2 == 0 else order[::-1]:
                    times.append(_timed(command, client_env, name))
                    _check_png(root / f"{name}.png")
            help_times = [_timed([*CLI, "--help"], env, "help") for _ in range(7)]
        finally:
            server.terminate()
            server.wait(timeout=30)
    bare_ms, cli_ms = statistics.median(bare) * 1000, statistics.median(cli) * 1000
    help_ms = statistics.median(help_times) * 1000
    cpu_ms = {label: statistics.median(times) * 1000 for label, times in CPU.items()}
    print(f"bare httpx script : {bare_ms:8.1f} ms (median of {args.rounds}; CPU {cpu_ms['bare']:.0f} ms)")
    print(f"pixelmill gen     : {cli_ms:8.1f} ms (median of {args.rounds}; CPU {cpu_ms['cli']:.0f} ms)")
    print(f"ratio cli/bare    : {cli_ms / bare_ms:8.2f}  (target <= 1.5; CPU {cpu_ms['cli'] / cpu_ms['bare']:.2f})")
    print(f"pixelmill --help  : {help_ms:8.1f} ms (median of 7; target <= 300; CPU {cpu_ms['help']:.0f} ms)")
    print(f"load average      : {', '.join(f'{value:.1f}' for value in os.getloadavg())} ({os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
