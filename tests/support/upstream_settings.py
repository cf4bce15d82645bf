"""Settings for a served app whose nodes call a fake upstream on loopback.

Every provider test module serves the real app the same way; only the upstream's own key, base URL
and poll intervals differ, so those stay at the call site and the rest lives here once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pixelmill.config import Settings
from tests.support.plans import unthrottled_plans


def served_settings(tmp_path: Path, database_url: str, **overrides: Any) -> Settings:
    """The app's settings for these tests, ``overrides`` (an upstream's key and URL) applied last.

    Private URLs are allowed because the fakes live on loopback; credits are off so a test grants
    exactly what it counts; runs are polled to their end, so no per-minute limit gets in the way;
    a short retry budget keeps a failing upstream's test quick."""
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "database_url": database_url,
        "secret_key": "test-secret-key-that-is-long-enough-for-hs256",
        "allow_private_urls": True,
        "plan_credits_enabled": False,
        "log_format": "text",
        "dispatch_poll_seconds": 0.2,
        "upstream_retry_budget_seconds": 5,
        "plans": unthrottled_plans(),
    }
    return Settings(**{**values, **overrides})
