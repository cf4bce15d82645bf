"""kill -9 chaos: the server (embedded) or the server and the worker (fleet) killed mid-run, N times.

    .venv/bin/python benchmarks/chaos.py [--trials 100] [--mode embedded|fleet|both] [--runs-per-trial 8]
                                         [--broker redis://127.0.0.1:6379/5] [--seed N] [--time-limit 1800]

Real processes on loopback, as the fleet tests run them (tests/support/fleet.py):

- embedded: one ``pixelmill serve`` on SQLite in a temporary data directory, in-process dispatcher;
- fleet: ``pixelmill serve`` and ``pixelmill worker`` on a fresh PostgreSQL database (made from a
  migrated template, dropped afterwards), Redis for the sweeper lock and live events, and the broker
  (Redis DB 5 by default, or ``amqp://…``). Redis databases 5 and 6 are emptied first. The victim
  alternates: the worker on even trials, the server on odd ones.

Each trial creates ``--runs-per-trial`` runs (one client, one after the other) whose graph has two
branches, each fetching an image from a fake upstream that answers after a few hundred milliseconds
and converting it (2 credits a run), sends SIGKILL to the victim at a random moment between the first
create and the baseline batch's duration (so kills land during creates, during execution, and now and
then after the batch), restarts it, and waits for every run of the workspace to be terminal. Then it
reads the books back from the database:

- lost runs: runs that never reached a terminal status within ``--recovery-timeout`` seconds;
- double charges: a run with more than one hold, capture or release, whose ``credits_used`` is not what
  the ledger captured for it, or (terminal) whose capture and release do not add up to its hold; and
  whether the wallet equals the ledger's audit at the end;
- outcomes (completed, failed by the crash, cancelled), runs in flight at the kill, and creates the
  client got no answer to (their runs are counted from the database, not from the answers);
- recovery time: from the restart until every run is terminal (p50, p95, max), and restart -> ready.

Baseline in the same run: the same batch without a kill (``--baselines`` batches before the trials),
first create -> all terminal; the ratio of a killed batch's duration to it is printed. The exit status
is 1 when a run was lost or charged wrongly, or the wallet does not match its ledger. The whole run
stops by itself: ``--trials`` trials per mode, or fewer once a mode has run ``--time-limit`` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx
from sqlalchemy import func, select

# The fleet harness lives with the tests; reuse it rather than keep a second copy.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.accounts import SeededAccount, seed_account
from tests.support.databases import PostgresTemplate
from tests.support.fleet import BROKER_REDIS_URL, Api, Fleet, Process, Upstream, running_fleet, server_env
from tests.support.runs import TERMINAL, grant

from pixelmill.db.migrate import upgrade
from pixelmill.db.models import LedgerEntry, Run
from pixelmill.db.session import Database
from pixelmill.services.credits import CreditLedger

RUN_COST = 2  # two image.convert nodes; image.load is free


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def spread(values: list[float]) -> str:
    if not values:
        return "n/a"
    return f"p50 {statistics.median(values):6.2f} s   p95 {percentile(values, 0.95):6.2f} s   max {max(values):6.2f} s"


def two_branch_graph(upstream: Upstream, key: str, rng: random.Random) -> dict[str, Any]:
    """Two fetches of different length from the upstream, each converted: a kill can land with one
    branch finished (persisted, not run again) and the other in flight."""
    delays = {"quick": rng.uniform(0.1, 0.4), "slow": rng.uniform(0.4, 1.2)}
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    for branch, delay in delays.items():
        url = upstream.image_url(f"{key}-{branch}", delay=round(delay, 3))
        nodes.append({"id": branch, "type": "image.load", "inputs": {"url": url}})
        nodes.append({"id": f"{branch}_png", "type": "image.convert", "inputs": {"format": "png"}})
        edges.append(
            {
                "source": {"node_id": branch, "field": "image"},
                "destination": {"node_id": f"{branch}_png", "field": "image"},
            }
        )
    return {"nodes": nodes, "edges": edges}


@dataclass(frozen=True)
class RunBooks:
    """One run's status and what the ledger recorded for it."""

    status: str
    error_code: str | None
    reserved: int
    used: int
    entries: Counter[str]  # kind -> how many
    amounts: Counter[str]  # kind -> sum

    @property
    def double_charged(self) -> bool:
        if any(self.entries[kind] > 1 for kind in ("hold", "capture", "release")):
            return True
        if self.used != self.amounts["capture"] or self.amounts["hold"] != self.reserved:
            return True
        settled = self.amounts["capture"] + self.amounts["release"]
        return settled != (self.reserved if self.status in TERMINAL else 0)


