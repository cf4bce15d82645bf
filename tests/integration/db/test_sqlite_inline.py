"""SQLite statements run on the event loop's thread: waiting for the write lock must not block the loop,
a writer gets the lock once its holder commits, and one that never gets it fails after the deadline."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from pixelmill.db import session as db_session
from pixelmill.db.session import Database

pytestmark = pytest.mark.anyio


async def _database(path: Path) -> Database:
    db = Database(f"sqlite+aiosqlite:///{path}")
    async with db.session() as session:
        await session.execute(text("CREATE TABLE items (n INTEGER NOT NULL)"))
    return db


async def test_a_writer_waits_for_a_coroutine_holding_the_lock_without_blocking_the_loop(tmp_path: Path) -> None:
    db = await _database(tmp_path / "a.db")
    ticks = 0
    order: list[str] = []

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    async def holder(locked: asyncio.Event) -> None:
        async with db.session() as session:
            await session.execute(text("INSERT INTO items VALUES (1)"))  # takes the write lock
            locked.set()
            await asyncio.sleep(0.3)  # other coroutines run while the lock is held
            order.append("holder commits")

    async def waiter(locked: asyncio.Event) -> None:
        await locked.wait()
        async with db.session() as session:
            await session.execute(text("INSERT INTO items VALUES (2)"))
            order.append("waiter wrote")

    tick_task = asyncio.create_task(ticker())
    try:
        locked = asyncio.Event()
        await asyncio.wait_for(asyncio.gather(holder(locked), waiter(locked)), 10)
        # The loop kept running while the waiter waited (about 60 ticks in 0.3 s; a blocked loop: none).
        assert ticks > 20
    finally:
        tick_task.cancel()
    assert order == ["holder commits", "waiter wrote"]
    async with db.sessions() as session:
        assert list(await session.scalars(text("SELECT n FROM items ORDER BY n"))) == [1, 2]
    await db.dispose()


async def test_a_writer_that_never_gets_the_lock_fails_after_the_deadline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "b.db"
    db = await _database(path)
    await db.dispose()
    monkeypatch.setattr(db_session, "SQLITE_BUSY_SECONDS", 0.3)
    db = Database(f"sqlite+aiosqlite:///{path}")
    other = sqlite3.connect(path, isolation_level=None)  # another process's connection, in effect
    other.execute("BEGIN IMMEDIATE")  # holds the write lock and never lets go
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(OperationalError, match="locked"):
            async with db.session() as session:
                await session.execute(text("INSERT INTO items VALUES (3)"))
        assert 0.25 <= loop.time() - started < 5
        # Reads are not held up by the writer (WAL).
        async with db.sessions() as session:
            assert await session.scalar(text("SELECT count(*) FROM items")) == 0
    finally:
        other.execute("ROLLBACK")
        other.close()
    async with db.session() as session:  # the lock is free again: the same pool writes fine
        await session.execute(text("INSERT INTO items VALUES (4)"))
    await db.dispose()
