"""The Celery fleet: dispatch latency, and throughput with one and with two worker processes.

    .venv/bin/python benchmarks/fleet.py [--quick] [--runs 300] [--samples 100] [--concurrency 4]
                                         [--broker redis://127.0.0.1:6379/5]

Real processes on loopback: ``pixelmill serve`` and ``pixelmill worker`` subprocesses on a fresh
PostgreSQL database (made from a migrated template, dropped afterwards), Redis for the sweeper lock
and live events, and the broker (Redis DB 5 by default, or ``amqp://…``). Redis databases 5 and 6 are
emptied first. The harness is the fleet tests' (tests/support/fleet.py).

(a) Dispatch latency: runs (one ``math.add`` node) created one at a time. The commit itself has no
    timestamp, so two measures bracket commit -> start: from the run's ``created_at`` (an upper
    bound: it adds the rest of the create transaction) and from the moment the client holds the 201
    (a lower bound: the answer leaves after the commit), each to ``started_at`` (the worker's
    claim). Baseline in the same run: the embedded dispatcher (``dispatch = local``) on the same
    database, woken in-process by the create.
(b) Throughput of runs whose one node fetches an image from a fake upstream that answers after
    200 ms, with 1 and with 2 workers at the same ``--concurrency``. Every worker is first filled up
    with runs held at the upstream's gate, then the gate opens; throughput is the runs over the time
    from the opening to the last run's completion, so neither the API's create rate nor the workers'
    start-up is measured. Ceiling: workers x concurrency / 0.2 s.

Targets: 2 workers >= 1.8x of 1 (I/O-bound work); dispatch p95 <= 20 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

# The fleet harness lives with the tests; reuse it rather than keep a second copy.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.accounts import SeededAccount, seed_account
from tests.support.databases import PostgresTemplate
from tests.support.fleet import BROKER_REDIS_URL, Api, Fleet, Upstream, Worker, running_fleet
from tests.support.runs import grant, with_db

from pixelmill.db.models import Run
from pixelmill.db.session import Database

UPSTREAM_SECONDS = 0.2


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def add_graph(index: int) -> dict[str, Any]:
    return {"nodes": [{"id": "sum", "type": "math.add", "inputs": {"a": index, "b": 0.5}}], "edges": []}


def fetch_graph(upstream: Upstream, key: str) -> dict[str, Any]:
    url = upstream.image_url(key, delay=UPSTREAM_SECONDS, group="bench")
    return {"nodes": [{"id": "load", "type": "image.load", "inputs": {"url": url}}], "edges": []}


RunTimes = tuple[str, str, datetime, datetime | None, datetime | None]


def run_times(database_url: str, run_ids: list[str]) -> list[RunTimes]:
    """(id, status, created_at, started_at, completed_at) of each run."""

    async def work(db: Database) -> list[RunTimes]:
        async with db.sessions() as session:
            rows = await session.execute(
                select(Run.id, Run.status, Run.created_at, Run.started_at, Run.completed_at).where(Run.id.in_(run_ids))
            )
            return [(run_id, status, created, started, done) for run_id, status, created, started, done in rows.all()]

    return with_db(database_url, work)


def finished_count(database_url: str, run_ids: list[str]) -> int:
    async def work(db: Database) -> int:
        async with db.sessions() as session:
            found = await session.scalar(
                select(func.count()).where(Run.id.in_(run_ids), Run.status.in_(("completed", "failed", "cancelled")))
            )
            return int(found or 0)

    return with_db(database_url, work)


def wait_finished(database_url: str, run_ids: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while finished_count(database_url, run_ids) < len(run_ids):
        if time.monotonic() > deadline:
            raise SystemExit(f"runs did not finish within {timeout} s")
        time.sleep(0.25)


def create(client: httpx.Client, account: SeededAccount, graph: dict[str, Any]) -> str:
    response = client.post("/v1/runs", json={"graph": graph}, headers=account.headers)
    if response.status_code != 201:
        raise SystemExit(f"create failed: {response.status_code} {response.text}")
    run_id: str = response.json()["run_id"]
    return run_id


@dataclass
class Latency:
    """Commit -> start lies between these: ``upper`` from ``created_at`` (stamped before the rest of
    the create transaction), ``lower`` from the moment the client had the 201 (after the commit and
    the trip back; negative when the run started before the answer arrived). Same host, same clock."""

    upper: list[float]
    lower: list[float]


def dispatch_latency(api: Api, account: SeededAccount, database_url: str, samples: int) -> Latency:
    """Dispatch latency of ``samples`` runs created one at a time, in milliseconds."""
    answered: dict[str, datetime] = {}
    with httpx.Client(base_url=api.url, timeout=30) as client:
        for index in range(samples):
            run_id = create(client, account, add_graph(index))
            answered[run_id] = datetime.now(UTC)
            time.sleep(0.03)  # one run at a time: latency, not queueing
    run_ids = list(answered)
    wait_finished(database_url, run_ids, timeout=60)
    rows = run_times(database_url, run_ids)
    bad = [row[1] for row in rows if row[1] != "completed"]
    if bad:
        raise SystemExit(f"{len(bad)} run(s) did not complete: {bad[:3]}")
    started = [(run_id, created, begun) for run_id, _status, created, begun, _done in rows if begun]
    return Latency(
        upper=[(begun - created).total_seconds() * 1000 for _id, created, begun in started],
        lower=[(begun - answered[run_id]).total_seconds() * 1000 for run_id, _created, begun in started],
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs so far (from /proc/stat)."""
    values = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


