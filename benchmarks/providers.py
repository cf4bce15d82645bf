"""Upstream provider calls through pixelmill: the latency a run adds to one call, and a burst of runs
that the upstream limiter keeps under the upstream's own rate limit.

    .venv/bin/python benchmarks/providers.py [--calls 200] [--runs 200] [--latency 1.0]
                                             [--model openai/dall-e-2] [--size 256x256]
                                             [--postgres postgresql+psycopg://user@host:5432/postgres]

The upstream is the fake OpenAI Images API (tests/support/fake_openai.py) on loopback, in this
process; pixelmill is ``pixelmill serve`` in a subprocess (embedded SQLite in a temporary data
directory, or a scratch PostgreSQL database with ``--postgres``; the in-process dispatcher) with
``OPENAI_API_KEY`` and ``PIXELMILL_OPENAI_BASE_URL`` pointing at the fake. Every run is one
``image.generate`` node with a prompt of its own (so no run is a cache hit) created with
``Prefer: wait``, whose answer is the finished run.

(a) Added latency: ``--calls`` turns, one after another, of a bare httpx POST to the fake's
    ``/v1/images/generations`` (the body pixelmill sends for the model), a one-node run making that
    call over HTTP, and a one-node ``math.add`` run (what any run costs, upstream or not); the fake
    answers at once. Printed: p50 and p95 of each and of the paired difference (what a run adds to
    the call: the API request, queueing, the node, decoding and storing the image, the ledger and
    events), and the server's CPU time per turn. Target: under 10 ms p50 added. The default model and size (dall-e-2,
    256x256) keep the image small, so the figure is pixelmill's orchestration rather than PNG
    coding; ``--size 1024x1024 --model openai/gpt-image-1`` adds the codec's cost of a large image.
(b) Burst: the fake waits ``--latency`` seconds before each answer and answers 429
    ``rate_limit_exceeded`` (with ``retry-after-ms``) to an image request beyond ``--upstream-limit``
    in flight, as OpenAI answers a burst over an account's limit. ``--runs`` runs are created at once;
    pixelmill's upstream limiter (``upstream_concurrency``) is set under the fake's limit, and what
    otherwise bounds runs executing at once in the embedded mode (``worker_concurrency``, the plan's
    ``concurrent_runs``) above the burst. Printed: the time of one run alone (the baseline, median of
    three), of the burst, their ratio (target: under 3x) and the 429s the fake answered (target: 0);
    and, as a second baseline, how many 429s the same burst of bare calls without a limiter draws.

Exit status 1 when a run did not complete or pixelmill drew a 429; the latency and ratio targets are
reported, not enforced (they depend on the machine).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.run_throughput import PostgresDatabase, Server, bootstrap, cpu_seconds, percentile
from benchmarks.run_throughput import start_server as serve
from tests.support.fake_openai import serve_fake_openai

from pixelmill.config import default_plans

KEY = "sk-bench-providers-0123456789abcdef"
WARM_UP = 10


@dataclass(frozen=True)
class Limits:
    """What bounds the burst: pixelmill's settings under test and the fake's own limit."""

    upstream_concurrency: int
    worker_concurrency: int
    concurrent_runs: int
    upstream_limit: int

    def env(self) -> dict[str, str]:
        plans = default_plans()
        plans["operator"] = plans["operator"].model_copy(
            update={"concurrent_runs": self.concurrent_runs, "max_queued_runs": 100_000}
        )
        return {
            "PIXELMILL_UPSTREAM_CONCURRENCY": str(self.upstream_concurrency),
            "PIXELMILL_WORKER_CONCURRENCY": str(self.worker_concurrency),
            "PIXELMILL_PLANS": json.dumps({name: plan.model_dump() for name, plan in plans.items()}),
        }


def start_server(data_dir: Path, fake_url: str, limits: Limits, database_url: str | None = None) -> Server:
    """pixelmill with the fake's key and URL as its OpenAI upstream (no other OPENAI_* variable)."""
    upstream = {
        "PIXELMILL_PLAN_CREDITS_ENABLED": "false",
        "OPENAI_API_KEY": KEY,
        "PIXELMILL_OPENAI_BASE_URL": fake_url,
        **limits.env(),
    }
    return serve(data_dir, database_url, settings=upstream, unset=("PIXELMILL_", "OPENAI_"))


