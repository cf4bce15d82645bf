"""The retention sweep over real runs and real blobs on disk: expired outputs go, shared blobs stay."""

from __future__ import annotations

import asyncio
import io
from datetime import datetime, timedelta
from typing import Any

import httpx
from PIL import Image
from sqlalchemy import select

from pixelmill.config import Settings
from pixelmill.db.base import utcnow
from pixelmill.db.models import File
from pixelmill.db.session import Database
from pixelmill.services.retention import RetentionReport, RetentionSweeper
from pixelmill.storage.local import LocalBlobStore
from tests.support.accounts import SeededAccount
from tests.support.runs import grant, run_entries, with_db


def generate(api: httpx.Client, account: SeededAccount, prompt: str, *, use_cache: bool = False) -> dict[str, Any]:
    node = {"id": "g", "type": "image.generate", "inputs": {"prompt": prompt, "size": "64x64"}, "use_cache": use_cache}
    body = {"graph": {"nodes": [node], "edges": []}}
    run: dict[str, Any] = api.post("/v1/runs", json=body, headers={**account.headers, "Prefer": "wait=30"}).json()
    assert run["status"] == "completed", run
    return run


def output_files(database_url: str, run_id: str) -> list[File]:
    async def work(db: Database) -> list[File]:
        async with db.sessions() as session:
            return list(await session.scalars(select(File).where(File.run_id == run_id)))

    return with_db(database_url, work)


def file_row(database_url: str, file_id: str) -> File | None:
    async def work(db: Database) -> File | None:
        async with db.sessions() as session:
            return await session.get(File, file_id)

    return with_db(database_url, work)


def sweep(settings: Settings, now: datetime) -> RetentionReport:
    async def work(db: Database) -> RetentionReport:
        return await RetentionSweeper(db, blobs(settings), settings).sweep(now)

    return with_db(settings.resolved_database_url, work)


def blobs(settings: Settings) -> LocalBlobStore:
    return LocalBlobStore(settings.data_dir / "blobs")


def on_disk(settings: Settings, sha256: str | None) -> bool:
    assert sha256 is not None
    return blobs(settings).path_for(sha256).is_file()


def png_size(data: bytes) -> tuple[int, int]:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image.size


