"""Credits: an append-only ledger per workspace, and the wallet row that sums it.

The wallet makes the hold check one conditional UPDATE (``… WHERE balance - reserved >= :amount``),
which is atomic on SQLite and PostgreSQL alike; the ledger is the audit trail the wallet must
always equal (``CreditLedger.audit``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from pixelmill.db.base import Base, utcnow


class Wallet(Base):
    __tablename__ = "wallets"

    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True)
    balance: Mapped[int] = mapped_column(BigInteger, default=0)  # granted minus captured
    reserved: Mapped[int] = mapped_column(BigInteger, default=0)  # held for runs not yet settled
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class LedgerEntry(Base):
    """One movement: grant (+balance), hold (+reserved), capture (-reserved, -balance), release (-reserved)."""

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)
    run_id: Mapped[str | None] = mapped_column(String(40), default=None, index=True)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


Index("ix_ledger_entries_workspace_id_id", LedgerEntry.workspace_id, LedgerEntry.id)


class PlanGrant(Base):
    """One plan's monthly credits granted to one workspace; the key makes the grant happen once."""

    __tablename__ = "plan_grants"

    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True)
    period: Mapped[str] = mapped_column(String(7), primary_key=True)  # "2026-11"
    plan: Mapped[str] = mapped_column(String(40))
    amount: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
