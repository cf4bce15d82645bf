"""Seed accounts straight through the services (the same code the API uses), for tests."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Literal

from pixelmill.db.session import Database
from pixelmill.services.accounts import AccountService
from pixelmill.services.keys import ApiKeyService


@dataclass(frozen=True)
class SeededAccount:
    email: str
    password: str
    user_id: str
    workspace_id: str
    key: str
    key_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


async def seed_account_async(
    db: Database,
    *,
    plan: str = "pro",
    mode: Literal["live", "test"] = "live",
    email: str | None = None,
    operator: bool = False,
) -> SeededAccount:
    email = email or f"user-{uuid.uuid4().hex[:8]}@example.com"
    password = "correct horse battery staple"
    async with db.session() as session:
        user, workspace = await AccountService(session).signup(email, password, plan=plan, is_operator=operator)
        created = await ApiKeyService(session).create(workspace.id, name="test", mode=mode, created_by=user.id)
    return SeededAccount(email, password, user.id, workspace.id, created.secret, created.row.id)


def seed_account(database_url: str, **kwargs: object) -> SeededAccount:
    async def run() -> SeededAccount:
        db = Database(database_url)
        try:
            return await seed_account_async(db, **kwargs)  # type: ignore[arg-type]
        finally:
            await db.dispose()

    return asyncio.run(run())