class Books:
    """Reads of the trial workspace's runs and ledger, over one connection pool on a loop of its own."""

    def __init__(self, database_url: str, workspace_id: str) -> None:
        self.workspace_id = workspace_id
        self._loop = asyncio.new_event_loop()
        self._db = Database(database_url)

    def _wait(self, work: Any) -> Any:
        return self._loop.run_until_complete(work)

    def active(self) -> set[str]:
        async def work() -> set[str]:
            async with self._db.sessions() as session:
                rows = await session.scalars(
                    select(Run.id).where(Run.workspace_id == self.workspace_id, Run.status.in_(("queued", "running")))
                )
                return set(rows)

        result: set[str] = self._wait(work())
        return result

    def runs(self, exclude: set[str]) -> dict[str, RunBooks]:
        async def work() -> dict[str, RunBooks]:
            async with self._db.sessions() as session:
                rows = (
                    await session.execute(
                        select(Run.id, Run.status, Run.error, Run.credits_reserved, Run.credits_used).where(
                            Run.workspace_id == self.workspace_id
                        )
                    )
                ).all()
                ledger = (
                    await session.execute(
                        select(LedgerEntry.run_id, LedgerEntry.kind, func.count(), func.sum(LedgerEntry.amount))
                        .where(LedgerEntry.workspace_id == self.workspace_id, LedgerEntry.run_id.is_not(None))
                        .group_by(LedgerEntry.run_id, LedgerEntry.kind)
                    )
                ).all()
            counts: dict[str, Counter[str]] = {}
            sums: dict[str, Counter[str]] = {}
            for run_id, kind, count, total in ledger:
                counts.setdefault(run_id, Counter())[kind] = int(count)
                sums.setdefault(run_id, Counter())[kind] = int(total)
            return {
                run_id: RunBooks(
                    status=status,
                    error_code=(error or {}).get("code") if isinstance(error, dict) else None,
                    reserved=int(reserved),
                    used=int(used),
                    entries=counts.get(run_id, Counter()),
                    amounts=sums.get(run_id, Counter()),
                )
                for run_id, status, error, reserved, used in rows
                if run_id not in exclude
            }

        result: dict[str, RunBooks] = self._wait(work())
        return result

    def balanced(self) -> bool:
        """The wallet equals the wallet recomputed from the ledger alone."""

        async def work() -> bool:
            async with self._db.session() as session:
                ledger = CreditLedger(session)
                return await ledger.wallet(self.workspace_id) == await ledger.audit(self.workspace_id)

        result: bool = self._wait(work())
        return result

    def close(self) -> None:
        self._wait(self._db.dispose())
        self._loop.close()


class Creator(threading.Thread):
    """Creates a batch of runs one after the other; a create cut off by the kill counts as unanswered."""

    def __init__(self, url: str, account: SeededAccount, graphs: list[dict[str, Any]]) -> None:
        super().__init__(name="chaos-creator", daemon=True)
        self.url = url
        self.headers = account.headers
        self.graphs = graphs
        self.created: list[str] = []
        self.refused: Counter[int] = Counter()
        self.unanswered = 0

    def run(self) -> None:
        with httpx.Client(base_url=self.url, headers=self.headers, timeout=10) as client:
            for graph in self.graphs:
                try:
                    response = client.post("/v1/runs", json={"graph": graph})
                except httpx.TransportError:
                    self.unanswered += 1
                    continue
                if response.status_code == 201:
                    self.created.append(response.json()["run_id"])
                else:
                    self.refused[response.status_code] += 1


class Target(Protocol):
    """What a mode kills and restarts."""

    victims: tuple[str, ...]

    @property
    def url(self) -> str: ...

    def kill(self, victim: str) -> None: ...

    def restart(self, victim: str) -> None: ...

    def check_alive(self) -> None: ...


