"""Integer aliases on real SQLite and PostgreSQL: one number per target for good, even when two
requests make it at once; numbers of one kind never name another kind's target."""

from __future__ import annotations

import asyncio

import pytest

from pixelmill.runtime import Runtime
from pixelmill.services.numeric_ids import MAX_ALIAS, NumericIds

pytestmark = pytest.mark.anyio


async def test_an_alias_is_made_once_and_read_back(runtime: Runtime) -> None:
    async with runtime.db.session() as session:
        first = await NumericIds(session, "run").numbers(["run_a", "run_b", "run_a"])
    async with runtime.db.session() as session:
        again = await NumericIds(session, "run").numbers(["run_b", "run_a", "run_c"])
        assert await NumericIds(session, "run").target(again["run_c"]) == "run_c"
    assert set(first) == {"run_a", "run_b"}
    assert first["run_a"] != first["run_b"]
    assert (again["run_a"], again["run_b"]) == (first["run_a"], first["run_b"])
    assert again["run_c"] > max(first.values())


async def test_a_number_names_nothing_of_another_kind(runtime: Runtime) -> None:
    async with runtime.db.session() as session:
        run = await NumericIds(session, "run").number("run_a")
        user = await NumericIds(session, "user").number("run_a")  # the same target string, another kind
        assert run != user
        assert await NumericIds(session, "user").target(run) is None
        assert await NumericIds(session, "run").target(user) is None
        assert await NumericIds(session, "run").target(0) is None
        assert await NumericIds(session, "run").target(MAX_ALIAS + 1) is None
        assert await NumericIds(session, "run").numbers([]) == {}


async def test_two_requests_making_the_same_aliases_at_once_agree(runtime: Runtime) -> None:
    targets = [f"run_{n}" for n in range(20)]

    async def make(order: list[str]) -> dict[str, int]:
        async with runtime.db.session() as session:
            return await NumericIds(session, "run").numbers(order)

    for _ in range(3):
        first, second = await asyncio.gather(make(targets), make(targets[::-1]))
        assert first == second
        assert len(set(first.values())) == len(targets)
