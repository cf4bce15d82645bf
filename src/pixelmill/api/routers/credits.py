"""Credits: the wallet, its ledger, and the packages on sale (ImagineLab's /credits routes)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from pixelmill.api.deps import PrincipalDep, SessionDep, SettingsDep
from pixelmill.config import CreditPackage
from pixelmill.services.credits import CreditLedger

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
    page = entries[:limit]
    return LedgerPage(
        data=[
            LedgerEntryPublic(
                id=e.id, kind=e.kind, amount=e.amount, run_id=e.run_id, note=e.note, created_at=e.created_at
            )
            for e in page
        ],
        next_cursor=str(page[-1].id) if len(entries) > limit else None,
    )


@router.get("/packages", operation_id="list_credit_packages")
async def list_packages(_principal: PrincipalDep, settings: SettingsDep) -> list[CreditPackage]:
    """Credit packages configured by the operator."""
    return settings.credit_packages
