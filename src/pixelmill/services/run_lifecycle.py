"""Status transitions of a run, each a compare-and-set, and what travels with the terminal one.

A run moves ``queued -> running -> completed | failed | cancelled`` (and ``running -> queued`` when
a dispatcher hands it back). Every move is ``UPDATE runs … WHERE id = :id AND status = :expected``
(plus the claim's attempt number where a dispatcher finishes its own claim), so of two actors racing
for the same move exactly one wins and the other sees that it lost.

The terminal move, the ledger settlement and the hooks run in ONE transaction: the caller's
session, committed by the caller. Hooks are the seam for the effects that must be exactly-once with
the transition (run events and webhook outbox rows): a hook is called inside the transaction of
every transition it is registered for and may write rows; if it raises, the transition rolls back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from sqlalchemy import null, update
from sqlalchemy.ext.asyncio import AsyncSession

from pixelmill.db.base import utcnow
from pixelmill.db.models import Run
from pixelmill.services.credits import CreditLedger

RunStatus = Literal["queued", "running", "completed", "failed", "cancelled"]
TerminalStatus = Literal["completed", "failed", "cancelled"]
TERMINAL_STATUSES: frozenset[str] = frozenset({"completed", "failed", "cancelled"})
ACTIVE_STATUSES: frozenset[str] = frozenset({"queued", "running"})


@dataclass(frozen=True, slots=True)
class RunTransition:
    """One committed-together move of a run. ``run`` is the row as it is after the move."""

    run: Run
    previous: RunStatus | None  # None when the run was just created
    status: RunStatus
    credits_captured: int = 0
    credits_released: int = 0


class RunHook(Protocol):
    """Called inside the transaction of a transition; whatever it writes commits with the transition."""

    async def __call__(self, session: AsyncSession, transition: RunTransition, /) -> None: ...


async def run_hooks(session: AsyncSession, hooks: Sequence[RunHook], transition: RunTransition) -> None:
    for hook in hooks:
        await hook(session, transition)


async def finish(
    session: AsyncSession,
    run_id: str,
    *,
    expected: RunStatus,
    status: TerminalStatus,
    credits_used: int = 0,
    error: dict[str, Any] | None = None,
    outputs: dict[str, Any] | None = None,
    attempt: int | None = None,
    hooks: Sequence[RunHook] = (),
    now: datetime | None = None,
) -> RunTransition | None:
    """Move the run from ``expected`` to terminal ``status`` and settle its hold; None if someone else
    moved it first. ``attempt`` fences a dispatcher to its own claim (a run taken over after its lease
    expired cannot be finished by the process that lost it). ``credits_used`` is clamped to the hold."""
    now = now or utcnow()
    conditions = [Run.id == run_id, Run.status == expected]
    if attempt is not None:
        conditions.append(Run.attempt == attempt)
    # The compare-and-set is the transaction's first statement: on SQLite it takes the write lock
    # before anything is read, so the settlement below sees the row exactly as it was moved.
    moved = await session.scalar(
        update(Run)
        .where(*conditions)
        .values(
            status=status,
            completed_at=now,
            error=null() if error is None else error,
            outputs=null() if outputs is None else outputs,
            lease_owner=None,
            lease_expires_at=None,
        )
        .returning(Run)
        .execution_options(populate_existing=True)
    )
    if moved is None:
        return None
    held = 0 if moved.test_mode else moved.credits_reserved
    used = max(0, min(credits_used, held))
    if used != moved.credits_used:
        await session.execute(update(Run).where(Run.id == run_id).values(credits_used=used))
        moved.credits_used = used
    if held > 0:
        await CreditLedger(session).settle(moved.workspace_id, run_id, held=held, used=used)
    transition = RunTransition(
        run=moved, previous=expected, status=status, credits_captured=used, credits_released=held - used
    )
    await run_hooks(session, hooks, transition)
    return transition
