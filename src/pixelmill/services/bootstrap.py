"""The first start of an embedded server: an operator account, its workspace and a live key.

Nothing else can create the first account on a fresh install (sign-up gives the free plan, which has
no API access), so ``pixelmill serve`` calls this when the database has no users yet. The password
and key exist in plain text only in the returned value, which the CLI prints once and saves for the
local user; the database keeps their hashes.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from pixelmill import errors
from pixelmill.db.session import Database
from pixelmill.errors import PixelmillError
from pixelmill.services.accounts import AccountService
from pixelmill.services.keys import ApiKeyService

OPERATOR_EMAIL = "operator@localhost"
OPERATOR_PLAN = "operator"


@dataclass(frozen=True, slots=True)
class OperatorCredentials:
    """What the first start created; ``password`` and ``key`` are never stored in plain text."""

    email: str
    password: str
    user_id: str
    workspace_id: str
    key: str
    key_id: str


async def bootstrap_operator(db: Database) -> OperatorCredentials | None:
    """Create the operator when the database has no users; None when someone already exists."""
    password = secrets.token_urlsafe(18)
    try:
        async with db.session() as session:
            accounts = AccountService(session)
            if await accounts.has_users():
                return None
            user, workspace = await accounts.signup(
                OPERATOR_EMAIL, password, name="operator", plan=OPERATOR_PLAN, is_operator=True
            )
            created = await ApiKeyService(session).create(
                workspace.id, name="operator (bootstrap)", mode="live", created_by=user.id
            )
    except PixelmillError as exc:
        if exc.spec is errors.EMAIL_TAKEN:  # another process bootstrapped the same database first
            return None
        raise
    return OperatorCredentials(OPERATOR_EMAIL, password, user.id, workspace.id, created.secret, created.row.id)
