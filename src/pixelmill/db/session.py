"""Async engine and sessions for SQLite (WAL, the embedded default) and PostgreSQL.

SQLite statements run on the event loop's own thread (:class:`InlineSqliteConnection`), not on a
thread per connection as ``aiosqlite`` does: a statement of this application takes tens of
microseconds, while each hand-off to a worker thread and back costs more than that in CPU, three or
four hand-offs per statement (cursor, execute, fetch, close). Nothing may block the loop, so the
connections have no busy timeout: a statement that finds another connection holding the write lock
gets SQLITE_BUSY at once, and the connection retries it after an ``asyncio.sleep``, letting the
holder (often a coroutine of this very loop) finish. That retry is safe because of when a
transaction takes the lock: pysqlite opens a transaction only at its first data-changing statement
(reads before it run outside one), so a statement that fails with SQLITE_BUSY either ran outside a
transaction or was the one that opened it, and nothing of the transaction exists yet; the empty
transaction is rolled back and the statement run again.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

T = TypeVar("T")

# How long a statement keeps retrying while another connection holds the write lock.
SQLITE_BUSY_SECONDS = 10.0
# Connections kept open: enough for a loaded server's concurrent requests, runs and deliveries.
SQLITE_POOL_SIZE = 32
_BUSY_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the single writer; NORMAL sync is durable across process
    # crashes (not power loss), which is the embedded trade-off MEASURED.md plans with.
    # busy_timeout=0: waiting for the write lock happens in InlineSqliteConnection, off the loop.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=0")
    cursor.close()


def _is_busy(error: sqlite3.OperationalError) -> bool:
    return getattr(error, "sqlite_errorcode", None) in _BUSY_CODES or "database is locked" in str(error)


class _InlineCursor:
    """The cursor interface SQLAlchemy's aiosqlite adapter awaits, executed inline."""

    __slots__ = ("_connection", "_cursor")

    def __init__(self, connection: InlineSqliteConnection) -> None:
        self._connection = connection
        self._cursor = connection._conn.cursor()

    async def __aenter__(self) -> _InlineCursor:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Any = ()) -> _InlineCursor:
        await self._connection._run(self._cursor.execute, sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> _InlineCursor:
        rows = list(parameters)  # a retry needs them again
        await self._connection._run(self._cursor.executemany, sql, rows)
        return self

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def close(self) -> None:
        self._cursor.close()

    async def nextset(self) -> None:
        return None

    async def setinputsizes(self, *sizes: Any) -> None:
        return None

    def __aiter__(self) -> _InlineCursor:
        return self

    async def __anext__(self) -> Any:
        row = self._cursor.fetchone()
        if row is None:
            raise StopAsyncIteration
        return row


class _Immediate:
    """Stands in for aiosqlite's request queue (SQLAlchemy sets the isolation level through it)."""

    @staticmethod
    def put_nowait(item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as exc:
            if future is None:
                raise
            future.set_exception(exc)
        else:
            if future is not None:
                future.set_result(result)


class InlineSqliteConnection:
    """A pysqlite connection behind the async interface of ``aiosqlite.Connection``, executing each
    call on the calling (event loop) thread. See the module docstring for the lock waiting."""

    _tx = _Immediate()

    def __init__(self, conn: sqlite3.Connection, busy_seconds: float) -> None:
        self._conn = conn
        self._connection: sqlite3.Connection | None = conn  # what the SQLAlchemy adapter checks
        self._busy_seconds = busy_seconds

    async def _run(self, function: Callable[..., T], *args: Any, repeatable: bool = False) -> T:
        opened = repeatable or not self._conn.in_transaction
        delay = 0.0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._busy_seconds
        while True:
            try:
                return function(*args)
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or loop.time() >= deadline:
                    raise
                if self._conn.in_transaction and not repeatable:
                    if not opened:
                        raise  # a transaction that already wrote cannot simply repeat a statement
                    self._conn.rollback()  # the empty transaction this statement opened
            await asyncio.sleep(delay)
            delay = min(0.02, delay * 2 or 0.0005)

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: Any) -> None:
        self._conn.isolation_level = value

    def cursor(self) -> _InlineCursor:
        return _InlineCursor(self)

    async def execute(self, sql: str, parameters: Any = ()) -> _InlineCursor:
        cursor = _InlineCursor(self)
        return await cursor.execute(sql, parameters)

    async def commit(self) -> None:
        await self._run(self._conn.commit, repeatable=True)  # SQLite documents COMMIT as retryable

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self._connection is not None:
            self._connection = None
            self._conn.close()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)


def _sqlite_creator(url: URL, engine_dialect: Any) -> Callable[[], Any]:
    """The ``async_creator`` of an SQLite engine: the dialect's own connect arguments for ``url``."""
    args: Sequence[Any]
    args, kwargs = engine_dialect.create_connect_args(url)
    kwargs = {**kwargs, "timeout": 0, "check_same_thread": False}
    kwargs.pop("factory", None)

    async def connect() -> InlineSqliteConnection:
        return InlineSqliteConnection(sqlite3.connect(*args, **kwargs), SQLITE_BUSY_SECONDS)

    return connect


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """An async engine for ``url``; creates the SQLite file's directory when needed."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        dialect = parsed.get_dialect()()
        # Connections are opened only when needed, but one opened beyond the pool is closed again
        # when returned: with the default 5 a busy server opened and closed connections (and re-ran
        # the pragmas) on most requests. Each request, run and delivery holds one at a time.
        engine = create_async_engine(
            url,
            echo=echo,
            async_creator=_sqlite_creator(parsed, dialect),
            pool_size=SQLITE_POOL_SIZE,
            max_overflow=SQLITE_POOL_SIZE,
        )
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
        return engine
    return create_async_engine(url, echo=echo, pool_size=10, max_overflow=20, pool_pre_ping=True)


class Database:
    """The process's engine and session factory. One per process, created by the app or CLI."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine = create_engine(url, echo=echo)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # For reads that need no transaction around them (each statement stands alone): on
        # PostgreSQL an autocommit session saves the BEGIN and ROLLBACK round trips around them, and
        # READ COMMITTED gives every statement its own snapshot either way. Nothing may be written
        # through it. SQLite opens no transaction for reads, so there it is the plain factory.
        self.reads = (
            self.sessions
            if self.is_sqlite
            else async_sessionmaker(self.engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False)
        )

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session that commits on success and rolls back on error."""
        async with self.sessions() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def dispose(self) -> None:
        await self.engine.dispose()
