"""Prometheus metrics of the event log and the live streams (served at /metrics).

Events per second is ``rate(pixelmill_events_appended_total[1m])``; with Redis, a rising
``pixelmill_event_publish_dropped_total`` means live messages are lost (streams then catch up from the log).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

EVENTS_APPENDED = Counter("pixelmill_events_appended_total", "Run events written to the event log", ["event"])
LISTENERS = Gauge("pixelmill_event_listeners", "Event streams (SSE) open in this process", ["stream"])
LISTENERS_DROPPED = Counter(
    "pixelmill_event_listeners_dropped_total", "Event streams closed because the client fell too far behind"
)
LISTENERS_REFUSED = Counter(
    "pixelmill_event_listeners_refused_total", "Event streams refused with 503 SSE_CAPACITY at the listener cap"
)
EVENTS_PUBLISH_DROPPED = Counter(
    "pixelmill_event_publish_dropped_total",
    "Committed event batches not published on Redis (streams recover them from the event log)",
    ["reason"],
)
EVENTS_RECOVERED = Counter(
    "pixelmill_events_recovered_total",
    "Events a Redis subscriber read from the event log because their live message was late or lost",
)