class EmbeddedTarget:
    """One ``pixelmill serve`` on SQLite; each restart is a new process on the same data directory."""

    victims = ("server",)

    def __init__(self, root: Path) -> None:
        self.data_dir = root / "data"
        self.data_dir.mkdir(parents=True)
        self.database_url = f"sqlite+aiosqlite:///{self.data_dir / 'pixelmill.db'}"
        upgrade(self.database_url)
        self.env = server_env(root)
        self.starts = 0
        self.server = self._start()

    def _start(self) -> Api:
        self.starts += 1
        server = Api(f"serve-{self.starts}", self.data_dir, self.env)
        server.wait_ready()
        return server

    @property
    def url(self) -> str:
        return self.server.url

    def kill(self, victim: str) -> None:
        self.server.kill9()

    def restart(self, victim: str) -> None:
        self.server.stop()  # collects the killed process's output and pipe
        self.server = self._start()

    def check_alive(self) -> None:
        self.server.check_alive()

    def close(self) -> None:
        self.server.stop()


class FleetTarget:
    """``pixelmill serve`` and one ``pixelmill worker``; the victim is replaced by a new process."""

    victims = ("worker", "server")

    def __init__(self, fleet: Fleet, concurrency: int) -> None:
        self.fleet = fleet
        self.concurrency = concurrency
        self.starts = 0
        self.members: dict[str, Process] = {"server": fleet.api("api-0"), "worker": fleet.worker("worker-0")}

    @property
    def url(self) -> str:
        server = self.members["server"]
        assert isinstance(server, Api)
        return server.url

    def kill(self, victim: str) -> None:
        self.members[victim].kill9()

    def restart(self, victim: str) -> None:
        self.members[victim].stop()
        self.starts += 1
        if victim == "server":
            self.members[victim] = self.fleet.api(f"api-{self.starts}")
        else:
            self.members[victim] = self.fleet.worker(f"worker-{self.starts}", concurrency=self.concurrency)

    def check_alive(self) -> None:
        for member in self.members.values():
            member.check_alive()


@dataclass
class Results:
    mode: str
    planned: int
    victims: Counter[str] = field(default_factory=Counter)
    runs: dict[str, RunBooks] = field(default_factory=dict)
    unanswered: int = 0
    refused: Counter[int] = field(default_factory=Counter)
    lost: set[str] = field(default_factory=set)
    in_flight_at_kill: int = 0
    kills_with_work_in_flight: int = 0
    ready: list[float] = field(default_factory=list)
    recovery: list[float] = field(default_factory=list)
    recovery_by_victim: dict[str, list[float]] = field(default_factory=dict)
    killed_batch: list[float] = field(default_factory=list)
    baseline: list[float] = field(default_factory=list)
    balanced: bool = False
    stopped_early: bool = False

    @property
    def trials(self) -> int:
        return sum(self.victims.values())


