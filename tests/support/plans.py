"""Plans for tests that poll or send bursts: they measure the server, not the per-minute limiter."""

from __future__ import annotations

from pixelmill.config import Plan, default_plans


def unthrottled_plans() -> dict[str, Plan]:
    """Every default plan with its per-minute request limit lifted."""
    return {name: plan.model_copy(update={"requests_per_minute": 100_000}) for name, plan in default_plans().items()}
