"""The client commands as real subprocesses against a live server: JSON parsed, files decoded,
exit codes checked, progress shown without a TTY."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from pixelmill.config import Settings
from tests.support.accounts import SeededAccount
from tests.support.runs import grant
from tests.support.server import LiveServer

_CLI = "from pixelmill.cli.main import run; run()"

Cli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def cli(live_server: LiveServer, account: SeededAccount, tmp_path: Path) -> Cli:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIXELMILL_")}
    env.update(
        PIXELMILL_BASE_URL=live_server.url,
        PIXELMILL_API_KEY=account.key,
        PIXELMILL_CONFIG_DIR=str(tmp_path / "config"),
        PIXELMILL_DATA_DIR=str(tmp_path / "nodata"),
    )

    def invoke(*args: str, key: str | None = None, base_url: str | None = None) -> subprocess.CompletedProcess[str]:
        run_env = dict(env)
        if key is not None:
            run_env["PIXELMILL_API_KEY"] = key
        if base_url is not None:
            run_env["PIXELMILL_BASE_URL"] = base_url
        return subprocess.run(
            [sys.executable, "-c", _CLI, *args],
            env=run_env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    return invoke


@pytest.fixture
def funded(settings: Settings, account: SeededAccount) -> None:
    grant(settings.resolved_database_url, account.workspace_id, 1000)


def _json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr + result.stdout
    return json.loads(result.stdout)


@pytest.mark.usefixtures("funded")
def test_gen_image_writes_a_decodable_png_and_prints_json(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "kite.png"
    body = _json(cli("gen", "image", "a red kite", "--size", "512x512", "--seed", "3", "-o", str(out), "--json"))
    assert body["status"] == "completed"
    assert body["files"] == [str(out)]
    with Image.open(out) as image:
        assert image.size == (512, 512)


@pytest.mark.usefixtures("funded")
def test_progress_is_printed_without_a_tty(cli: Cli, tmp_path: Path) -> None:
    result = cli("gen", "image", "a kite", "--size", "64x64", "-o", str(tmp_path / "k.png"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(tmp_path / "k.png")
    assert "completed" in result.stderr
    assert "node " in result.stderr


@pytest.mark.usefixtures("funded")
def test_edit_style_and_run_workflow_with_overrides(cli: Cli, tmp_path: Path) -> None:
    source = tmp_path / "src.png"
    Image.new("RGB", (80, 60), (20, 120, 200)).save(source)
    styled = tmp_path / "styled.png"
    body = _json(cli("edit", "style", str(source), "--style", "sketch", "-o", str(styled), "--json"))
    assert body["mode"] == "style"
    with Image.open(styled) as image:
        assert image.size == (80, 60)

    graph = {
        "nodes": [{"id": "img", "type": "image.generate", "inputs": {"prompt": "x", "size": "64x64"}}],
        "edges": [],
    }
    (tmp_path / "wf.json").write_text(json.dumps({"name": "kite", "graph": graph}))
    workflow = _json(cli("workflows", "push", str(tmp_path / "wf.json"), "--json"))
    assert _json(cli("workflows", "publish", workflow["id"], "--json"))["number"] == 1
    run = _json(cli("run", "kite", "--set", "img.size=96x64", "-o", str(tmp_path / "out"), "--json"))
    assert run["status"] == "completed"
    with Image.open(run["files"][0]) as image:
        assert image.size == (96, 64)

    listed = _json(cli("runs", "ls", "--json"))
    assert run["run_id"] in {r["run_id"] for r in listed["data"]}
    assert _json(cli("runs", "show", run["run_id"], "--json"))["status"] == "completed"
    events = cli("runs", "events", run["run_id"], "--json")
    assert events.returncode == 0, events.stderr
    assert json.loads(events.stdout.splitlines()[-1])["event"] == "run_complete"
    pulled = _json(cli("workflows", "pull", workflow["id"]))
    assert pulled["graph"]["nodes"][0]["id"] == "img"


def test_catalogue_keys_credits_and_whoami(cli: Cli, account: SeededAccount) -> None:
    assert any(n["type"] == "image.generate" for n in _json(cli("nodes", "ls", "--json")))
    assert _json(cli("nodes", "show", "image.style", "--json"))["category"] == "image"
    assert any(m["id"] == "local/procedural" for m in _json(cli("models", "--json")))
    assert _json(cli("credits", "--json"))["available"] == 0
    key = _json(cli("keys", "create", "ci", "--test", "--json"))
    assert key["key"].startswith("pm_test_")
    assert key["id"] in {k["id"] for k in _json(cli("keys", "ls", "--json"))}
    rotated = _json(cli("keys", "rotate", key["id"], "--json"))
    assert (rotated["previous"]["id"], rotated["previous"]["status"]) == (key["id"], "rotating")
    shown = _json(cli("keys", "show", key["id"], "--json"))
    assert (shown["replaced_by"], shown["expires_at"]) == (rotated["id"], rotated["previous"]["expires_at"])
    assert _json(cli("keys", "revoke", key["id"], "--json"))["revoked_at"] is not None
    assert _json(cli("keys", "revoke", rotated["id"], "--json"))["status"] == "revoked"
    me = _json(cli("whoami", "--json"))
    assert me["workspace"]["id"] == account.workspace_id


def test_login_with_email_saves_a_credential_used_afterwards(cli: Cli, account: SeededAccount, tmp_path: Path) -> None:
    saved = _json(cli("login", "--email", account.email, "--password", account.password, "--json", key=""))
    assert saved["workspace_id"] == account.workspace_id
    assert (tmp_path / "config" / "credentials.json").stat().st_mode & 0o777 == 0o600
    assert _json(cli("whoami", "--json", key=""))["workspace"]["id"] == account.workspace_id


def test_exit_codes(cli: Cli, tmp_path: Path) -> None:
    no_credits = cli("gen", "image", "a kite", "--json")
    assert no_credits.returncode == 4
    assert "balance 0" in json.loads(no_credits.stdout)["error"]["message"]
    assert cli("credits", key="pm_live_wrong").returncode == 3
    assert cli("credits", base_url="http://127.0.0.1:9").returncode == 5
    assert cli("gen", "image").returncode == 2  # missing prompt
    assert cli("run", "no-such-workflow").returncode == 2
    unknown = cli("run", str(tmp_path / "missing.json"))
    assert unknown.returncode == 2


@pytest.mark.usefixtures("funded")
def test_a_failed_run_exits_1_with_its_error(cli: Cli, tmp_path: Path) -> None:
    # The procedural model refuses sizes this small when the node runs, so the run itself fails.
    graph = {
        "nodes": [{"id": "img", "type": "image.generate", "inputs": {"prompt": "x", "size": "48x32"}}],
        "edges": [],
    }
    (tmp_path / "g.json").write_text(json.dumps(graph))
    result = cli("run", str(tmp_path / "g.json"), "--json")
    assert result.returncode == 1
    body = json.loads(result.stdout)
    assert (body["status"], body["error"]["code"], body["files"]) == ("failed", "INVALID_INPUT", [])