@dataclass
class Phase:
    runs_per_second: float
    worker_cpu_ms_per_run: float  # CPU the worker processes spent per run
    machine_busy: float  # share of all cores busy meanwhile (every process on the machine)


def throughput(
    fleet: Fleet, api: Api, account: SeededAccount, upstream: Upstream, *, runs: int, slots: int, tag: str
) -> Phase:
    """Runs per second once ``slots`` runs wait at the closed gate and the rest wait in the broker."""
    upstream.state.gate.clear()
    with httpx.Client(base_url=api.url, timeout=30) as client, ThreadPoolExecutor(8) as pool:
        run_ids = list(pool.map(lambda i: create(client, account, fetch_graph(upstream, f"{tag}-{i}")), range(runs)))
    deadline = time.monotonic() + 60
    while upstream.in_flight("bench") < slots:
        fleet.check_alive()
        if time.monotonic() > deadline:
            raise SystemExit(f"only {upstream.in_flight('bench')} of {slots} slots filled")
        time.sleep(0.05)
    workers = [member.pid for member in fleet.members if isinstance(member, Worker) and member.process.poll() is None]
    cpu_before = sum(cpu_seconds(pid) for pid in workers)
    busy_before = machine_busy()
    opened = datetime.now(UTC)
    upstream.state.gate.set()
    wait_finished(fleet.database_url, run_ids, timeout=300)
    cpu = sum(cpu_seconds(pid) for pid in workers) - cpu_before
    busy_after = machine_busy()
    busy = (busy_after[0] - busy_before[0]) / max(1, busy_after[1] - busy_before[1])
    rows = run_times(fleet.database_url, run_ids)
    if any(status != "completed" for _id, status, *_rest in rows):
        raise SystemExit("some throughput runs did not complete")
    last = max(done for *_rest, done in rows if done is not None)
    return Phase(runs / (last.replace(tzinfo=UTC) - opened).total_seconds(), cpu * 1000 / runs, busy)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer runs (a smoke run of the benchmark)")
    parser.add_argument("--runs", type=int, default=None, help="runs per throughput phase (default 300, quick 120)")
    parser.add_argument("--samples", type=int, default=None, help="dispatch latency samples (default 100, quick 30)")
    parser.add_argument("--concurrency", type=int, default=4, help="runs at once per worker process")
    parser.add_argument("--broker", default=BROKER_REDIS_URL, help="broker URL (redis://… or amqp://…)")
    args = parser.parse_args()
    runs = args.runs or (120 if args.quick else 300)
    samples = args.samples or (30 if args.quick else 100)
    slots = args.concurrency

    template = PostgresTemplate()
    upstream = Upstream()
    try:
        database_url = template.fresh()
        account = seed_account(database_url, plan="operator")
        grant(database_url, account.workspace_id, 1_000_000)
        with tempfile.TemporaryDirectory() as root:
            # Long leases and republish intervals: nothing here should be re-executed or republished.
            settings = {"lease_seconds": "60", "republish_after_seconds": "600"}
            with running_fleet(Path(root), database_url, args.broker, always_show_logs=False, **settings) as fleet:
                local = fleet.api("api-local", PIXELMILL_DISPATCH="local")
                baseline = dispatch_latency(local, account, database_url, samples)
                local.stop()
                api = fleet.api("api")
                fleet.worker("worker-1", concurrency=slots)
                celery = dispatch_latency(api, account, database_url, samples)
                one = throughput(fleet, api, account, upstream, runs=runs, slots=slots, tag="one")
                fleet.worker("worker-2", concurrency=slots)
                two = throughput(fleet, api, account, upstream, runs=runs, slots=2 * slots, tag="two")
    finally:
        upstream.close()
        template.drop_all()

    print(f"broker {args.broker.split('://')[0]}, {samples} latency samples, {runs} runs per throughput phase")
    print("(a) dispatch latency; commit -> start lies between the two measures:")
    for measure, label in (("upper", "created_at -> started_at"), ("lower", "201 received -> started_at")):
        print(f"  {label}:")
        for name, latency in (("embedded dispatcher (baseline)", baseline), ("celery fleet", celery)):
            values: list[float] = getattr(latency, measure)
            print(
                f"    {name:<32} p50 {statistics.median(values):6.1f} ms   p95 {percentile(values, 0.95):6.1f} ms"
                f"   max {max(values):6.1f} ms"
            )
        p95 = percentile(getattr(celery, measure), 0.95)
        base = percentile(getattr(baseline, measure), 0.95)
        ratio = p95 / base if base > 0 else float("nan")
        print(f"    fleet / baseline p95: {ratio:.2f}x   target p95 <= 20 ms: {p95 <= 20}")
    print(f"(b) throughput, {UPSTREAM_SECONDS * 1000:.0f} ms upstream, {slots} runs at once per worker:")
    for count, phase in ((1, one), (2, two)):
        print(
            f"    {count} worker(s) {phase.runs_per_second:6.1f} runs/s"
            f"   (ceiling {count * slots / UPSTREAM_SECONDS:.0f})"
            f"   worker CPU {phase.worker_cpu_ms_per_run:5.1f} ms/run   machine busy {phase.machine_busy:4.0%}"
            f" of {os.cpu_count()} cores"
        )
    ratio = two.runs_per_second / one.runs_per_second
    print(f"    scaling 2 vs 1: {ratio:.2f}x   target >= 1.8x: {ratio >= 1.8}")


if __name__ == "__main__":
    main()
