"""Signed webhooks: the outbox written with run events, the delivery loop, and ``verify`` for receivers."""

from __future__ import annotations

from pixelmill.webhooks.verify import WebhookVerificationError, verify

__all__ = ["WebhookVerificationError", "verify"]
