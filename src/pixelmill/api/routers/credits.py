"""Credits: the wallet, its ledger, and the packages on sale (ImagineLab's /credits routes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from pixelmill.api.deps import PrincipalDep, SessionDep, SettingsDep
from pixelmill.config import CreditPackage
from pixelmill.services.credits import CreditLedger
from pixelmill.services.paging import split_page
from pixelmill.wire import IsoDateTime

router = APIRouter(prefix="/v1/credits", tags=["credits"])


class WalletPublic(BaseModel):
    workspace_id: str
    balance: int
    reserved: int
    available: int


class LedgerEntryPublic(BaseModel):
    id: int
    kind: str
    amount: int
    run_id: str | None
    note: str
    created_at: datetime


class LedgerPage(BaseModel):
    data: list[LedgerEntryPublic]
    next_cursor: str | None


@router.get("/wallet", operation_id="get_wallet")
async def get_wallet(principal: PrincipalDep, session: SessionDep) -> WalletPublic:
    """Balance (granted minus spent), reserved (held for unfinished runs) and available."""
    wallet = await CreditLedger(session).wallet(principal.workspace_id)
    return WalletPublic(
        workspace_id=principal.workspace_id,
        balance=wallet.balance,
        reserved=wallet.reserved,
        available=wallet.available,
    )


@router.get("/ledger", operation_id="list_ledger")
async def list_ledger(
    principal: PrincipalDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(pattern=r"^\d+$", description="next_cursor of the previous page")] = None,
) -> LedgerPage:
    """Every credit movement, newest first."""
    entries = await CreditLedger(session).entries(
        principal.workspace_id, before_id=int(cursor) if cursor else None, limit=limit + 1
    )
    page, next_cursor = split_page(entries, limit)
    return LedgerPage(
        data=[
            LedgerEntryPublic(
                id=e.id, kind=e.kind, amount=e.amount, run_id=e.run_id, note=e.note, created_at=e.created_at
            )
            for e in page
        ],
        next_cursor=next_cursor,
    )


class UsageBucketPublic(BaseModel):
    key: str = Field(description="The UTC day (YYYY-MM-DD) or the model id the bucket sums")
    credits: int = Field(description="Credits captured: what ran and was paid for")
    runs: int = Field(description="Distinct runs that spent credits in this bucket")


class UsageReport(BaseModel):
    group_by: Literal["day", "model"]
    since: datetime
    total: int
    data: list[UsageBucketPublic]


USAGE_WINDOW = timedelta(days=30)


@router.get("/usage", operation_id="get_credit_usage")
async def get_usage(
    principal: PrincipalDep,
    session: SessionDep,
    group_by: Annotated[Literal["day", "model"], Query(description="Sum per UTC day or per model")] = "day",
    since: Annotated[
        IsoDateTime | None,
        Query(description="Start of the window (ISO 8601; UTC when no offset); default 30 days ago"),
    ] = None,
) -> UsageReport:
    """Credits spent, by day (oldest first) or by model (largest first), from the ledger's captures."""
    start = since or datetime.now(UTC) - USAGE_WINDOW
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    buckets = await CreditLedger(session).usage(principal.workspace_id, group_by, start)
    return UsageReport(
        group_by=group_by,
        since=start.astimezone(UTC),
        total=sum(b.credits for b in buckets),
        data=[UsageBucketPublic(key=b.key, credits=b.credits, runs=b.runs) for b in buckets],
    )


@router.get("/packages", operation_id="list_credit_packages")
async def list_packages(_principal: PrincipalDep, settings: SettingsDep) -> list[CreditPackage]:
    """Credit packages configured by the operator."""
    return settings.credit_packages
