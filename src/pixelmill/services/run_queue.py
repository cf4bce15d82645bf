"""The queue's order: priority first, then round-robin across workspaces, then oldest first.

One rule serves both the dispatcher (which runs to claim next) and ``queue_position`` (how many
runs will be claimed before a given one), so the position a client reads is the order the
dispatcher follows:

- a run of higher priority is always claimed before one of lower priority;
- among workspaces whose best queued runs share a priority, the workspace served least recently
  goes next (one that was never served first, then the one whose oldest run waited longest), so a
  burst of 200 runs from one tenant delays another tenant's run by at most one claim;
- inside a workspace, higher priority first, then oldest first.

``queue_position`` is exact for the queue as it stands when nothing new arrives, with two documented
approximations: a workspace at its concurrency limit is skipped by the dispatcher (so the runs
behind it may overtake its runs), and the round-robin memory lives in the process that dispatches,
so another process computes positions as if no workspace had been served yet.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from pixelmill.db.models import Run


@dataclass(frozen=True, slots=True)
class QueueGroup:
    """The queued runs of one workspace at one priority."""

    workspace_id: str
    priority: int
    count: int
    oldest: datetime


async def queue_groups(session: AsyncSession) -> list[QueueGroup]:
    """Every (workspace, priority) with queued runs: one grouped scan of the queue index."""
    rows = await session.execute(
        select(Run.workspace_id, Run.priority, func.count(), func.min(Run.created_at))
        .where(Run.status == "queued")
        .group_by(Run.workspace_id, Run.priority)
    )
    return [QueueGroup(ws, int(priority), int(count), oldest) for ws, priority, count, oldest in rows.all()]


def _turn(last_served: Mapping[str, float], workspace_id: str, oldest: datetime) -> tuple[float, float]:
    """Round-robin order among workspaces at one priority: least recently served, then oldest waiting."""
    return (last_served.get(workspace_id, -math.inf), oldest.timestamp())


def plan_claims(
    groups: Iterable[QueueGroup],
    *,
    slots: int,
    running: Mapping[str, int],
    limits: Mapping[str, int],
    last_served: Mapping[str, float],
) -> list[str]:
    """The workspaces to claim the next ``slots`` runs from, in claim order (a workspace may repeat).

    ``running`` counts each workspace's executing runs and ``limits`` its plan's concurrent runs; a
    workspace at its limit is skipped until one of its runs ends.
    """
    pending: dict[str, list[list[int]]] = {}  # workspace -> [[priority, count]] best first
    oldest: dict[str, datetime] = {}
    for group in groups:
        pending.setdefault(group.workspace_id, []).append([group.priority, group.count])
        seen = oldest.get(group.workspace_id)
        oldest[group.workspace_id] = group.oldest if seen is None else min(seen, group.oldest)
    for levels in pending.values():
        levels.sort(key=lambda level: -level[0])
    served = dict(last_served)
    busy = dict(running)
    order: list[str] = []
    tick = max(served.values(), default=0.0)
    while len(order) < slots:
        eligible = [ws for ws, levels in pending.items() if levels and busy.get(ws, 0) < limits.get(ws, 1)]
        if not eligible:
            break
        chosen = min(eligible, key=lambda ws: (-pending[ws][0][0], *_turn(served, ws, oldest[ws])))
        order.append(chosen)
        busy[chosen] = busy.get(chosen, 0) + 1
        tick += 1.0
        served[chosen] = tick
        top = pending[chosen][0]
        top[1] -= 1
        if top[1] == 0:
            pending[chosen].pop(0)
    return order


def position(run: Run, ahead_in_workspace: int, groups: Iterable[QueueGroup], last_served: Mapping[str, float]) -> int:
    """How many queued runs the dispatcher will claim before ``run`` (see the module docstring).

    ``ahead_in_workspace`` counts the run's own workspace's queued runs at the same priority that
    come before it.
    """
    groups = list(groups)
    own_oldest = min(
        (g.oldest for g in groups if g.workspace_id == run.workspace_id and g.priority == run.priority),
        default=run.created_at,
    )
    own_turn = _turn(last_served, run.workspace_id, own_oldest)
    total = ahead_in_workspace
    for group in groups:
        if group.priority > run.priority:
            total += group.count  # higher priority goes first, the run's own workspace included
        elif group.priority == run.priority and group.workspace_id != run.workspace_id:
            first = _turn(last_served, group.workspace_id, group.oldest) < own_turn
            total += min(group.count, ahead_in_workspace + (1 if first else 0))
    return total


async def ahead_in_workspace(session: AsyncSession, run: Run) -> int:
    """Queued runs of the run's workspace at its priority that were created before it."""
    count = await session.scalar(
        select(func.count()).where(
            Run.status == "queued",
            Run.workspace_id == run.workspace_id,
            Run.priority == run.priority,
            or_(Run.created_at < run.created_at, and_(Run.created_at == run.created_at, Run.id < run.id)),
        )
    )
    return int(count or 0)
