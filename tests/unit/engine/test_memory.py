"""Memory admission: the budget's accounting, and the executor starting nodes only within it."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from pydantic import BaseModel

from pixelmill.config import Settings
from pixelmill.engine.cancellation import CancelToken
from pixelmill.engine.context import NodeContext
from pixelmill.engine.events import NodeEvent
from pixelmill.engine.executor import GraphExecutor
from pixelmill.engine.memory import MemoryBudget, budget_bytes, physical_memory_bytes
from pixelmill.engine.node import MIB, BaseNode, MediaSizes, NodeRegistry, node
from pixelmill.engine.results_memory import MemoryResultStore
from pixelmill.engine.run_context import RunScope
from pixelmill.engine.validation import ValidatedGraph, validate_graph
from pixelmill.errors import PixelmillError

pytestmark = pytest.mark.anyio

registry = NodeRegistry()


class Out(BaseModel):
    value: float


class Holding:
    """What the ``mem.hold`` nodes saw: the bytes held by those running at once, at its highest."""

    budget: MemoryBudget | None = None
    running = 0
    most_running = 0
    most_reserved = 0
    calls = 0


@node("mem.hold", version="1.0.0", category="test", registry=registry)
class MemHold(BaseNode):
    """Declares ``mib`` MiB of working memory and holds it for ``seconds``."""

    deterministic: ClassVar[bool] = False
    base_cost: ClassVar[int] = 1
    mib: int = 10
    seconds: float = 0.05

    def working_set(self, sizes: MediaSizes) -> int:
        return self.mib * MIB

    async def run(self, ctx: NodeContext) -> Out:
        Holding.calls += 1
        Holding.running += 1
        Holding.most_running = max(Holding.most_running, Holding.running)
        if Holding.budget is not None:
            Holding.most_reserved = max(Holding.most_reserved, Holding.budget.reserved)
        try:
            await asyncio.sleep(self.seconds)
        finally:
            Holding.running -= 1
        return Out(value=self.mib)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, memory_budget_bytes=25 * MIB)


@pytest.fixture
def executor(settings: Settings) -> Iterator[GraphExecutor]:
    Holding.running = Holding.most_running = Holding.most_reserved = Holding.calls = 0
    with GraphExecutor(settings=settings, store=MemoryResultStore(), max_concurrency=8) as executor:
        Holding.budget = executor.memory
        yield executor
    Holding.budget = None


# -- the budget alone -----------------------------------------------------------------------------


async def test_reserve_and_release_account_bytes_and_refuse_what_never_fits() -> None:
    budget = MemoryBudget(100)
    assert budget.try_reserve(60)
    assert not budget.try_reserve(41)
    assert budget.try_reserve(40)
    assert budget.reserved == 100
    budget.release(60)
    assert budget.reserved == 40
    budget.refuse_if_never_fits(100, what="x")
    with pytest.raises(PixelmillError) as caught:
        budget.refuse_if_never_fits(101, what="Node 'n' (image.style)")
    assert caught.value.code == "MEMORY_BUDGET_EXCEEDED"
    assert caught.value.extra == {"estimated_bytes": 101, "memory_budget_bytes": 100}
    assert "memory_budget_bytes" in caught.value.message
    with pytest.raises(ValueError, match="can never fit"):
        await budget.reserve(101)


async def test_waiters_are_admitted_in_order_as_memory_is_released() -> None:
    budget = MemoryBudget(100)
    assert budget.try_reserve(80)
    admitted: list[str] = []

    async def take(name: str, amount: int) -> None:
        await budget.reserve(amount)
        admitted.append(name)

    big = asyncio.create_task(take("big", 90))
    await asyncio.sleep(0)
    small = asyncio.create_task(take("small", 20))
    await asyncio.sleep(0.01)
    # 20 bytes would fit now, but the big one waits ahead of it: no overtaking.
    assert (admitted, budget.waiting, budget.reserved) == ([], 2, 80)
    assert not budget.try_reserve(20)
    budget.release(80)
    await big
    await asyncio.sleep(0.01)
    assert (admitted, budget.reserved, budget.waiting) == (["big"], 90, 1)
    budget.release(90)
    await small
    assert (admitted, budget.reserved, budget.waiting) == (["big", "small"], 20, 0)


async def test_a_cancelled_wait_leaves_nothing_reserved_and_lets_the_next_in() -> None:
    budget = MemoryBudget(100)
    assert budget.try_reserve(50)
    blocked = asyncio.create_task(budget.reserve(90))
    after = asyncio.create_task(budget.reserve(40))
    await asyncio.sleep(0.01)
    assert budget.waiting == 2
    blocked.cancel()
    await asyncio.gather(blocked, return_exceptions=True)
    await asyncio.wait_for(after, 1)  # 50 + 40 fits once the 90 no longer waits ahead
    assert (budget.reserved, budget.waiting) == (90, 0)


async def test_random_contention_never_exceeds_the_budget_and_returns_to_zero() -> None:
    budget = MemoryBudget(1000)
    rng = random.Random(7)
    highest = 0

    async def worker(amount: int, hold: float) -> None:
        nonlocal highest
        async with budget.held(amount):
            highest = max(highest, budget.reserved)
            assert budget.reserved <= budget.limit
            await asyncio.sleep(hold)

    await asyncio.gather(*(worker(rng.randint(1, 1000), rng.random() / 200) for _ in range(200)))
    assert 0 < highest <= 1000
    assert (budget.reserved, budget.waiting) == (0, 0)


def test_the_default_budget_is_a_share_of_this_machine(tmp_path: Path) -> None:
    machine = physical_memory_bytes()
    assert machine is not None
    assert machine > 256 * MIB
    assert budget_bytes(Settings(data_dir=tmp_path)) == int(machine * 0.5)
    assert budget_bytes(Settings(data_dir=tmp_path, memory_budget_fraction=0.25)) == int(machine * 0.25)
    assert budget_bytes(Settings(data_dir=tmp_path, memory_budget_bytes=123)) == 123


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition never held")


# -- the executor ---------------------------------------------------------------------------------


def hold_graph(settings: Settings, *mibs: int, seconds: float = 0.05) -> ValidatedGraph:
    nodes = [
        {"id": f"h{i}", "type": "mem.hold", "inputs": {"mib": mib, "seconds": seconds}} for i, mib in enumerate(mibs)
    ]
    return validate_graph({"nodes": nodes, "edges": []}, registry, settings)


async def test_parallel_branches_start_only_as_memory_allows(executor: GraphExecutor, settings: Settings) -> None:
    events: list[NodeEvent] = []

    async def listen(event: NodeEvent) -> None:
        events.append(event)

    graph = hold_graph(settings, 20, 20, 20, 5)
    result = await executor.execute(graph, RunScope("run_1", "ws_1"), listener=listen)
    assert result.status == "completed"
    assert Holding.calls == 4
    assert Holding.most_reserved <= 25 * MIB
    # 20 + 20 never fit 25 MiB: the 20 MiB nodes ran one after another; the 5 MiB one beside one of them.
    assert Holding.most_running == 2
    order = [(event.kind, event.node_id) for event in events if event.kind in ("node_start", "node_complete")]
    big = [step for step in order if step[1] != "h3"]
    assert big == [(kind, f"h{i}") for i in range(3) for kind in ("node_start", "node_complete")]
    assert executor.memory.reserved == 0


async def test_two_runs_share_one_budget(executor: GraphExecutor, settings: Settings) -> None:
    first = executor.execute(hold_graph(settings, 20), RunScope("run_1", "ws_1"))
    second = executor.execute(hold_graph(settings, 20), RunScope("run_2", "ws_2"))
    results = await asyncio.gather(first, second)
    assert [result.status for result in results] == ["completed", "completed"]
    assert Holding.most_running == 1
    assert Holding.most_reserved == 20 * MIB


async def test_a_node_over_the_whole_budget_fails_at_once_and_costs_nothing(
    executor: GraphExecutor, settings: Settings
) -> None:
    result = await executor.execute(hold_graph(settings, 26), RunScope("run_1", "ws_1"))
    assert result.status == "failed"
    assert Holding.calls == 0
    assert result.total_cost == 0
    error = result.errors[0]
    assert error["code"] == "MEMORY_BUDGET_EXCEEDED"
    assert (error["memory_budget_bytes"], error["estimated_bytes"], error["node_id"]) == (25 * MIB, 26 * MIB, "h0")


async def test_a_run_cancelled_while_its_node_waits_for_memory_never_starts_it(
    executor: GraphExecutor, settings: Settings
) -> None:
    holder = asyncio.create_task(executor.execute(hold_graph(settings, 20, seconds=1.0), RunScope("run_1", "ws_1")))
    await until(lambda: Holding.calls == 1)
    token = CancelToken()
    waiter = asyncio.create_task(executor.execute(hold_graph(settings, 20), RunScope("run_2", "ws_2"), cancel=token))
    await until(lambda: executor.memory.waiting == 1)
    token.cancel()
    cancelled = await asyncio.wait_for(waiter, 2)
    assert cancelled.status == "cancelled"
    assert cancelled.nodes["h0"].status == "skipped"
    assert executor.memory.waiting == 0
    assert (await holder).status == "completed"
    assert Holding.calls == 1
    assert executor.memory.reserved == 0
