"""The official ``openai`` Node package against pixelmill's OpenAI API, through ``node``.

The package comes from the project's own files: ``tests/node/package.json`` and its committed
``package-lock.json``, installed by ``npm ci`` into a cache directory named after the lock file, so
it is installed once per version. Skipped, saying why, where node or npm is missing or the install
cannot reach a registry.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import subprocess
import wave
from pathlib import Path

import pytest
from PIL import Image

from pixelmill.config import Settings
from tests.support.accounts import SeededAccount
from tests.support.plans import unthrottled_plans
from tests.support.runs import grant
from tests.support.server import LiveServer

PROJECT = Path(__file__).resolve().parents[2] / "node"
NODE_TIMEOUT_SECONDS = 180
# Read before any test changes the environment: where this user keeps caches.
CACHE_ROOT = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pixelmill-tests"


@pytest.fixture(scope="module")
def node_project() -> Path:
    """A directory holding the check script and ``node_modules`` as the lock file pins them."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are not installed; the Node openai package check needs both")
    lock = (PROJECT / "package-lock.json").read_bytes()
    target = CACHE_ROOT / f"node-openai-{hashlib.sha256(lock).hexdigest()[:16]}"
    if not (target / "node_modules" / "openai" / "package.json").is_file():
        target.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(PROJECT / name, target / name)
        installed = subprocess.run(
            [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
            cwd=target,
            capture_output=True,
            text=True,
            timeout=NODE_TIMEOUT_SECONDS,
        )
        if installed.returncode != 0:
            pytest.skip(f"npm ci could not install tests/node's lock file: {installed.stderr.strip()[-300:]}")
    shutil.copyfile(PROJECT / "openai_check.mjs", target / "openai_check.mjs")
    return target


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"plans": unthrottled_plans(), "dispatch_poll_seconds": 0.2})


def test_the_node_package_generates_chats_speaks_lists_and_raises(
    node_project: Path, live_server: LiveServer, account: SeededAccount, settings: Settings
) -> None:
    grant(settings.resolved_database_url, account.workspace_id, 500)
    environment = {**os.environ, "OPENAI_BASE_URL": f"{live_server.url}/v1", "OPENAI_API_KEY": account.key}
    ran = subprocess.run(
        ["node", "openai_check.mjs"],
        cwd=node_project,
        env=environment,
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT_SECONDS,
    )
    assert ran.returncode == 0, ran.stderr
    result = json.loads(ran.stdout)
    pictures = [Image.open(io.BytesIO(base64.b64decode(b64))) for b64 in result["images"]]
    assert [(p.format, p.size) for p in pictures] == [("PNG", (128, 96))] * 2
    assert result["imageSize"] == "128x96"
    assert result["chat"]
    assert result["streamed"] == result["chat"]
    with wave.open(io.BytesIO(base64.b64decode(result["speech"]))) as audio:
        assert audio.getnframes() > 0.2 * audio.getframerate()
    assert {"local/procedural", "local/smollm2", "local/espeak"} <= set(result["models"])
    assert result["badRequest"] == {
        "class": "BadRequestError",
        "status": 400,
        "param": "size",
        "code": "invalid_value",
    }
    assert result["notFound"] == {"class": "NotFoundError", "status": 404, "param": "model", "code": "model_not_found"}
    assert result["unauthenticated"]["class"] == "AuthenticationError"
    assert result["unauthenticated"]["status"] == 401
