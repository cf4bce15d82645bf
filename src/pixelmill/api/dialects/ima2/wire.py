"""Small pieces of ima2's wire format that several of its routes share."""

from __future__ import annotations

from datetime import datetime


def epoch_ms(moment: datetime | None) -> int | None:
    """A time as ima2 sends times: JavaScript's ``Date.now()``, milliseconds since the epoch."""
    return round(moment.timestamp() * 1000) if moment is not None else None


# ima2's headers on every event stream it sends (no-transform keeps a compressing proxy from
# buffering the frames, as does nginx's X-Accel-Buffering).
STREAM_HEADERS = {"Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"}
