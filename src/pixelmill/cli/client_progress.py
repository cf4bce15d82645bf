"""Following a run while the CLI waits: node by node, from the run's event stream, or by polling
when the stream is not available. On a terminal it is a live rich table; without one (pipes, CI)
it prints one line per change to stderr, so nothing depends on a TTY."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from pixelmill.client import Client
    from pixelmill.client.models import Run, RunEvent

_EVENT_STATUS = {
    "node_start": "running",
    "node_complete": "completed",
    "node_cached": "cached",
    "node_failed": "failed",
}


class RunProgress:
    """Node states of one run and how to show them."""

    def __init__(self, console: Console, run_id: str) -> None:
        self.console = console
        self.run_id = run_id
        self.nodes: dict[str, dict[str, Any]] = {}
        self.status = "queued"
        self.live = console.is_terminal

    def on_event(self, event: RunEvent) -> None:
        node_id = event.node_id
        if event.event == "run_started":
            self._set_run("running")
        elif event.terminal:
            self._set_run({"run_complete": "completed", "run_failed": "failed"}.get(event.event, "cancelled"))
        elif node_id is not None and event.event == "node_progress":
            progress = event.data.get("progress", event.data.get("fraction"))
            self._set_node(node_id, str(event.data.get("type", "")), "running", progress)
        elif node_id is not None and event.event in _EVENT_STATUS:
            # A cache hit's node_complete (cached: true) follows its node_cached: it stays "cached".
            status = "cached" if event.data.get("cached") is True else _EVENT_STATUS[event.event]
            self._set_node(node_id, str(event.data.get("type", "")), status, None)

    def on_run(self, run: Run) -> None:
        for node in run.nodes:
            self._set_node(node.node_id, node.type, "cached" if node.cached else node.status, None)
        self._set_run(run.status)

    def _set_run(self, status: str) -> None:
        if status != self.status:
            self.status = status
            if not self.live:
                self.console.print(f"run {self.run_id} {status}", highlight=False)

    def _set_node(self, node_id: str, node_type: str, status: str, progress: Any) -> None:
        current = self.nodes.setdefault(node_id, {"type": node_type, "status": "pending", "progress": None})
        if node_type:
            current["type"] = node_type
        changed = current["status"] != status
        current["status"] = status
        if isinstance(progress, int | float):
            current["progress"] = float(progress)
        if changed and not self.live:
            label = f" ({current['type']})" if current["type"] else ""
            self.console.print(f"  node {node_id}{label} {status}", highlight=False)

    def render(self) -> Any:
        from rich.table import Table

        grid = Table("node", "type", "status", "progress", title=f"{self.run_id}: {self.status}", box=None)
        for node_id, node in self.nodes.items():
            progress = node["progress"]
            shown = f"{progress * 100:.0f}%" if isinstance(progress, float) and progress <= 1 else ""
            grid.add_row(node_id, node["type"], node["status"], shown)
        return grid


def follow(client: Client, run_id: str, *, show: bool, timeout: float | None = None) -> Run:
    """Wait for the run to finish, showing node progress on stderr when ``show``; returns the final run."""
    if not show:
        return client.runs.wait(run_id, timeout=timeout)
    run = _show(client, run_id, timeout, read_final=True)
    assert run is not None
    return run


def show_until_finished(client: Client, run_id: str, *, timeout: float | None = None) -> Run | None:
    """Show node progress on stderr until the run finished, like ``follow(show=True)``, and return the
    final run; but when the progress is printed line by line (no terminal) and the event stream said
    ``run_complete``, the run is not read once more (None then): its lines would show nothing new,
    and a caller that reads something else afterwards (``gen`` reads the generation) saves a request.
    A failed run is still read, so its nodes' final states are printed as before."""
    return _show(client, run_id, timeout, read_final=False)


def _show(client: Client, run_id: str, timeout: float | None, *, read_final: bool) -> Run | None:
    from rich.console import Console

    console = Console(stderr=True)
    progress = RunProgress(console, run_id)
    if not progress.live:
        return _follow(client, progress, timeout, refresh=lambda: None, read_final=read_final)
    from rich.live import Live

    with Live(progress.render(), console=console, refresh_per_second=8, transient=False) as live:
        return _follow(client, progress, timeout, refresh=lambda: live.update(progress.render()), read_final=read_final)


def _follow(
    client: Client, progress: RunProgress, timeout: float | None, refresh: Any, *, read_final: bool
) -> Run | None:
    from pixelmill.client import errors

    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        for event in client.runs.events(progress.run_id):
            progress.on_event(event)
            refresh()
            if event.event == "run_complete" and not read_final and not progress.live:
                return None
            if deadline is not None and time.monotonic() > deadline:
                break
    except (errors.NotFound, errors.ServerError, errors.ConnectionFailed) as exc:
        # No event stream here (an older server, or the listener cap): poll instead.
        print(f"(no live events: {exc}; polling)", file=sys.stderr)
    interval = 0.2
    while True:
        run = client.runs.get(progress.run_id)
        progress.on_run(run)
        refresh()
        if run.finished:
            return run
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"run {progress.run_id} still {run.status} after {timeout} s")
        time.sleep(interval)
        interval = min(2.0, interval * 1.5)
