"""``Database.reads``: sessions for statements that need no transaction around them. On PostgreSQL
they run in autocommit (no BEGIN/ROLLBACK round trips), and the pooled connection they used goes
back to transactional use; writes through ``Database.session`` stay atomic."""

from __future__ import annotations

from pathlib import Path

import pytest
from psycopg import pq
from sqlalchemy import func, select, text

from pixelmill.db.models import Workspace
from pixelmill.db.session import Database

pytestmark = pytest.mark.anyio


async def _transaction_status(session: object) -> pq.TransactionStatus:
    connection = await session.connection()  # type: ignore[attr-defined]
    raw = await connection.get_raw_connection()
    status: pq.TransactionStatus = raw.driver_connection.info.transaction_status
    return status


@pytest.mark.postgres
async def test_reads_run_outside_a_transaction_and_leave_the_pool_transactional(
    postgres_template: object,
) -> None:
    db = Database(postgres_template.fresh())  # type: ignore[attr-defined]
    try:
        async with db.reads() as session:
            assert await session.scalar(select(func.count()).select_from(Workspace)) == 0
            assert await _transaction_status(session) == pq.TransactionStatus.IDLE
        async with db.session() as session:
            await session.execute(text("SELECT 1"))
            assert await _transaction_status(session) == pq.TransactionStatus.INTRANS
            session.add(Workspace(id="ws_a", name="a", kind="team", plan="free"))
            await session.flush()
            await session.rollback()  # a transaction: the insert is gone
        async with db.reads() as session:
            assert await session.scalar(select(func.count()).select_from(Workspace)) == 0
    finally:
        await db.dispose()


async def test_reads_is_the_plain_session_factory_on_sqlite(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'r.db'}")
    try:
        assert db.reads is db.sessions
    finally:
        await db.dispose()
