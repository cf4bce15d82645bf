"""Whether the fleet's broker answers: one probe for ``/readyz`` and ``pixelmill doctor``.

Kombu (what Celery itself connects with) opens a real connection, so a wrong password or vhost
fails here as it would fail the publisher, for Redis and RabbitMQ alike. One attempt, no retries:
a readiness probe must answer within its own timeout, not Celery's patient reconnect schedule.
"""

from __future__ import annotations

from urllib.parse import urlsplit

BROKER_TIMEOUT_SECONDS = 3.0


def shown_url(url: str) -> str:
    """``url`` without its credentials, fit for logs and reports."""
    parts = urlsplit(url)
    host = f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
    return f"{parts.scheme}://{host}{parts.path}"


def ping_broker(url: str, timeout: float = BROKER_TIMEOUT_SECONDS) -> None:
    """Return once the broker at ``url`` accepted a connection; raise what the connection raised."""
    from kombu.connection import Connection

    with Connection(url, connect_timeout=timeout) as connection:  # type: ignore[no-untyped-call]
        connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=timeout)