@dataclass
class Chaos:
    """The trials of one mode against one target and workspace."""

    target: Target
    books: Books
    account: SeededAccount
    upstream: Upstream
    rng: random.Random
    runs_per_trial: int
    recovery_timeout: float
    results: Results
    known: set[str] = field(default_factory=set)

    def graphs(self, tag: str) -> list[dict[str, Any]]:
        return [two_branch_graph(self.upstream, f"{tag}-{i}", self.rng) for i in range(self.runs_per_trial)]

    def wait_terminal(self, deadline: float) -> bool:
        """Until no run is active but those already counted lost; False at the deadline."""
        while self.books.active() - self.results.lost:
            if time.monotonic() > deadline:
                return False
            self.target.check_alive()
            time.sleep(0.05)
        return True

    def collect(self, creator: Creator) -> dict[str, RunBooks]:
        fresh = self.books.runs(exclude=self.known)
        self.known |= set(fresh)
        self.results.runs.update(fresh)
        self.results.unanswered += creator.unanswered
        self.results.refused.update(creator.refused)
        return fresh

    def baseline(self, index: int) -> None:
        creator = Creator(self.target.url, self.account, self.graphs(f"{self.results.mode}-base{index}"))
        started = time.monotonic()
        creator.start()
        creator.join()
        if not self.wait_terminal(started + self.recovery_timeout):
            raise SystemExit(f"a baseline batch did not finish within {self.recovery_timeout} s")
        self.results.baseline.append(time.monotonic() - started)
        fresh = self.collect(creator)
        if any(run.status != "completed" for run in fresh.values()):
            raise SystemExit(f"a baseline run did not complete: {Counter(r.status for r in fresh.values())}")

    def trial(self, index: int, window: float) -> None:
        victim = self.target.victims[index % len(self.target.victims)]
        creator = Creator(self.target.url, self.account, self.graphs(f"{self.results.mode}-t{index}"))
        started = time.monotonic()
        creator.start()
        time.sleep(max(0.0, started + self.rng.uniform(0.0, window) - time.monotonic()))
        self.target.kill(victim)
        self.results.victims[victim] += 1
        creator.join(timeout=30)
        in_flight = len(self.books.active() - self.results.lost)
        self.results.in_flight_at_kill += in_flight
        self.results.kills_with_work_in_flight += in_flight > 0
        restarted = time.monotonic()
        self.target.restart(victim)
        self.results.ready.append(time.monotonic() - restarted)
        finished = self.wait_terminal(restarted + self.recovery_timeout)
        ended = time.monotonic()
        fresh = self.collect(creator)
        if finished:
            self.results.recovery.append(ended - restarted)
            self.results.recovery_by_victim.setdefault(victim, []).append(ended - restarted)
            self.results.killed_batch.append(ended - started)
        self.results.lost |= {run_id for run_id, run in fresh.items() if run.status not in TERMINAL}

    def run(self, trials: int, baselines: int, deadline: float) -> None:
        for index in range(baselines):
            self.baseline(index)
        window = statistics.median(self.results.baseline)
        for index in range(trials):
            if time.monotonic() > deadline:
                self.results.stopped_early = True
                break
            self.trial(index, window)
        self.results.balanced = self.books.balanced()


def seeded_workspace(database_url: str) -> SeededAccount:
    account = seed_account(database_url, plan="operator")
    grant(database_url, account.workspace_id, 10_000_000)
    return account


def run_embedded(args: argparse.Namespace, rng: random.Random, upstream: Upstream, deadline: float) -> Results:
    results = Results("embedded", args.trials)
    with tempfile.TemporaryDirectory(prefix="pixelmill-chaos-") as root:
        target = EmbeddedTarget(Path(root))
        account = seeded_workspace(target.database_url)
        books = Books(target.database_url, account.workspace_id)
        try:
            chaos = Chaos(target, books, account, upstream, rng, args.runs_per_trial, args.recovery_timeout, results)
            chaos.run(args.trials, args.baselines, deadline)
        finally:
            books.close()
            target.close()
    return results


def run_fleet(args: argparse.Namespace, rng: random.Random, upstream: Upstream, deadline: float) -> Results:
    results = Results("fleet", args.trials)
    template = PostgresTemplate()
    try:
        database_url = template.fresh()
        account = seeded_workspace(database_url)
        books = Books(database_url, account.workspace_id)
        settings = {"lease_seconds": str(args.lease_seconds), "republish_after_seconds": "2"}
        try:
            with (
                tempfile.TemporaryDirectory(prefix="pixelmill-chaos-") as root,
                running_fleet(Path(root), database_url, args.broker, always_show_logs=False, **settings) as fleet,
            ):
                target = FleetTarget(fleet, args.concurrency)
                chaos = Chaos(
                    target, books, account, upstream, rng, args.runs_per_trial, args.recovery_timeout, results
                )
                chaos.run(args.trials, args.baselines, deadline)
        finally:
            books.close()
    finally:
        template.drop_all()
    return results


