"""The queue policy: priority first, round-robin across workspaces, plan concurrency, and positions
that agree with the claim order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pixelmill.db.models import Run
from pixelmill.services.run_queue import QueueGroup, plan_claims, position

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def group(workspace_id: str, count: int, *, priority: int = 5, age: int = 0) -> QueueGroup:
    return QueueGroup(workspace_id, priority, count, T0 - timedelta(seconds=age))


def run(workspace_id: str, *, priority: int = 5, age: int = 0) -> Run:
    return Run(id="run_x", workspace_id=workspace_id, priority=priority, created_at=T0 - timedelta(seconds=age))


def test_workspaces_take_turns_so_a_burst_cannot_starve_a_newcomer() -> None:
    order = plan_claims(
        [group("burst", 200, age=60), group("newcomer", 1)],
        slots=4,
        running={},
        limits={"burst": 10, "newcomer": 10},
        last_served={},
    )
    assert order == ["burst", "newcomer", "burst", "burst"]


def test_the_workspace_served_least_recently_goes_first() -> None:
    order = plan_claims(
        [group("a", 3, age=60), group("b", 3)],
        slots=3,
        running={},
        limits={"a": 9, "b": 9},
        last_served={"a": 10.0, "b": 5.0},
    )
    assert order == ["b", "a", "b"]


def test_higher_priority_goes_before_round_robin() -> None:
    order = plan_claims(
        [group("low", 2, priority=1, age=60), group("high", 2, priority=7), group("mixed", 1, priority=7, age=30)],
        slots=5,
        running={},
        limits={"low": 9, "high": 9, "mixed": 9},
        last_served={},
    )
    assert order == ["mixed", "high", "high", "low", "low"]


def test_a_workspace_at_its_concurrency_limit_is_skipped() -> None:
    order = plan_claims(
        [group("busy", 5, age=60), group("idle", 5)],
        slots=4,
        running={"busy": 1},
        limits={"busy": 2, "idle": 2},
        last_served={},
    )
    assert order == ["busy", "idle", "idle"]


def test_positions_count_the_runs_claimed_before_in_the_same_order() -> None:
    groups = [group("a", 3, age=60), group("b", 2, age=30), group("a", 1, priority=1, age=50)]
    served = {"a": 1.0}
    order = plan_claims(groups, slots=6, running={}, limits={"a": 9, "b": 9}, last_served=served)
    assert order == ["b", "a", "b", "a", "a", "a"]
    # The k-th run of a workspace at a priority sits where the plan claims that workspace's k-th run.
    assert position(run("b", age=30), 0, groups, served) == 0
    assert position(run("a", age=60), 0, groups, served) == 1
    assert position(run("b", age=29), 1, groups, served) == 2
    assert position(run("a", age=59), 1, groups, served) == 3
    assert position(run("a", age=58), 2, groups, served) == 4
    assert position(run("a", priority=1, age=50), 0, groups, served) == 5