def test_sweep_removes_expired_outputs_and_keeps_blobs_something_else_names(
    api: httpx.Client, brief: SeededAccount, other: SeededAccount, settings: Settings
) -> None:
    url = settings.resolved_database_url
    grant(url, brief.workspace_id, 1000)
    grant(url, other.workspace_id, 1000)
    shared = generate(api, brief, "a red kite")  # same bytes as the other workspace's run below
    kept_elsewhere = generate(api, other, "a red kite")
    uploaded = generate(api, brief, "a blue kite")  # its bytes are uploaded as a file too
    alone = generate(api, brief, "a green kite")  # nothing else names it
    in_workflow = generate(api, brief, "a yellow kite")  # a workflow names its output
    (shared_file,) = output_files(url, shared["run_id"])
    (elsewhere_file,) = output_files(url, kept_elsewhere["run_id"])
    (uploaded_output,) = output_files(url, uploaded["run_id"])
    (alone_file,) = output_files(url, alone["run_id"])
    (workflow_file,) = output_files(url, in_workflow["run_id"])
    assert shared_file.sha256 == elsewhere_file.sha256
    assert alone_file.thumbnail_sha256 is not None
    assert on_disk(settings, alone_file.thumbnail_sha256)

    upload_bytes = api.get(uploaded["outputs"]["g"]["value"][0]).content
    upload = api.post("/v1/files", content=upload_bytes, headers=brief.headers)
    assert upload.status_code == 201, upload.text
    workflow_graph = {
        "nodes": [{"id": "up", "type": "image.upscale", "inputs": {"image": {"file_id": workflow_file.id}}}],
        "edges": [],
    }
    workflow = api.post("/v1/workflows", json={"name": "reuse", "graph": workflow_graph}, headers=brief.headers)
    assert workflow.status_code == 201, workflow.text
    ledger_before = run_entries(url, shared["run_id"])
    old_url = alone["outputs"]["g"]["value"][0]

    assert sweep(settings, utcnow() + timedelta(hours=12)) == RetentionReport()  # within the day: nothing
    report = sweep(settings, utcnow() + timedelta(days=2))

    assert report.runs_removed == 4  # the pro workspace keeps its run for 30 days
    assert report.files_deleted == 3
    assert report.files_handed_over == 1
    listed = api.get("/v1/runs", headers=brief.headers).json()["data"]
    assert {run["run_id"]: run["data_removed"] for run in listed} == {
        run["run_id"]: True for run in (shared, uploaded, alone, in_workflow)
    }
    view = api.get(f"/v1/runs/{shared['run_id']}", headers=brief.headers).json()
    assert view["data_removed"] is True
    assert view["outputs"] == {}
    assert view["status"] == "completed"
    assert [node["status"] for node in view["nodes"]] == ["completed"]
    assert run_entries(url, shared["run_id"]) == ledger_before  # money history stays
    assert httpx.get(old_url).status_code == 404

    # Shared with the other workspace's live run: the blob stays and that run still serves it.
    assert file_row(url, shared_file.id) is None
    assert on_disk(settings, shared_file.sha256)
    elsewhere = api.get(f"/v1/runs/{kept_elsewhere['run_id']}", headers=other.headers).json()
    assert elsewhere["data_removed"] is False
    assert png_size(httpx.get(elsewhere["outputs"]["g"]["value"][0]).content) == (64, 64)
    # Shared with an upload: the blob stays and the upload still reads.
    assert file_row(url, uploaded_output.id) is None
    assert on_disk(settings, uploaded_output.sha256)
    content = api.get(f"/v1/files/{upload.json()['id']}/content", headers=brief.headers)
    assert png_size(content.content) == (64, 64)
    # Named by nothing: content and thumbnail are gone from disk.
    assert file_row(url, alone_file.id) is None
    assert not on_disk(settings, alone_file.sha256)
    assert not on_disk(settings, alone_file.thumbnail_sha256)
    # Named by a workflow: the file is handed to the workspace and still usable.
    kept = file_row(url, workflow_file.id)
    assert kept is not None
    assert kept.run_id is None
    assert on_disk(settings, workflow_file.sha256)

    assert sweep(settings, utcnow() + timedelta(days=2)) == RetentionReport()  # idempotent


def test_concurrent_sweeps_remove_each_run_once_and_every_unshared_blob(
    api: httpx.Client, brief: SeededAccount, settings: Settings
) -> None:
    url = settings.resolved_database_url
    grant(url, brief.workspace_id, 1000)
    runs = [generate(api, brief, prompt) for prompt in ("one", "two", "three") for _ in range(2)]
    files = [row for run in runs for row in output_files(url, run["run_id"])]
    digests = {row.sha256 for row in files} | {row.thumbnail_sha256 for row in files if row.thumbnail_sha256}
    assert len({row.sha256 for row in files}) == 3  # each prompt's two runs share one blob

    async def both() -> list[RetentionReport]:
        first, second = Database(url), Database(url)
        try:
            now = utcnow() + timedelta(days=2)
            return list(
                await asyncio.gather(
                    RetentionSweeper(first, blobs(settings), settings, batch_size=2).sweep(now),
                    RetentionSweeper(second, blobs(settings), settings, batch_size=2).sweep(now),
                )
            )
        finally:
            await first.dispose()
            await second.dispose()

    reports = asyncio.run(both())
    assert sum(report.runs_removed for report in reports) == len(runs)
    assert sum(report.files_deleted for report in reports) == len(files)
    assert sum(report.blobs_deleted for report in reports) >= len(digests)
    assert not any(on_disk(settings, digest) for digest in digests)
    for run in runs:
        assert api.get(f"/v1/runs/{run['run_id']}", headers=brief.headers).json()["data_removed"] is True
