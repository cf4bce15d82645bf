"""Every table, imported here so ``Base.metadata`` is complete for Alembic and tests."""

from pixelmill.db.models.accounts import (
    ApiKey,
    Invitation,
    Membership,
    PasswordResetToken,
    RevokedToken,
    SignInLink,
    User,
    Workspace,
)
from pixelmill.db.models.credits import LedgerEntry, PlanGrant, Wallet
from pixelmill.db.models.events import RunEvent
from pixelmill.db.models.files import File
from pixelmill.db.models.idempotency import IdempotencyRecord
from pixelmill.db.models.ima2 import Ima2Preference, Ima2Session
from pixelmill.db.models.ima2_files import Ima2File
from pixelmill.db.models.invokeai import InvokeAIImage
from pixelmill.db.models.numeric_ids import NumericId
from pixelmill.db.models.projects import Project
from pixelmill.db.models.providers import ProviderKey, WorkspaceDefaultModel
from pixelmill.db.models.runs import NodeCacheEntry, NodeExecution, Run
from pixelmill.db.models.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from pixelmill.db.models.workflows import Workflow, WorkflowVersion

__all__ = [
    "ApiKey",
    "File",
    "IdempotencyRecord",
    "Ima2File",
    "Ima2Preference",
    "Ima2Session",
    "Invitation",
    "InvokeAIImage",
    "LedgerEntry",
    "Membership",
    "NodeCacheEntry",
    "NodeExecution",
    "NumericId",
    "PasswordResetToken",
    "PlanGrant",
    "Project",
    "ProviderKey",
    "RevokedToken",
    "Run",
    "RunEvent",
    "SignInLink",
    "User",
    "Wallet",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "Workflow",
    "WorkflowVersion",
    "Workspace",
    "WorkspaceDefaultModel",
]
