"""Status transitions of a run, each a compare-and-set, and what travels with the terminal one.

A run moves ``queued -> running -> completed | failed | cancelled`` (and ``running -> queued`` when
a dispatcher hands it back). Every move is ``UPDATE runs … WHERE id = :id AND status = :expected``
(plus the claim's attempt number where a dispatcher finishes its own claim), so of two actors racing
for the same move exactly one wins and the other sees that it lost.

The terminal move, the ledger settlement and the hooks run in ONE transaction: the caller's
session, committed by the caller. Hooks are the seam for the effects that must be exactly-once with
the transition (run events and webhook outbox rows): a hook is called inside the transaction of
every transition it is registered for and may write rows; if it raises, the transition rolls back.
Several transitions committed together (a batch claim) go to a hook with a ``many`` method in one
call, so their rows are written with one statement rather than one per run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from sqlalchemy import JSON, Integer, String, Table, and_, bindparam, case, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from pixelmill.db.base import utcnow
from pixelmill.db.models import Run
from pixelmill.services.credits import CreditLedger

if TYPE_CHECKING:
    from pixelmill.events.log import NewEvent

RunStatus = Literal["queued", "running", "completed", "failed", "cancelled"]
TerminalStatus = Literal["completed", "failed", "cancelled"]
TERMINAL_STATUSES: frozenset[str] = frozenset({"completed", "failed", "cancelled"})
ACTIVE_STATUSES: frozenset[str] = frozenset({"queued", "running"})


_RUNS: Table = Run.__table__  # type: ignore[assignment]
# None binds as SQL NULL, not the JSON text 'null', so "error IS NULL" holds for a run without one.
_JSON_OR_NULL = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def _finish_statement(*, fenced: bool) -> Any:
    """The terminal compare-and-set, built once (it runs for every run): ``fenced`` adds the claim's
    attempt to the condition. The charge is clamped to the hold in the same statement (test runs
    hold nothing and pay nothing; a run charged only on success pays nothing unless it completed)."""
    conditions = [Run.id == bindparam("run_id"), Run.status == bindparam("expected")]
    if fenced:
        conditions.append(Run.attempt == bindparam("claimed_attempt"))
    requested = bindparam("requested", type_=Integer)
    return (
        update(Run)
        .where(*conditions)
        .values(
            status=bindparam("new_status"),
            completed_at=bindparam("now", type_=_RUNS.c.completed_at.type),
            error=bindparam("new_error", type_=_JSON_OR_NULL),
            outputs=bindparam("new_outputs", type_=_JSON_OR_NULL),
            lease_owner=None,
            lease_expires_at=None,
            credits_used=case(
                (Run.test_mode, 0),
                (and_(Run.charge_only_on_success, bindparam("new_status", type_=String) != "completed"), 0),
                (Run.credits_reserved < requested, Run.credits_reserved),
                else_=requested,
            ),
        )
        .returning(Run)
        # RETURNING refreshes the run in this session's identity map (populate_existing), so the
        # ORM's own synchronisation pass (evaluating the criteria in Python first) is not needed.
        .execution_options(populate_existing=True, synchronize_session=False)
    )


_FINISH = _finish_statement(fenced=False)
_FINISH_FENCED = _finish_statement(fenced=True)


@dataclass(frozen=True, slots=True)
class RunTransition:
    """One committed-together move of a run. ``run`` is the row as it is after the move."""

    run: Run
    previous: RunStatus | None  # None when the run was just created
    status: RunStatus
    credits_captured: int = 0
    credits_released: int = 0
    # Events of the run that happened before the move and are not written yet (node events still
    # buffered when a run ends); the event hook writes them ahead of the transition's own event.
    earlier_events: Sequence[NewEvent] = ()


class RunHook(Protocol):
    """Called inside the transaction of a transition; whatever it writes commits with the transition."""

    async def __call__(self, session: AsyncSession, transition: RunTransition, /) -> None: ...


async def run_hooks(session: AsyncSession, hooks: Sequence[RunHook], transition: RunTransition) -> None:
    await run_hooks_many(session, hooks, [transition])


async def run_hooks_many(session: AsyncSession, hooks: Sequence[RunHook], transitions: Sequence[RunTransition]) -> None:
    """The hooks of several transitions committed together: one call of a hook's ``many`` method where
    it has one, else one call per transition, in order."""
    if not transitions:
        return
    for hook in hooks:
        many = getattr(hook, "many", None)
        if many is not None:
            await many(session, transitions)
        else:
            for transition in transitions:
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
    earlier_events: Sequence[NewEvent] = (),
) -> RunTransition | None:
    """Move the run from ``expected`` to terminal ``status`` and settle its hold; None if someone else
    moved it first. ``attempt`` fences a dispatcher to its own claim (a run taken over after its lease
    expired cannot be finished by the process that lost it). ``credits_used`` is clamped to the hold.
    ``earlier_events`` ride on the transition to its hooks (see :class:`RunTransition`)."""
    params: dict[str, Any] = {
        "run_id": run_id,
        "expected": expected,
        "new_status": status,
        "now": now or utcnow(),
        "new_error": error,
        "new_outputs": outputs,
        "requested": max(0, credits_used),
    }
    if attempt is not None:
        params["claimed_attempt"] = attempt
    # The compare-and-set is the transaction's first statement: on SQLite it takes the write lock
    # before anything is read, so the settlement below sees the row exactly as it was moved.
    moved: Run | None = await session.scalar(_FINISH if attempt is None else _FINISH_FENCED, params)
    if moved is None:
        return None
    held = 0 if moved.test_mode else moved.credits_reserved
    used = moved.credits_used
    if held > 0:
        await CreditLedger(session).settle(moved.workspace_id, run_id, held=held, used=used)
    transition = RunTransition(
        run=moved,
        previous=expected,
        status=status,
        credits_captured=used,
        credits_released=held - used,
        earlier_events=earlier_events,
    )
    await run_hooks(session, hooks, transition)
    return transition
