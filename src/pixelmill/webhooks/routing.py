"""Which events a webhook receives: event names, or the groups per-run webhooks use.

Groups: ``start`` (the run started), ``node`` (a node started, finished, was cached or failed;
progress ticks are too chatty for webhooks unless named), ``completed`` (any terminal event).
A per-run webhook always receives ``completed``; so does an endpoint with no filter.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import get_args

from pixelmill import errors
from pixelmill.errors import PixelmillError
from pixelmill.events.types import TERMINAL_EVENTS, EventName

EVENT_NAMES: frozenset[str] = frozenset(get_args(EventName))
GROUPS: dict[str, frozenset[str]] = {
    "start": frozenset({"run_started"}),
    "node": frozenset({"node_start", "node_complete", "node_cached", "node_failed"}),
    "completed": TERMINAL_EVENTS,
}
FILTER_VALUES: frozenset[str] = frozenset(GROUPS) | EVENT_NAMES
DEFAULT_FILTER: tuple[str, ...] = ("completed",)


def check_filter(values: Iterable[str], field: str) -> list[str]:
    """The filter as given, deduplicated in order; 422 naming the first unknown value."""
    seen: list[str] = []
    for value in values:
        if value not in FILTER_VALUES:
            raise PixelmillError(
                errors.VALIDATION_ERROR,
                f"Unknown webhook event {value!r}; use {', '.join(sorted(GROUPS))} or an event name",
                field=field,
            )
        if value not in seen:
            seen.append(value)
    return seen


def expand(values: Iterable[str], *, always_completed: bool) -> frozenset[str]:
    """The event names a filter selects."""
    names: set[str] = set(TERMINAL_EVENTS) if always_completed else set()
    for value in values:
        names |= GROUPS.get(value, frozenset({value}))
    return frozenset(names)
