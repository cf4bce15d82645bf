"""The frames an ima2 job ends with: the same on its own request's stream and on ``/api/events``."""

from __future__ import annotations

from typing import Any

from pixelmill.api.dialects.ima2 import codes, done
from pixelmill.api.dialects.ima2.answers import Produced
from pixelmill.api.dialects.ima2.jobs import Ima2Job
from pixelmill.errors import PixelmillError


def _job(kind: Any, **fields: Any) -> Ima2Job:
    return Ima2Job(requestId="req_1", kind=kind, prompt="a fox", provider="oauth", **fields)


def _items(count: int, stem: str = "1780226256355_50252101") -> list[Produced]:
    return [Produced(f"{stem}_{i}.png", "image/png", b"\x89PNG" + bytes([i]), 1780226256355) for i in range(count)]


def test_each_kind_ends_with_its_own_done() -> None:
    (classic,) = done.result_frames(_job("classic"), _items(1), 2.34)
    assert classic[0] == "done"
    assert (classic[1]["filename"], classic[1]["requestId"], classic[1]["elapsed"]) == (
        "1780226256355_50252101_0.png",
        "req_1",
        2.3,
    )
    assert classic[1]["image"].startswith("data:image/png;base64,")
    (several,) = done.result_frames(_job("classic", n=2), _items(2), 1.0)
    assert [image["filename"] for image in several[1]["images"]] == [
        "1780226256355_50252101_0.png",
        "1780226256355_50252101_1.png",
    ]
    (edit,) = done.result_frames(_job("edit"), _items(1), 1.0)
    assert "requestId" not in edit[1]  # ima2's edit answer carries none; the bus adds jobId
    (node,) = done.result_frames(_job("node", nodeId="n_00000000aa"), _items(1, "n_00000000aa"), 1.0)
    assert (node[1]["nodeId"], node[1]["url"]) == ("n_00000000aa", "/generated/n_00000000aa_0.png")
    (video,) = done.result_frames(_job("video"), [Produced("1_2.mp4", "video/mp4", b"", 1)], 4.0)
    assert (video[1]["mediaType"], video[1]["url"]) == ("video", "/generated/1_2.mp4")


def test_a_sequence_sends_its_images_before_done() -> None:
    frames = done.result_frames(_job("multimode", n=3, extra={"sequenceId": "seq_a"}), _items(2), 5.0)
    assert [name for name, _ in frames] == ["image", "image", "done"]
    assert [data["sequenceIndex"] for _, data in frames[:2]] == [1, 2]
    assert frames[-1][1]["status"] == "partial"
    assert frames[-1][1]["elapsed"] == "5.0"


def test_failures_are_flat_except_a_nodes() -> None:
    empty = PixelmillError(codes.EMPTY_RESPONSE)
    ((_, sequence),) = done.failure_frames(_job("multimode", n=4, extra={"sequenceId": "seq_a"}), empty)
    assert sequence == {
        "error": codes.EMPTY_RESPONSE.message,
        "code": "EMPTY_RESPONSE",
        "status": 422,
        "requestId": "req_1",
        "sequenceId": "seq_a",
        "requested": 4,
        "returned": 0,
    }
    ((_, node),) = done.failure_frames(_job("node", parentNodeId="n_1"), empty)
    assert node["error"] == {"code": "EMPTY_RESPONSE", "message": codes.EMPTY_RESPONSE.message}
    assert (node["parentNodeId"], node["status"]) == ("n_1", 422)


def test_the_upstreams_report_gives_usage_and_the_revised_prompt() -> None:
    usage = {"input_tokens": 5, "total_tokens": 9, "provider": "openai", "revised_prompt": "a small red fox"}
    ((_, single),) = done.result_frames(_job("classic"), _items(1), 1.0, usage)
    assert (single["usage"], single["revisedPrompt"]) == ({"input_tokens": 5, "total_tokens": 9}, "a small red fox")
    frames = done.result_frames(_job("multimode", n=1, extra={"sequenceId": "s"}), _items(1), 1.0, usage)
    assert frames[0][1]["revisedPrompt"] == "a small red fox"
    assert "revisedPrompt" not in frames[-1][1]  # ima2's sequence done has none of its own
    assert frames[-1][1]["images"][0]["revisedPrompt"] == "a small red fox"
    ((_, local),) = done.result_frames(_job("node", nodeId="n_1"), _items(1), 1.0, None)
    assert (local["usage"], local["revisedPrompt"]) == (None, None)
