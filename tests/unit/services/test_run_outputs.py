"""Output paths of runs: names that round-trip, signed absolute URLs for media, plain values otherwise."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from pixelmill.services.run_outputs import OutputName, extension, parse_output_name, public_entry, public_value
from pixelmill.storage.signing import verify_signature

SECRET = b"s" * 32
PNG = {"kind": "image", "sha256": "a" * 64, "mime": "image/png"}
MP4 = {"kind": "video", "sha256": "b" * 64, "mime": "video/mp4"}


@pytest.mark.parametrize(
    ("name", "parsed"),
    [
        ("n1.png", OutputName("n1", None, "png")),
        ("hero-shot_2.3.jpg", OutputName("hero-shot_2", 3, "jpg")),
        ("clip.mp4", OutputName("clip", None, "mp4")),
        ("../etc.png", None),
        ("n1", None),
        ("n1.png.exe.x", None),
        (".png", None),
    ],
)
def test_output_names_parse_into_node_index_and_extension(name: str, parsed: OutputName | None) -> None:
    assert parse_output_name(name) == parsed


def test_media_types_map_to_their_extensions() -> None:
    assert [extension(m) for m in ("image/png", "image/jpeg", "video/mp4", "audio/wav", None, "x/y")] == [
        "png",
        "jpg",
        "mp4",
        "wav",
        "bin",
        "bin",
    ]


def _check(url: str, path: str) -> None:
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == "https://media.example"
    assert parts.path == path
    query = parse_qs(parts.query)
    assert verify_signature(SECRET, path, int(query["expires"][0]), query["sig"][0])


def test_media_outputs_become_signed_urls_and_other_values_stay_as_they_are() -> None:
    common = {"run_id": "run_1", "secret": SECRET, "ttl": 60, "base_url": "https://media.example"}
    single = public_value({"type": "image", "value": PNG}, node_id="hero", **common)
    _check(single, "/v1/outputs/runs/run_1/hero.png")
    many = public_value({"type": "images", "value": [PNG, PNG]}, node_id="set", **common)
    assert len(many) == 2
    for index, url in enumerate(many):
        _check(url, f"/v1/outputs/runs/run_1/set.{index}.png")
    _check(public_value({"type": "video", "value": MP4}, node_id="clip", **common), "/v1/outputs/runs/run_1/clip.mp4")
    assert public_value({"type": "text", "value": "a caption"}, node_id="t", **common) == "a caption"
    assert public_value({"type": "json", "value": {"n": 3}}, node_id="j", **common) == {"n": 3}
    assert public_value({"type": "image", "value": None}, node_id="gone", **common) is None


def test_entries_carry_the_stable_url_beside_the_signed_link_for_media_only() -> None:
    base = "https://media.example"
    common = {"run_id": "run_1", "secret": SECRET, "ttl": 60, "base_url": base + "/"}
    image = public_entry({"type": "image", "value": PNG}, node_id="hero", **common)
    assert image["url"] == f"{base}/runs/run_1/hero.png"
    assert image["value"].startswith(f"{base}/v1/outputs/runs/run_1/hero.png?expires=")
    images = public_entry({"type": "images", "value": [PNG, PNG]}, node_id="set", **common)
    assert images["url"] == [f"{base}/runs/run_1/set.0.png", f"{base}/runs/run_1/set.1.png"]
    video = public_entry({"type": "video", "value": MP4}, node_id="clip", **common)
    assert video["url"] == f"{base}/runs/run_1/clip.mp4"
    assert public_entry({"type": "text", "value": "hello"}, node_id="say", **common) == {
        "type": "text",
        "value": "hello",
    }
