"""Recovery: runs left ``running`` by a process that died go back to the queue.

Their finished nodes are persisted (``node_executions``), so the next claim resumes after them and
nothing that finished runs twice; the credit hold stays in place until the run's one terminal
transition settles it.

- On start-up with the embedded database (SQLite), one process owns the data directory, so every
  ``running`` run belongs to a process that is gone: all of them are re-queued at once.
- With a shared database (PostgreSQL, several processes), only runs whose lease expired are
  re-queued — their owner stopped heartbeating — on start-up and by the periodic sweep.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import or_, update

from pixelmill.db.base import utcnow
from pixelmill.db.models import Run
from pixelmill.db.session import Database
from pixelmill.services.run_lifecycle import RunHook, RunTransition, run_hooks

log = logging.getLogger("pixelmill.dispatch")


async def requeue_abandoned(db: Database, *, owner: str, all_foreign: bool, hooks: Sequence[RunHook] = ()) -> list[str]:
    """Re-queue runs whose lease expired (and, with ``all_foreign``, every run not owned by ``owner``)."""
    abandoned = [Run.lease_expires_at.is_(None), Run.lease_expires_at < utcnow()]
    if all_foreign:
        abandoned += [Run.lease_owner.is_(None), Run.lease_owner != owner]
    async with db.session() as session:
        moved = list(
            await session.scalars(
                update(Run)
                .where(Run.status == "running", or_(*abandoned))
                .values(status="queued", lease_owner=None, lease_expires_at=None)
                .returning(Run)
                .execution_options(populate_existing=True)
            )
        )
        for run in moved:
            await run_hooks(session, hooks, RunTransition(run=run, previous="running", status="queued"))
    if moved:
        log.warning(
            "re-queued %d run(s) abandoned by a stopped process", len(moved), extra={"runs": [r.id for r in moved]}
        )
    return [run.id for run in moved]