@dataclass(frozen=True)
class Shape:
    """The model and size every call asks for, as a run's graph and as the upstream's own body."""

    model: str
    size: str

    def graph(self, prompt: str) -> dict[str, Any]:
        inputs = {"prompt": prompt, "model": self.model, "size": self.size}
        return {"nodes": [{"id": "img", "type": "image.generate", "inputs": inputs}], "edges": []}

    def upstream_body(self, prompt: str) -> dict[str, Any]:
        name = self.model.removeprefix("openai/")
        body: dict[str, Any] = {"model": name, "prompt": prompt, "n": 1, "size": self.size}
        if name.startswith("dall-e"):
            body["response_format"] = "b64_json"  # as the adapter asks dall-e models
        return body


def completed(response: httpx.Response) -> None:
    body = response.json()
    if response.status_code != 201 or body.get("status") != "completed":
        raise SystemExit(f"a run did not complete: HTTP {response.status_code} {body}")


@dataclass
class Latencies:
    """Seconds per call of each kind, measured in turns so drift on the machine hits all alike."""

    bare: list[float] = field(default_factory=list)  # the upstream call alone
    runs: list[float] = field(default_factory=list)  # a one-node run making that call
    plain_runs: list[float] = field(default_factory=list)  # a one-node math.add run: any run's own cost


def added_latency(server: Server, fake_url: str, key: str, shape: Shape, calls: int) -> Latencies:
    """``calls`` turns of a bare call, an upstream run and a plain run, after ``WARM_UP`` turns not kept."""
    kept = Latencies()
    wait = {"Prefer": "wait=30"}
    with (
        httpx.Client(base_url=fake_url, headers={"Authorization": f"Bearer {KEY}"}, timeout=30) as upstream,
        httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as api,
    ):
        for index in range(WARM_UP + calls):
            prompt = f"a lighthouse, take {index}"
            started = time.perf_counter()
            answer = upstream.post("images/generations", json=shape.upstream_body(prompt))
            answer.raise_for_status()
            answer.json()
            bare_seconds = time.perf_counter() - started
            started = time.perf_counter()
            response = api.post("/v1/runs", json={"graph": shape.graph(prompt)}, headers=wait)
            run_seconds = time.perf_counter() - started
            completed(response)
            plain = {"nodes": [{"id": "sum", "type": "math.add", "inputs": {"a": index, "b": 0.5}}], "edges": []}
            started = time.perf_counter()
            response = api.post("/v1/runs", json={"graph": plain}, headers=wait)
            plain_seconds = time.perf_counter() - started
            completed(response)
            if index >= WARM_UP:
                kept.bare.append(bare_seconds)
                kept.runs.append(run_seconds)
                kept.plain_runs.append(plain_seconds)
    return kept


async def burst_of_runs(server: Server, key: str, shape: Shape, runs: int, tag: str) -> float:
    """Seconds until all of ``runs`` runs created at once have completed."""
    limits = httpx.Limits(max_connections=runs + 10, max_keepalive_connections=runs + 10)
    headers = {"Authorization": f"Bearer {key}", "Prefer": "wait=60"}
    async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=120, limits=limits) as api:
        started = time.perf_counter()
        responses = await asyncio.gather(
            *(api.post("/v1/runs", json={"graph": shape.graph(f"a harbour, {tag} {index}")}) for index in range(runs))
        )
        elapsed = time.perf_counter() - started
    for response in responses:
        completed(response)
    return elapsed


async def burst_of_bare_calls(fake_url: str, shape: Shape, calls: int) -> int:
    """How many of ``calls`` bare upstream calls sent at once the fake answered 429."""
    limits = httpx.Limits(max_connections=calls + 10, max_keepalive_connections=calls + 10)
    headers = {"Authorization": f"Bearer {KEY}"}
    async with httpx.AsyncClient(base_url=fake_url, headers=headers, timeout=120, limits=limits) as upstream:
        answers = await asyncio.gather(
            *(upstream.post("images/generations", json=shape.upstream_body(f"bare {i}")) for i in range(calls))
        )
    return sum(answer.status_code == 429 for answer in answers)


