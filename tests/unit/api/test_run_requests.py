"""Parsing ``Prefer: wait`` and merging per-run overrides into a published workflow graph."""

from __future__ import annotations

import pytest

from pixelmill.api.routers.runs import WorkflowRunCreate, merge_overrides, wait_preference
from pixelmill.errors import PixelmillError

PUBLISHED = {
    "nodes": [
        {"id": "prompt", "type": "value.string", "inputs": {"value": "a kite"}},
        {"id": "img", "type": "image.generate", "inputs": {"size": "512x512", "seed": 1}},
    ],
    "edges": [
        {"source": {"node_id": "prompt", "field": "value"}, "destination": {"node_id": "img", "field": "prompt"}}
    ],
}


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        (None, None),
        ("", None),
        ("respond-async", None),
        ("wait=5", 5),
        ("respond-async, wait=12", 12),
        ("wait=0", 1),
        ("wait=600", 60),
        ("Wait = 7; handling=lenient", 7),
        ("nowait=5", None),
    ],
)
def test_prefer_wait_is_read_and_clamped_to_one_to_sixty_seconds(header: str | None, seconds: int | None) -> None:
    assert wait_preference(header) == seconds


def test_overrides_merge_inputs_and_add_nodes_and_edges() -> None:
    merged = merge_overrides(
        PUBLISHED,
        WorkflowRunCreate.model_validate(
            {
                "nodes": [
                    {"id": "prompt", "inputs": {"value": "a boat"}},
                    {"id": "img", "inputs": {"seed": 9}, "use_cache": False},
                    {"id": "big", "type": "image.upscale"},
                ],
                "edges": [
                    {
                        "source": {"node_id": "img", "field": "image"},
                        "destination": {"node_id": "big", "field": "image"},
                    }
                ],
            }
        ),
    )
    assert merged["nodes"] == [
        {"id": "prompt", "type": "value.string", "inputs": {"value": "a boat"}},
        {"id": "img", "type": "image.generate", "inputs": {"size": "512x512", "seed": 9}, "use_cache": False},
        {"id": "big", "type": "image.upscale", "inputs": {}},
    ]
    assert len(merged["edges"]) == 2
    assert PUBLISHED["nodes"][1]["inputs"] == {"size": "512x512", "seed": 1}  # the published graph is untouched


def test_an_empty_override_is_the_published_graph() -> None:
    assert merge_overrides(PUBLISHED, WorkflowRunCreate()) == PUBLISHED


@pytest.mark.parametrize(
    "override",
    [{"id": "ghost", "inputs": {"a": 1}}, {"id": "img", "type": "image.upscale"}],
)
def test_an_override_that_names_no_published_node_or_changes_its_type_is_refused(override: dict[str, object]) -> None:
    with pytest.raises(PixelmillError) as caught:
        merge_overrides(PUBLISHED, WorkflowRunCreate.model_validate({"nodes": [override]}))
    assert (caught.value.code, caught.value.extra["node_id"]) == ("VALIDATION_ERROR", override["id"])