def report(results: Results, runs_per_trial: int) -> bool:
    """Print one mode's figures; True when nothing was lost, charged twice or charged wrongly."""
    runs = results.runs.values()
    trial_runs = len(results.runs) - len(results.baseline) * runs_per_trial
    outcomes = Counter(run.status for run in runs)
    failures = Counter(run.error_code for run in runs if run.status == "failed")
    double = sum(run.double_charged for run in runs)
    # Every node of these graphs is charged what it was estimated at: a completed run pays its hold.
    mischarged = sum(run.status == "completed" and run.used != run.reserved for run in runs)
    victims = ", ".join(f"{name} {count}" for name, count in sorted(results.victims.items()))
    print(
        f"{results.mode}: {results.trials} kill -9 trials of {results.planned} ({victims}), {runs_per_trial} runs each"
    )
    if results.stopped_early:
        print("  (stopped at the time limit)")
    print(
        f"  runs created {trial_runs} in trials + {len(results.baseline) * runs_per_trial} in baselines"
        f"   creates cut off by a kill {results.unanswered}   refused {dict(results.refused) or 0}"
    )
    print(
        f"  runs in flight at the kill {results.in_flight_at_kill}"
        f" (kills that hit work in flight: {results.kills_with_work_in_flight} of {results.trials})"
    )
    print(f"  lost runs (never terminal) {len(results.lost)}")
    print(f"  double charges {double}   completed runs charged other than their cost {mischarged}")
    print(f"  wallet equals the ledger's audit: {results.balanced}")
    print(
        f"  outcomes: completed {outcomes['completed']}   failed {outcomes['failed']}"
        f" {dict(failures) if failures else ''}  cancelled {outcomes['cancelled']}"
    )
    print(f"  restart -> ready                        {spread(results.ready)}")
    print(f"  recovery (restart -> all terminal)      {spread(results.recovery)}")
    if len(results.recovery_by_victim) > 1:
        for victim, times in sorted(results.recovery_by_victim.items()):
            print(f"    {victim + ' killed':<36}  {spread(times)}")
    print(f"  batch with a kill (create -> terminal)  {spread(results.killed_batch)}")
    print(f"  baseline, no kill ({len(results.baseline)} batches)          {spread(results.baseline)}")
    if results.baseline and results.killed_batch:
        base = statistics.median(results.baseline)
        print(
            f"  ratio to baseline p50: batch with a kill {statistics.median(results.killed_batch) / base:.2f}x"
            f"   recovery {statistics.median(results.recovery) / base:.2f}x"
        )
    return not results.lost and not double and not mischarged and results.balanced


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=100, help="kill -9 trials per mode")
    parser.add_argument("--mode", choices=("embedded", "fleet", "both"), default="both")
    parser.add_argument("--runs-per-trial", type=int, default=8, help="runs created in each trial")
    parser.add_argument("--baselines", type=int, default=5, help="batches without a kill, per mode")
    parser.add_argument("--broker", default=BROKER_REDIS_URL, help="fleet broker URL (redis://… or amqp://…)")
    parser.add_argument("--concurrency", type=int, default=4, help="runs at once in the fleet worker")
    parser.add_argument(
        "--lease-seconds", type=float, default=3.0, help="fleet lease: how soon a dead worker's runs move"
    )
    parser.add_argument("--recovery-timeout", type=float, default=120.0, help="seconds before a run counts as lost")
    parser.add_argument("--time-limit", type=float, default=1800.0, help="per mode: start no trial after this")
    parser.add_argument("--seed", type=int, default=None, help="seed of the kill moments and upstream delays")
    args = parser.parse_args()
    if args.trials < 1 or args.runs_per_trial < 1 or args.baselines < 1:
        parser.error("--trials, --runs-per-trial and --baselines must be at least 1")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    rng = random.Random(seed)
    modes = ("embedded", "fleet") if args.mode == "both" else (args.mode,)
    runners: dict[str, Callable[..., Results]] = {"embedded": run_embedded, "fleet": run_fleet}
    started = time.monotonic()
    upstream = Upstream()
    all_results: list[Results] = []
    try:
        for mode in modes:
            all_results.append(runners[mode](args, rng, upstream, time.monotonic() + args.time_limit))
    finally:
        upstream.close()
    print(f"chaos: seed {seed}, {time.monotonic() - started:.0f} s in all")
    sound = [report(results, args.runs_per_trial) for results in all_results]
    if not all(sound):
        raise SystemExit("chaos: runs were lost or charged wrongly (see above)")


if __name__ == "__main__":
    main()
