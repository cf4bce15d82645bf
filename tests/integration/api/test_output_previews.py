"""Previews of image outputs (``?preview=true``): small, decodable, behind the same signed link."""

from __future__ import annotations

import io

import httpx
from PIL import Image

from pixelmill.config import Settings
from tests.support.accounts import SeededAccount
from tests.support.runs import grant


def test_an_image_output_has_a_small_preview_on_its_signed_link(
    api: httpx.Client, account: SeededAccount, settings: Settings
) -> None:
    grant(settings.resolved_database_url, account.workspace_id, 100)
    made = api.post(
        "/v1/generations",
        json={"generation_type": "image", "prompt": "harbour town at dusk", "settings": {"aspect_ratio": "16:9"}},
        headers={**account.headers, "Prefer": "wait=30"},
    )
    assert made.status_code == 201, made.text
    assert made.json()["status"] == "completed", made.text
    url = made.json()["outputs"][0]

    full = httpx.get(url)  # the signed link alone, as a browser's <img> follows it
    assert full.status_code == 200
    original = Image.open(io.BytesIO(full.content))
    assert max(original.size) > 256

    small = httpx.get(url + "&preview=true")
    assert small.status_code == 200
    assert small.headers["content-type"] == "image/jpeg"
    assert small.headers["etag"] != full.headers["etag"]
    preview = Image.open(io.BytesIO(small.content))
    preview.load()
    assert max(preview.size) == 256
    assert abs(preview.width / preview.height - original.width / original.height) < 0.02  # the same framing
    assert len(small.content) < len(full.content) / 4
    assert httpx.get(url + "&preview=true").content == small.content  # the cached one, identical

    forged = url.replace("sig=", "sig=0")
    assert httpx.get(forged + "&preview=true").status_code == 404
