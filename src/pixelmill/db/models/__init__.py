"""Every table, imported here so ``Base.metadata`` is complete for Alembic and tests."""

from pixelmill.db.models.accounts import ApiKey, Invitation, Membership, PasswordResetToken, User, Workspace
from pixelmill.db.models.credits import LedgerEntry, Wallet
from pixelmill.db.models.files import File
from pixelmill.db.models.runs import NodeCacheEntry, NodeExecution, Run

__all__ = [
    "ApiKey",
    "File",
    "Invitation",
    "LedgerEntry",
    "Membership",
    "NodeCacheEntry",
    "NodeExecution",
    "PasswordResetToken",
    "Run",
    "User",
    "Wallet",
    "Workspace",
]
