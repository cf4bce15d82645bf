"""Per-second request rates: calls of one rate class go out at most ``rate`` a second, evenly spaced,
so a burst waits here instead of drawing 429s (xAI allows 5 image and 1 video request a second).

A :class:`Pacer` hands out send times: each call takes the first free slot, ``1 / rate`` seconds after
the one before, and sleeps until it. Even spacing (no burst allowance) keeps any one-second window
within the rate whatever the upstream counts. A pacer holds no asyncio object, only a monotonic time
under a thread lock, so one pacer serves every event loop of the process (a Celery worker runs a
loop per task); :func:`pacer_for` shares it between every client of the same upstream and key, as
the upstream counts per key. A caller cancelled while it waits leaves its slot unused.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Awaitable, Callable

Clock = Callable[[], float]


class Pacer:
    """Send times ``1 / rate`` seconds apart; see the module docstring."""

    def __init__(self, rate: float, *, clock: Clock = time.monotonic) -> None:
        if not rate > 0:
            raise ValueError(f"a rate must be positive, got {rate}")
        self.interval = 1.0 / rate
        self._clock = clock
        self._next = -math.inf
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take the next free slot; the seconds until it (0 when it is now)."""
        with self._lock:
            now = self._clock()
            at = max(now, self._next)
            self._next = at + self.interval
            return at - now

    async def wait(self, sleep: Callable[[float], Awaitable[None]]) -> None:
        """Take the next free slot and sleep until it."""
        delay = self.reserve()
        if delay > 0:
            await sleep(delay)


_pacers: dict[tuple[str, str, str, float], Pacer] = {}
_pacers_lock = threading.Lock()


def pacer_for(provider: str, secret: str | None, rate_class: str, rate: float) -> Pacer:
    """The process's pacer for ``provider``'s ``rate_class`` under one key (kept as a digest only)."""
    fingerprint = hashlib.sha256(secret.encode()).hexdigest() if secret else ""
    key = (provider, fingerprint, rate_class, rate)
    with _pacers_lock:
        pacer = _pacers.get(key)
        if pacer is None:
            pacer = _pacers[key] = Pacer(rate)
        return pacer
