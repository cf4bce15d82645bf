"""Per-node overhead of the executor: a chain of 1,000 add nodes, without and with persistence.

The nodes are ``bench.add``: math.add with the node cache on (math.add itself is ``trivial`` and
never cached), so the cache's cost per node stays part of what is measured.

    .venv/bin/python benchmarks/engine_overhead.py [--nodes 1000] [--repeat 3]

Figures (best of ``--repeat``, microseconds per node):
- bare: validating the node's inputs and awaiting its ``run`` directly, the work any executor does;
- memory: the executor with the in-memory result store (scheduling, hashing, cache lookups, events);
- sqlite: the executor persisting every node into a migrated SQLite file (one read for the cache,
  one committed transaction for the result and the cache entry per node);
- sqlite, cached: the same graph again in a new run, every node a cache hit.
The ratio sqlite / memory is the price of durability per node.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, ClassVar

import pixelmill.nodes  # noqa: F401 - registers math.add
from pixelmill.config import Settings
from pixelmill.db.migrate import upgrade
from pixelmill.db.models import Run, Workspace
from pixelmill.db.session import Database
from pixelmill.engine.executor import GraphExecutor
from pixelmill.engine.node import NodeRegistry, node
from pixelmill.engine.results import ResultStore
from pixelmill.engine.results_memory import MemoryResultStore
from pixelmill.engine.results_sql import SqlResultStore
from pixelmill.engine.run_context import RunScope
from pixelmill.engine.validation import ValidatedGraph, validate_graph
from pixelmill.ids import new_id
from pixelmill.nodes.core import MathAdd

REGISTRY = NodeRegistry()


@node("bench.add", version="1.0.0", category="math", registry=REGISTRY)
class CachedAdd(MathAdd):
    """math.add, cached like any deterministic node."""

    trivial: ClassVar[bool] = False


def chain(length: int, start: float) -> dict[str, Any]:
    """n0 = start + 1; n(i) = n(i-1) + 1. ``start`` varies per measurement so no run reuses the cache."""
    nodes = [{"id": "n0", "type": "bench.add", "inputs": {"a": start, "b": 1}}]
    edges = []
    for index in range(1, length):
        nodes.append({"id": f"n{index}", "type": "bench.add", "inputs": {"b": 1}})
        edges.append(
            {
                "source": {"node_id": f"n{index - 1}", "field": "value"},
                "destination": {"node_id": f"n{index}", "field": "a"},
            }
        )
    return {"nodes": nodes, "edges": edges}


async def best_of(repeat: int, measure: Callable[[int], Awaitable[float]]) -> float:
    return min([await measure(attempt) for attempt in range(repeat)])


async def bare(length: int) -> float:
    """Validate and run ``length`` MathAdd nodes back to back, with no executor around them."""
    value = 0.0
    started = time.perf_counter()
    for _ in range(length):
        node = MathAdd.model_validate({"a": value, "b": 1})
        value = (await node.run(None)).value  # type: ignore[arg-type]  # math.add never touches its context
    return time.perf_counter() - started


async def timed_execute(executor: GraphExecutor, graph: ValidatedGraph, scope: RunScope, length: int) -> float:
    started = time.perf_counter()
    result = await executor.execute(graph, scope)
    elapsed = time.perf_counter() - started
    if result.status != "completed" or len(result.nodes) != length:
        raise SystemExit(f"the chain did not complete: {result.status} {result.errors[:1]}")
    return elapsed


async def new_run(db: Database, workspace_id: str, graph: ValidatedGraph) -> RunScope:
    run_id = new_id("run")
    async with db.session() as session:
        session.add(Run(id=run_id, workspace_id=workspace_id, status="running", graph=graph.graph.model_dump()))
    return RunScope(run_id, workspace_id)


async def main(length: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory(prefix="pixelmill-bench-") as directory:
        url = f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}"
        upgrade(url)
        settings = Settings(
            data_dir=Path(directory),
            database_url=url,
            max_graph_nodes=length,
            max_graph_edges=length,
            max_graph_payload_bytes=64 * 1024 * 1024,
        )
        started = time.perf_counter()
        validate_graph(chain(length, 0), REGISTRY, settings)
        validation = time.perf_counter() - started
        graphs = [validate_graph(chain(length, attempt), REGISTRY, settings) for attempt in range(repeat)]

        bare_time = await best_of(repeat, lambda attempt: bare(length))

        memory_store: ResultStore = MemoryResultStore()
        with GraphExecutor(settings=settings, store=memory_store) as executor:

            async def in_memory(attempt: int) -> float:
                return await timed_execute(executor, graphs[attempt], RunScope(new_id("run"), "ws_bench"), length)

            memory_time = await best_of(repeat, in_memory)

        db = Database(url)
        workspace_id = new_id("ws")
        async with db.session() as session:
            session.add(Workspace(id=workspace_id, name="bench", kind="team", plan="operator"))
        with GraphExecutor(settings=settings, store=SqlResultStore(db)) as executor:

            async def persisted(attempt: int) -> float:
                scope = await new_run(db, workspace_id, graphs[attempt])
                return await timed_execute(executor, graphs[attempt], scope, length)

            async def persisted_cached(attempt: int) -> float:
                scope = await new_run(db, workspace_id, graphs[attempt])  # graphs[attempt] ran above: all hits
                return await timed_execute(executor, graphs[attempt], scope, length)

            sqlite_time = await best_of(repeat, persisted)
            cached_time = await best_of(repeat, persisted_cached)
        await db.dispose()

    def per_node(seconds: float) -> float:
        return seconds / length * 1e6

    print(f"chain of {length} bench.add nodes (math.add, cached), best of {repeat}")
    print(f"  validation             {per_node(validation):9.1f} us/node")
    print(f"  bare node call         {per_node(bare_time):9.1f} us/node")
    print(f"  executor, in memory    {per_node(memory_time):9.1f} us/node")
    print(f"  executor, SQLite       {per_node(sqlite_time):9.1f} us/node")
    print(f"  executor, SQLite hits  {per_node(cached_time):9.1f} us/node  (every node a cache hit)")
    print(f"  overhead in memory     {per_node(memory_time - bare_time):9.1f} us/node over the bare call")
    print(f"  overhead with SQLite   {per_node(sqlite_time - bare_time):9.1f} us/node over the bare call")
    print(f"  ratio SQLite / memory  {sqlite_time / memory_time:9.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.nodes, arguments.repeat))
