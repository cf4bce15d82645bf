"""Deleted runs: restorable within the window, purged by the sweep after it (ledger entries stay)."""

from __future__ import annotations

from datetime import timedelta

import httpx

from pixelmill.config import Settings
from pixelmill.db.base import utcnow
from pixelmill.db.models import Run
from pixelmill.db.session import Database
from tests.integration.retention.test_retention_sweep import file_row, generate, on_disk, output_files, sweep
from tests.support.accounts import SeededAccount
from tests.support.runs import executions, grant, run_entries, with_db


def run_exists(database_url: str, run_id: str) -> bool:
    async def work(db: Database) -> bool:
        async with db.sessions() as session:
            return await session.get(Run, run_id) is not None

    return with_db(database_url, work)


def test_a_deleted_run_is_restored_within_the_window(
    api: httpx.Client, account: SeededAccount, other: SeededAccount, settings: Settings
) -> None:
    grant(settings.resolved_database_url, account.workspace_id, 100)
    run_id = generate(api, account, "a kite")["run_id"]
    path = f"/v1/runs/{run_id}"

    not_deleted = api.post(f"{path}/restore", headers=account.headers)
    assert not_deleted.status_code == 409
    assert not_deleted.json()["error"]["code"] == "RUN_NOT_DELETED"
    assert api.delete(path, headers=account.headers).json() == {"ok": True}
    assert api.get(path, headers=account.headers).status_code == 404
    assert run_id not in [run["run_id"] for run in api.get("/v1/runs", headers=account.headers).json()["data"]]
    # Another workspace learns nothing: its answer is the one for a run that never existed.
    foreign = api.post(f"{path}/restore", headers=other.headers)
    unknown = api.post("/v1/runs/run_01UNKNOWN/restore", headers=other.headers)
    assert (foreign.status_code, unknown.status_code) == (404, 404)
    assert foreign.text.replace(run_id, "<id>") == unknown.text.replace("run_01UNKNOWN", "<id>")

    # A sweep inside the window leaves the tombstone alone.
    assert sweep(settings, utcnow() + timedelta(hours=23)).runs_purged == 0
    restored = api.post(f"{path}/restore", headers=account.headers)
    assert restored.status_code == 200, restored.text
    assert restored.json()["run_id"] == run_id
    assert restored.json()["data_removed"] is False
    view = api.get(path, headers=account.headers).json()
    assert view["status"] == "completed"
    assert httpx.get(view["outputs"]["g"]["value"][0]).status_code == 200


def test_a_tombstone_is_purged_after_the_window_and_cannot_be_restored(
    api: httpx.Client, account: SeededAccount, settings: Settings
) -> None:
    url = settings.resolved_database_url
    grant(url, account.workspace_id, 100)
    run_id = generate(api, account, "a purple kite")["run_id"]
    (output,) = output_files(url, run_id)
    ledger = run_entries(url, run_id)
    assert ledger  # hold and capture
    assert api.delete(f"/v1/runs/{run_id}", headers=account.headers).json() == {"ok": True}

    report = sweep(settings, utcnow() + timedelta(hours=25))

    assert (report.runs_removed, report.runs_purged, report.files_deleted) == (1, 1, 1)
    assert not run_exists(url, run_id)
    assert executions(url, run_id) == {}
    assert file_row(url, output.id) is None
    assert not on_disk(settings, output.sha256)
    assert run_entries(url, run_id) == ledger
    gone = api.post(f"/v1/runs/{run_id}/restore", headers=account.headers)
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "NOT_FOUND"
    assert sweep(settings, utcnow() + timedelta(hours=25)).runs_purged == 0
