"""Prometheus metrics of webhook delivery: attempts by outcome, and the outbox's depth and oldest age."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

# outcome: success, http_error, gone (410), network_error (refused connection, timeout), refused (address not allowed)
DELIVERY_ATTEMPTS = Counter("pixelmill_webhook_delivery_attempts_total", "Webhook delivery attempts", ["outcome"])
OUTBOX_DEPTH = Gauge("pixelmill_webhook_outbox_depth", "Webhook deliveries pending or being sent")
OUTBOX_OLDEST_AGE = Gauge(
    "pixelmill_webhook_outbox_oldest_age_seconds", "Age of the oldest webhook delivery pending or being sent"
)
