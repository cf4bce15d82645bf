"""Helpers for run tests: graphs of test nodes, credits straight through the ledger, waiting on runs."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from sqlalchemy import func, select

from pixelmill.db.models import LedgerEntry, NodeExecution, Run
from pixelmill.db.session import Database
from pixelmill.services.credits import CreditLedger, WalletView

T = TypeVar("T")

TERMINAL = {"completed", "failed", "cancelled"}


def node(node_id: str, type_: str, **inputs: Any) -> dict[str, Any]:
    return {"id": node_id, "type": type_, "inputs": inputs}


def edge(source: str, destination: str, field: str = "value", source_field: str = "value") -> dict[str, Any]:
    return {
        "source": {"node_id": source, "field": source_field},
        "destination": {"node_id": destination, "field": field},
    }


def chain(*nodes: dict[str, Any]) -> dict[str, Any]:
    """Nodes in a line, each one's ``value`` feeding the next one's ``value``."""
    edges = [edge(a["id"], b["id"]) for a, b in itertools.pairwise(nodes)]
    return {"nodes": list(nodes), "edges": edges}


def with_db(database_url: str, work: Callable[[Database], Awaitable[T]]) -> T:
    """Run ``work`` against the database on a loop of its own (the server has its own loop and pool)."""

    async def run() -> T:
        db = Database(database_url)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(run())


def grant(database_url: str, workspace_id: str, amount: int) -> None:
    async def work(db: Database) -> None:
        async with db.session() as session:
            await CreditLedger(session).grant(workspace_id, amount, "test grant")

    with_db(database_url, work)


@dataclass(frozen=True)
class Books:
    """A workspace's wallet, the wallet recomputed from the ledger, and the ledger's sums by kind."""

    wallet: WalletView
    audit: WalletView
    sums: dict[str, int]


def books(database_url: str, workspace_id: str) -> Books:
    async def work(db: Database) -> Books:
        async with db.session() as session:
            ledger = CreditLedger(session)
            rows = await session.execute(
                select(LedgerEntry.kind, func.sum(LedgerEntry.amount))
                .where(LedgerEntry.workspace_id == workspace_id)
                .group_by(LedgerEntry.kind)
            )
            sums = {kind: int(total) for kind, total in rows.all()}
            return Books(await ledger.wallet(workspace_id), await ledger.audit(workspace_id), sums)

    return with_db(database_url, work)


def run_entries(database_url: str, run_id: str) -> list[tuple[str, int]]:
    async def work(db: Database) -> list[tuple[str, int]]:
        async with db.session() as session:
            rows = await session.execute(
                select(LedgerEntry.kind, LedgerEntry.amount)
                .where(LedgerEntry.run_id == run_id)
                .order_by(LedgerEntry.id)
            )
            return [(kind, int(amount)) for kind, amount in rows.all()]

    return with_db(database_url, work)


def executions(database_url: str, run_id: str) -> dict[str, NodeExecution]:
    async def work(db: Database) -> dict[str, NodeExecution]:
        async with db.session() as session:
            rows = await session.scalars(select(NodeExecution).where(NodeExecution.run_id == run_id))
            return {row.node_id: row for row in rows}

    return with_db(database_url, work)


def run_row(database_url: str, run_id: str) -> Run:
    async def work(db: Database) -> Run:
        async with db.session() as session:
            row = await session.get(Run, run_id)
            assert row is not None
            return row

    return with_db(database_url, work)


def wait_for(
    api: httpx.Client, headers: dict[str, str], run_id: str, *, until: set[str], timeout: float = 20
) -> dict[str, Any]:
    """Poll the run until its status is in ``until``; return the last view."""
    deadline = time.monotonic() + timeout
    while True:
        response = api.get(f"/v1/runs/{run_id}", headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] in until:
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"run {run_id} stayed {body['status']}: {body}")
        time.sleep(0.02)


def wait_node(
    api: httpx.Client, headers: dict[str, str], run_id: str, node_id: str, status: str, timeout: float = 20
) -> dict[str, Any]:
    """Poll the run until ``node_id`` has ``status``; return the run view."""
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = api.get(f"/v1/runs/{run_id}", headers=headers).json()
        nodes = {item["node_id"]: item for item in body["nodes"]}
        if nodes[node_id]["status"] == status:
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"node {node_id} of {run_id} never became {status}: {body}")
        time.sleep(0.02)