def milliseconds(values: list[float]) -> str:
    return f"p50 {percentile(values, 0.5) * 1000:7.1f} ms   p95 {percentile(values, 0.95) * 1000:7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=200, help="(a) sequential pairs of bare call and run")
    parser.add_argument("--runs", type=int, default=200, help="(b) runs created at once")
    parser.add_argument("--latency", type=float, default=1.0, help="(b) seconds the fake waits per answer")
    parser.add_argument("--upstream-limit", type=int, default=128, help="(b) the fake's 429 threshold (in flight)")
    parser.add_argument("--upstream-concurrency", type=int, default=100, help="(b) pixelmill's upstream limiter")
    parser.add_argument("--model", default="openai/dall-e-2", help="an openai/* image model")
    parser.add_argument("--size", default="256x256", help="a size the model makes")
    parser.add_argument("--postgres", metavar="URL", help="PostgreSQL server to create a scratch database on")
    args = parser.parse_args()
    if args.upstream_concurrency > args.upstream_limit:
        parser.error("--upstream-concurrency must not exceed --upstream-limit: the limiter is set under it")

    shape = Shape(args.model, args.size)
    slots = max(args.runs, 1)
    limits = Limits(args.upstream_concurrency, slots, slots, args.upstream_limit)
    postgres = PostgresDatabase(args.postgres) if args.postgres else None
    with tempfile.TemporaryDirectory(prefix="pixelmill-bench-") as scratch, serve_fake_openai(KEY) as (fake, url):
        data_dir = Path(scratch) / "data"
        database_url = postgres.url if postgres else f"sqlite+aiosqlite:///{data_dir / 'pixelmill.db'}"
        runs_in_all = WARM_UP + args.calls + 3 + args.runs  # math.add runs cost nothing
        key = bootstrap(database_url, 1000 * runs_in_all, "providers benchmark").key
        server = start_server(data_dir, url, limits, postgres.url if postgres else None)
        pid = server.process.pid
        try:
            before = cpu_seconds(pid)
            latencies = added_latency(server, url, key, shape, args.calls)
            cpu_per_turn = (cpu_seconds(pid) - before) / (WARM_UP + args.calls)
            fake.latency = args.latency
            fake.max_in_flight = args.upstream_limit
            singles = [asyncio.run(burst_of_runs(server, key, shape, 1, f"single {n}")) for n in range(3)]
            fake.most_in_flight = 0
            before = cpu_seconds(pid)
            burst = asyncio.run(burst_of_runs(server, key, shape, args.runs, "burst"))
            burst_cpu = cpu_seconds(pid) - before
            pixelmill_429s, most_in_flight = fake.rate_limited, fake.most_in_flight
            bare_429s = asyncio.run(burst_of_bare_calls(url, shape, args.runs))
        finally:
            server.stop()
            if postgres is not None:
                postgres.drop()

    bare, runs, plain_runs = latencies.bare, latencies.runs, latencies.plain_runs
    added = [run - call for run, call in zip(runs, bare, strict=True)]
    single = statistics.median(singles)
    ratio = burst / single
    print(f"providers: {shape.model} {shape.size} against the fake OpenAI Images API on loopback;")
    backend = "PostgreSQL" if postgres else "embedded SQLite"
    print(f"  pixelmill serve, {backend}, in-process dispatcher")
    print(f"(a) added latency per upstream call, {len(runs)} sequential turns (after {WARM_UP} warm-up turns)")
    print(f"  bare httpx call to the fake          {milliseconds(bare)}")
    print(f"  one-node run, Prefer: wait           {milliseconds(runs)}")
    print(f"  added by pixelmill (paired)          {milliseconds(added)}")
    print(f"  any one-node run (math.add)          {milliseconds(plain_runs)}")
    print(f"  server CPU per turn (both runs)      {cpu_per_turn * 1000:7.1f} ms")
    met = "met" if percentile(added, 0.5) < 0.010 else "NOT met"
    print(f"  target p50 added < 10 ms             {met}")
    print(f"(b) {args.runs} runs at once, the fake waits {args.latency:.2f} s per answer and answers 429 above")
    print(f"  {args.upstream_limit} requests in flight")
    print(
        f"  settings                             upstream_concurrency={limits.upstream_concurrency}, "
        f"worker_concurrency={limits.worker_concurrency}, operator plan concurrent_runs={limits.concurrent_runs}"
    )
    print(f"  one run alone (median of 3)          {single:.2f} s")
    print(f"  {args.runs} runs at once".ljust(39) + f"{burst:.2f} s")
    print(f"  ratio                                {ratio:.2f}x   target < 3x: {'met' if ratio < 3 else 'NOT met'}")
    print(f"  server CPU during the burst          {burst_cpu:.2f} s ({burst_cpu / burst:.0%} of one core)")
    print(f"  upstream 429s drawn by pixelmill     {pixelmill_429s}   (most in flight at the fake: {most_in_flight})")
    print(f"  baseline: {args.runs} bare calls at once".ljust(39) + f"{bare_429s} answered 429 (no limiter)")
    if pixelmill_429s:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
