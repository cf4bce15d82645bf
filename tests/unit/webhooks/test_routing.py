from __future__ import annotations

import pytest

from pixelmill.errors import PixelmillError
from pixelmill.webhooks.routing import check_filter, expand


def test_completed_is_always_selected_for_per_run_webhooks() -> None:
    assert expand([], always_completed=True) == {"run_complete", "run_failed", "run_cancelled"}
    assert "node_start" in expand(["node"], always_completed=True)
    assert "node_progress" not in expand(["node"], always_completed=True)
    assert expand(["start"], always_completed=False) == {"run_started"}


def test_event_names_and_groups_mix_in_an_endpoint_filter() -> None:
    assert expand(["node_progress", "completed"], always_completed=False) == {
        "node_progress",
        "run_complete",
        "run_failed",
        "run_cancelled",
    }


def test_unknown_filter_value_is_a_validation_error_naming_the_field() -> None:
    with pytest.raises(PixelmillError) as raised:
        check_filter(["completed", "run_exploded"], "events")
    assert raised.value.code == "VALIDATION_ERROR"
    assert raised.value.extra["field"] == "events"
    assert check_filter(["node", "node", "start"], "events") == ["node", "start"]
