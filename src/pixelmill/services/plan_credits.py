"""Monthly plan credits: each workspace receives its plan's ``monthly_credits`` once per calendar month.

A sweep finds workspaces without a grant for the current month (UTC) and grants them; the
``plan_grants`` primary key (workspace, month) makes each grant happen once even when several
API processes sweep at the same moment. The API runs the sweep at start-up and then every
``plan_credit_interval_seconds``.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from sqlalchemy import exists, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from pixelmill.config import Settings
from pixelmill.db.models import PlanGrant, Workspace
from pixelmill.db.session import Database
from pixelmill.services.credits import CreditLedger

log = logging.getLogger("pixelmill.credits")

_BATCH = 500


def period_of(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m")


class PlanCredits:
    """Grants due monthly plan credits inside the caller's transaction."""

    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings

    async def grant(self, workspace_id: str, plan_name: str, period: str) -> bool:
        """Grant ``period``'s credits to one workspace; False when it already had them."""
        amount = self.settings.plan(plan_name).monthly_credits
        insert = pg_insert if self.session.get_bind().dialect.name == "postgresql" else sqlite_insert
        claimed = await self.session.scalar(
            insert(PlanGrant)
            .values(workspace_id=workspace_id, period=period, plan=plan_name, amount=amount)
            .on_conflict_do_nothing()
            .returning(PlanGrant.workspace_id)
        )
        if claimed is None:  # another sweep granted this month first
            return False
        if amount > 0:
            await CreditLedger(self.session).grant(workspace_id, amount, f"{plan_name} plan credits for {period}")
        return True

    async def due(self, period: str, limit: int = _BATCH) -> list[tuple[str, str]]:
        """(workspace id, plan) of workspaces without a grant for ``period``."""
        granted = exists().where(PlanGrant.workspace_id == Workspace.id, PlanGrant.period == period)
        result = await self.session.execute(
            select(Workspace.id, Workspace.plan).where(~granted).order_by(Workspace.id).limit(limit)
        )
        return [(row[0], row[1]) for row in result]


async def grant_due_plan_credits(db: Database, settings: Settings, now: datetime | None = None) -> int:
    """Grant every due monthly grant, one batch per transaction; returns how many were granted."""
    period = period_of(now or datetime.now(UTC))
    granted = 0
    while True:
        async with db.session() as session:
            service = PlanCredits(session, settings)
            batch = await service.due(period)
            for workspace_id, plan in batch:
                granted += await service.grant(workspace_id, plan, period)
        if len(batch) < _BATCH:
            return granted


async def plan_credit_loop(db: Database, settings: Settings) -> None:
    """Sweep now and then every interval, until cancelled; a failed sweep is logged and retried."""
    while True:
        try:
            granted = await grant_due_plan_credits(db, settings)
            if granted:
                log.info("granted monthly plan credits", extra={"workspaces": granted})
        except Exception:
            log.exception("monthly plan credit sweep failed")
        await asyncio.sleep(settings.plan_credit_interval_seconds)
