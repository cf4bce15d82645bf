"""Executor events as run events: a cache hit also completes its node (imageat's ``node_complete``)."""

from __future__ import annotations

import io

from rich.console import Console

from pixelmill.cli.client_progress import RunProgress
from pixelmill.client.models import RunEvent
from pixelmill.engine.events import NodeEvent
from pixelmill.services.run_events import node_events

PNG = {"kind": "image", "sha256": "a" * 64, "mime": "image/png"}


def test_a_cache_hit_is_node_cached_then_node_complete_with_the_same_output() -> None:
    hit = NodeEvent("node_cached", "run_1", "hero", "image.upscale", outputs={"image": PNG}, output_type="image")
    cached, complete = node_events("ws_1", hit, "image")
    assert (cached.name, complete.name) == ("node_cached", "node_complete")
    assert complete.data == cached.data
    assert complete.data["output"] == {"type": "image", "value": PNG}
    assert (complete.data["cached"], complete.data["cost"]) == (True, 0)


def test_an_executed_node_completes_once_and_a_cancelled_one_not_at_all() -> None:
    done = NodeEvent("node_complete", "run_1", "hero", "image.upscale", outputs={"image": PNG}, cost=2)
    [complete] = node_events("ws_1", done, "image")
    assert (complete.name, complete.data["cached"], complete.data["cost"]) == ("node_complete", False, 2)
    assert node_events("ws_1", NodeEvent("node_cancelled", "run_1", "hero", "image.upscale")) == []


def test_the_cli_keeps_a_cache_hit_shown_as_cached() -> None:
    out = io.StringIO()
    progress = RunProgress(Console(file=out, force_terminal=False), "run_1")
    progress.on_event(RunEvent(event="node_cached", data={"node_id": "hero", "cached": True}))
    progress.on_event(RunEvent(event="node_complete", data={"node_id": "hero", "cached": True}))
    progress.on_event(RunEvent(event="node_complete", data={"node_id": "sum", "cached": False}))
    assert progress.nodes["hero"]["status"] == "cached"
    assert progress.nodes["sum"]["status"] == "completed"
    assert out.getvalue().splitlines() == ["  node hero cached", "  node sum completed"]
