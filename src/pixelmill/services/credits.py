"""The credit ledger: grants, holds for queued work, capture of what ran, release of the rest.

Invariant, per workspace: ``wallet.balance = Σgrant − Σcapture`` and
``wallet.reserved = Σhold − Σcapture − Σrelease``; available = balance − reserved never goes below
zero because a hold is one conditional UPDATE that only succeeds when enough is available.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from pixelmill import errors
from pixelmill.db.models import LedgerEntry, Run, Wallet
from pixelmill.errors import PixelmillError

EntryKind = Literal["grant", "hold", "capture", "release"]
UsageGrouping = Literal["day", "model"]
# A run with no model named in its metadata (a graph or workflow run) is counted under its kind.
_UNNAMED_MODEL = "({kind} run)"


@dataclass(frozen=True, slots=True)
class WalletView:
    balance: int
    reserved: int

    @property
    def available(self) -> int:
        return self.balance - self.reserved


@dataclass(frozen=True, slots=True)
class UsageBucket:
    key: str  # an ISO date (UTC) or a model id
    credits: int  # captured: what ran and was paid for
    runs: int  # distinct runs that captured credits in this bucket


class CreditLedger:
    """Every credit movement of a workspace goes through here, inside the caller's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def wallet(self, workspace_id: str) -> WalletView:
        row = await self.session.get(Wallet, workspace_id, populate_existing=True)
        return WalletView(row.balance, row.reserved) if row else WalletView(0, 0)

    async def grant(self, workspace_id: str, amount: int, note: str = "") -> None:
        """Add ``amount`` credits (a purchase, a plan's monthly grant, an operator's gift)."""
        if amount <= 0:
            raise PixelmillError(errors.VALIDATION_ERROR, "A grant must be positive", field="amount")
        await self._ensure_wallet(workspace_id)
        await self.session.execute(
            update(Wallet)
            .where(Wallet.workspace_id == workspace_id)
            .values(balance=Wallet.balance + amount, updated_at=datetime.now(UTC))
        )
        self._append(workspace_id, "grant", amount, None, note)

    async def hold(self, workspace_id: str, amount: int, run_id: str) -> None:
        """Reserve ``amount`` for a run; 402 INSUFFICIENT_CREDITS if short, naming the ``balance``
        (granted minus spent), what is ``available`` of it (less what unfinished runs hold) and the
        ``required`` amount."""
        if amount <= 0:
            return
        result = await self.session.execute(
            update(Wallet)
            .where(Wallet.workspace_id == workspace_id, Wallet.balance - Wallet.reserved >= amount)
            .values(reserved=Wallet.reserved + amount, updated_at=datetime.now(UTC))
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            current = await self.wallet(workspace_id)
            raise PixelmillError(
                errors.INSUFFICIENT_CREDITS,
                f"Insufficient credits: {current.available} available "
                f"(balance {current.balance}, {current.reserved} reserved), {amount} required",
                balance=current.balance,
                available=current.available,
                required=amount,
            )
        self._append(workspace_id, "hold", amount, run_id, "")

    async def settle(self, workspace_id: str, run_id: str, *, held: int, used: int) -> None:
        """Capture ``used`` of a run's hold and release the rest. Call once, in the terminal transition."""
        used = max(0, min(used, held))
        released = held - used
        if held <= 0:
            return
        await self.session.execute(
            update(Wallet)
            .where(Wallet.workspace_id == workspace_id)
            .values(balance=Wallet.balance - used, reserved=Wallet.reserved - held, updated_at=datetime.now(UTC))
        )
        if used:
            self._append(workspace_id, "capture", used, run_id, "")
        if released:
            self._append(workspace_id, "release", released, run_id, "")

    async def entries(self, workspace_id: str, *, before_id: int | None = None, limit: int = 50) -> list[LedgerEntry]:
        """Newest first; pass the last id seen as ``before_id`` for the next page."""
        query = select(LedgerEntry).where(LedgerEntry.workspace_id == workspace_id)
        if before_id is not None:
            query = query.where(LedgerEntry.id < before_id)
        result = await self.session.execute(query.order_by(LedgerEntry.id.desc()).limit(limit))
        return list(result.scalars())

    async def usage(self, workspace_id: str, group_by: UsageGrouping, since: datetime) -> list[UsageBucket]:
        """Credits spent since ``since``, summed per UTC day or per model, from the ledger's captures.

        Only captures count: a hold is not spending and a release undoes one. Grouping happens here
        rather than in SQL because the model lives in the run's JSON metadata, which SQLite and
        PostgreSQL extract differently; a workspace's captures in a window stay few enough to sum.
        """
        result = await self.session.execute(
            select(LedgerEntry.amount, LedgerEntry.created_at, LedgerEntry.run_id, Run.kind, Run.run_metadata)
            .outerjoin(Run, Run.id == LedgerEntry.run_id)
            .where(
                LedgerEntry.workspace_id == workspace_id,
                LedgerEntry.kind == "capture",
                LedgerEntry.created_at >= since,
            )
        )
        credits: dict[str, int] = defaultdict(int)
        runs: dict[str, set[str]] = defaultdict(set)
        for amount, created_at, run_id, kind, metadata in result.all():
            if group_by == "day":
                key = created_at.date().isoformat()
            else:
                named = (metadata or {}).get("model_name")
                key = str(named) if named else _UNNAMED_MODEL.format(kind=kind or "deleted")
            credits[key] += int(amount)
            if run_id:
                runs[key].add(run_id)
        order = sorted(credits) if group_by == "day" else sorted(credits, key=lambda k: (-credits[k], k))
        return [UsageBucket(key=k, credits=credits[k], runs=len(runs[k])) for k in order]

    async def audit(self, workspace_id: str) -> WalletView:
        """The wallet recomputed from the ledger alone; equal to ``wallet()`` unless something is wrong."""
        result = await self.session.execute(
            select(LedgerEntry.kind, func.coalesce(func.sum(LedgerEntry.amount), 0))
            .where(LedgerEntry.workspace_id == workspace_id)
            .group_by(LedgerEntry.kind)
        )
        sums = {kind: int(total) for kind, total in result.all()}
        grant, hold = sums.get("grant", 0), sums.get("hold", 0)
        capture, release = sums.get("capture", 0), sums.get("release", 0)
        return WalletView(balance=grant - capture, reserved=hold - capture - release)

    def _append(self, workspace_id: str, kind: EntryKind, amount: int, run_id: str | None, note: str) -> None:
        self.session.add(LedgerEntry(workspace_id=workspace_id, kind=kind, amount=amount, run_id=run_id, note=note))

    async def _ensure_wallet(self, workspace_id: str) -> None:
        dialect = self.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        await self.session.execute(
            insert(Wallet).values(workspace_id=workspace_id, balance=0, reserved=0).on_conflict_do_nothing()
        )
