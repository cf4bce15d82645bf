"""Cancelling a run: a flag set by whoever cancels, read between nodes and by cooperative nodes.

A ``threading.Event`` underneath, so code running in the worker thread pool (``ctx.run_blocking``)
can check it too. The same token serves a graceful shutdown: the executor stops starting nodes,
lets running ones finish, and the run resumes elsewhere from its persisted results.
"""

from __future__ import annotations

import threading


class RunCancelled(Exception):
    """Raised inside a node by ``ctx.raise_if_cancelled()`` once its run was cancelled."""


class CancelToken:
    """Set once; never cleared. Safe to set from any thread or task."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise RunCancelled
