"""A 49 Mpx PNG of a few kilobytes (under the 50 Mpx upload limit) given to ``image.style`` with the
default limits: refused before it is decoded, the limit that applied named, nothing spent, the
server healthy; and, in a process of its own, the refusal's peak memory measured."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

import pixelmill.nodes  # noqa: F401 - registers the node types
from pixelmill.config import Settings
from pixelmill.engine.node import MediaSizes, default_registry
from pixelmill.storage.codecs import encode_image
from tests.integration.runs.test_run_memory import style_run, upload
from tests.support.accounts import SeededAccount
from tests.support.images import photo_like
from tests.support.runs import TERMINAL, books, grant, wait_for

REPOSITORY = Path(__file__).resolve().parents[3]


def forty_nine_megapixels() -> bytes:
    buffer = io.BytesIO()
    Image.new("1", (7000, 7000)).save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def test_a_49_megapixel_png_is_refused_by_image_style_with_the_limit_applied_and_costs_nothing(
    api: httpx.Client, account: SeededAccount, settings: Settings
) -> None:
    bomb = forty_nine_megapixels()
    assert len(bomb) < 16 * 1024
    grant(settings.resolved_database_url, account.workspace_id, 10)
    file_id = upload(api, account, bomb)
    run_id = style_run(api, account, file_id, 0)
    view = wait_for(api, account.headers, run_id, until=TERMINAL, timeout=60)
    assert view["status"] == "failed"
    limit = settings.max_edit_pixels
    assert limit < 49_000_000
    assert view["error"]["code"] == "IMAGE_TOO_LARGE"
    assert f"at most {limit} pixels (setting max_edit_pixels)" in view["error"]["message"]
    error = view["nodes"][0]["error"]  # the node's error carries the fields
    assert (error["code"], error["max_pixels"], error["limit_setting"]) == ("IMAGE_TOO_LARGE", limit, "max_edit_pixels")
    assert (error["width"], error["height"], error["pixels"]) == (7000, 7000, 49_000_000)
    ledger = books(settings.resolved_database_url, account.workspace_id)
    assert (ledger.wallet.balance, ledger.wallet.reserved, ledger.sums.get("capture", 0)) == (10, 0, 0)
    # The server stays healthy and keeps working.
    assert api.get("/healthz").status_code == 200
    small = upload(api, account, encode_image(photo_like(64, 48)))
    assert wait_for(api, account.headers, style_run(api, account, small, 0), until=TERMINAL)["status"] == "completed"


def node_rss(kind: str, width: int, height: int, node_type: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """Run ``tests.support.node_rss`` in a process of its own (bounded), return what it measured."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPOSITORY / "src"), str(REPOSITORY)])}
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.node_rss", kind, str(width), str(height), node_type, json.dumps(inputs)],
        cwd=REPOSITORY,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    measured: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return measured


LINUX_PEAKS = pytest.mark.skipif(
    not Path("/proc/self/clear_refs").exists(), reason="peak memory is read from Linux's /proc"
)


@LINUX_PEAKS
def test_refusing_the_bomb_takes_no_memory_to_speak_of() -> None:
    measured = node_rss("bomb", 7000, 7000, "image.style", {"style": "oil_paint"})
    assert measured["status"] == "failed"
    assert measured["error"]["code"] == "IMAGE_TOO_LARGE"
    # Decoding it would take 147 MB for the RGB pixels alone, restyling it about 7 GB.
    assert measured["working_set"] < 32 * 1024 * 1024
    assert measured["peak"] < measured["budget"]


@LINUX_PEAKS
@pytest.mark.parametrize(
    ("node_type", "inputs"),
    [("image.style", {"style": "oil_paint"}), ("image.style", {"style": "anime"}), ("image.enhance", {})],
)
def test_a_real_node_stays_within_the_working_set_it_declares(node_type: str, inputs: dict[str, Any]) -> None:
    width, height = 1600, 1200
    measured = node_rss("photo", width, height, node_type, inputs)
    assert measured["status"] == "completed"
    cls = default_registry.get(node_type)
    assert cls is not None
    declared = cls.model_validate({"image": {"file_id": "file_x"}, **inputs}).working_set(
        MediaSizes(images=((width, height),))
    )
    assert measured["working_set"] <= declared
    assert measured["working_set"] > declared / 3, "the estimate is far above what the node holds"
