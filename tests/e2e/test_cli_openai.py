"""``pixelmill gen image "…" --model openai/gpt-image-1`` as a real subprocess against a live server
whose OpenAI key and base URL come from the environment (``OPENAI_API_KEY``, the upstream's own
variable, and ``PIXELMILL_OPENAI_BASE_URL``), answered by the fake OpenAI on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from pydantic import SecretStr

from pixelmill.config import Settings
from tests.support.accounts import SeededAccount
from tests.support.databases import SqliteTemplate
from tests.support.fake_openai import COLOUR, FakeOpenAI, serve_fake_openai
from tests.support.runs import grant, run_entries
from tests.support.server import LiveServer

KEY = "sk-proj-e2e-cli-0123456789abcdef"
_CLI = "from pixelmill.cli.main import run; run()"


@pytest.fixture
def fake() -> Iterator[tuple[FakeOpenAI, str]]:
    with serve_fake_openai(KEY) as served:
        yield served


@pytest.fixture
def database_url(tmp_path: Path, sqlite_template: SqliteTemplate) -> str:
    return sqlite_template.fresh(tmp_path)


@pytest.fixture
def settings(
    tmp_path: Path, database_url: str, fake: tuple[FakeOpenAI, str], monkeypatch: pytest.MonkeyPatch
) -> Settings:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("PIXELMILL_OPENAI_BASE_URL", fake[1])
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key=SecretStr("test-secret-key-that-is-long-enough-for-hs256"),
        plan_credits_enabled=False,
        log_format="text",
    )


def test_gen_image_with_gpt_image_1_saves_the_upstreams_png_and_charges_once(
    live_server: LiveServer, account: SeededAccount, settings: Settings, fake: tuple[FakeOpenAI, str], tmp_path: Path
) -> None:
    grant(settings.resolved_database_url, account.workspace_id, 20)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIXELMILL_") and k != "OPENAI_API_KEY"}
    env.update(
        PIXELMILL_BASE_URL=live_server.url,
        PIXELMILL_API_KEY=account.key,
        PIXELMILL_CONFIG_DIR=str(tmp_path / "config"),
        PIXELMILL_DATA_DIR=str(tmp_path / "nodata"),
    )
    out = tmp_path / "lighthouse.png"
    args = ["gen", "image", "a lighthouse at dusk", "--model", "openai/gpt-image-1", "-o", str(out), "--json"]
    result = subprocess.run(
        [sys.executable, "-c", _CLI, *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr + result.stdout
    body = json.loads(result.stdout)
    assert (body["status"], body["model_name"], body["files"]) == ("completed", "openai/gpt-image-1", [str(out)])
    with Image.open(out) as image:
        assert image.size == (1024, 1024)
        assert image.convert("RGB").getpixel((5, 5)) == COLOUR
    (sent,) = fake[0].requests("/v1/images/generations")
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.json == {"model": "gpt-image-1", "prompt": "a lighthouse at dusk", "n": 1, "size": "1024x1024"}
    assert run_entries(settings.resolved_database_url, body["id"]) == [("hold", 5), ("capture", 5)]
