"""imagerift's documented client against pixelmill served on loopback (SQLite and PostgreSQL).

The document's curl calls run as written (base URL and key changed), then a Python client polls
each mode to a real PNG; the plan rules (API access, export sizes, per-minute limits), the quota
rules (reserved at queue time, charged only on success, team scope), cancel, tenancy, bad input,
and the proof that a job is a canonical generation on the one ledger.
"""

from __future__ import annotations

import base64
import io
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
from PIL import Image
from sqlalchemy import func, select

from pixelmill.config import Settings, default_plans
from pixelmill.db.models import File, LedgerEntry, Run
from pixelmill.db.session import Database
from pixelmill.ids import as_uuid
from pixelmill.services.keys import ApiKeyService
from pixelmill.services.workspaces import WorkspaceService
from tests.support.accounts import SeededAccount, seed_account
from tests.support.images import photo_like, product_shot
from tests.support.plans import unthrottled_plans
from tests.support.runs import grant, with_db
from tests.support.server import LiveServer, start_server

DOCUMENTED_ANSWER = ["jobId", "status", "statusUrl", "requestId", "quota", "rateLimit"]
DOCUMENTED_QUOTA = ["source", "scope", "remaining", "charged", "remainingAfterQueue", "chargedOnSuccess"]
TERMINAL = ("succeeded", "failed", "canceled")
CLOSED_PORT_BROKER = "redis://127.0.0.1:1/3"  # nothing listens on port 1


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"plans": unthrottled_plans(), "dispatch_poll_seconds": 0.2})


@pytest.fixture
def funded(account: SeededAccount, settings: Settings) -> SeededAccount:
    grant(settings.resolved_database_url, account.workspace_id, 100)
    return account


@pytest.fixture
def base(live_server: LiveServer) -> str:
    return live_server.url


def png_base64(pixels: np.ndarray[Any, Any]) -> str:
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR))
    assert ok
    return base64.b64encode(encoded.tobytes()).decode()


PHOTO = png_base64(photo_like(320, 240))
SMALL_PHOTO = png_base64(photo_like(160, 120))  # fits one command-line argument of curl


def generate(base: str, headers: dict[str, str], **body: Any) -> httpx.Response:
    return httpx.post(f"{base}/api/v1/generate", headers=headers, json={"imageBase64": PHOTO, **body}, timeout=30)


def wait_job(base: str, headers: dict[str, str], job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        job: dict[str, Any] = httpx.get(f"{base}/api/v1/jobs/{job_id}", headers=headers, timeout=30).json()
        if job["status"] in TERMINAL:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish")


def picture(url: str) -> Image.Image:
    answer = httpx.get(url, timeout=30)  # a signed link: no credential needed
    assert answer.status_code == 200, answer.text
    image = Image.open(io.BytesIO(answer.content))
    image.load()
    assert image.format == "PNG"
    return image


def count(database_url: str, model: type[Run] | type[File] | type[LedgerEntry], workspace_id: str) -> int:
    async def work(db: Database) -> int:
        async with db.session() as session:
            query = select(func.count()).select_from(model).where(model.workspace_id == workspace_id)
            return int(await session.scalar(query) or 0)

    return with_db(database_url, work)


def ledger(api: httpx.Client, headers: dict[str, str], run_id: str) -> list[tuple[str, int]]:
    entries = api.get("/v1/credits/ledger", headers=headers).json()["data"]
    return [(e["kind"], e["amount"]) for e in entries if e["run_id"] == run_id]


def run_id_of(job_id: str, api: httpx.Client, headers: dict[str, str]) -> str:
    listed = api.get("/v1/generations", headers=headers).json()["data"]
    (run_id,) = [g["id"] for g in listed if as_uuid(g["id"]) == uuid.UUID(job_id)]
    return str(run_id)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_documented_curl_calls_run_as_written(base: str, funded: SeededAccount) -> None:
    body = (
        '{\n"mode": "style",\n"imageBase64": "' + SMALL_PHOTO + '",\n'
        '"prompt": "cinematic product photo on a clean studio background",\n'
        '"exportSize": "base",\n"outputAspect": "source"\n}'
    )
    created = subprocess.run(
        [
            "curl",
            "-s",
            "-X",
            "POST",
            f"{base}/api/v1/generate",
            "-H",
            f"Authorization: Bearer {funded.key}",
            "-H",
            "Content-Type: application/json",
            "-d",
            body,
        ],
        capture_output=True,
        check=True,
        text=True,
    )
    answer = httpx.Response(200, content=created.stdout).json()
    assert list(answer) == DOCUMENTED_ANSWER
    assert list(answer["quota"]) == DOCUMENTED_QUOTA
    job_id = answer["jobId"]
    assert uuid.UUID(job_id).version == 7
    assert answer["status"] == "queued"
    assert answer["statusUrl"] == f"/api/v1/jobs/{job_id}"
    assert answer["requestId"].startswith("req_")
    assert answer["quota"] == {
        "source": "plan",
        "scope": "user",
        "remaining": 100,
        "charged": False,
        "remainingAfterQueue": 97,  # image.style 2 + image.resize 1, reserved
        "chargedOnSuccess": True,
    }
    assert list(answer["rateLimit"]) == ["remainingThisMinute"]
    deadline = time.monotonic() + 90
    while True:
        polled = subprocess.run(
            ["curl", "-s", "-X", "GET", f"{base}{answer['statusUrl']}", "-H", f"Authorization: Bearer {funded.key}"],
            capture_output=True,
            check=True,
            text=True,
        )
        job = httpx.Response(200, content=polled.stdout).json()
        if job["status"] in TERMINAL:
            break
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert job["status"] == "succeeded", job
    assert job["jobId"] == job_id
    image = picture(job["downloadUrl"])
    assert image.size == (1024, 768)  # the base class's long side, the source's 4:3


@pytest.mark.parametrize(
    ("body", "sizes"),
    [
        ({"mode": "style", "style": "watercolor", "outputAspect": "1:1"}, [(1024, 1024)]),
        ({"mode": "variations", "prompt": "studio product shot"}, [(1024, 768)] * 5),
        ({"mode": "avatar", "style": "oil-paint", "outputAspect": "4:5"}, [(819, 1024)]),
        ({"mode": "avatar", "outputAspect": "1:1"}, [(1024, 1024)]),
        ({"mode": "enhance", "outputAspect": "16:9"}, [(1024, 576)]),
    ],
    ids=["style", "variations", "avatar-oil-paint", "avatar-default", "enhance"],
)
def test_each_mode_makes_real_images_of_the_asked_shape(
    base: str, funded: SeededAccount, body: dict[str, Any], sizes: list[tuple[int, int]]
) -> None:
    created = generate(base, funded.headers, **body)
    assert created.status_code == 202, created.text
    job = wait_job(base, funded.headers, created.json()["jobId"])
    assert job["status"] == "succeeded", job
    assert job["mode"] == body["mode"]
    assert job["model"] == "local/cv"
    assert job["progress"] == 100
    assert job["downloadUrl"] == job["downloadUrls"][0]
    assert "sig=" in job["downloadUrl"]
    assert job["downloadExpiresAt"] is not None
    images = [picture(url) for url in job["downloadUrls"]]
    assert [image.size for image in images] == sizes
    arrays = [np.asarray(image.convert("RGB"), dtype=np.int16) for image in images]
    source = cv2.resize(photo_like(320, 240), sizes[0]) if sizes[0] == (1024, 768) else None
    for array in arrays:
        assert array.std() > 10  # a picture, not a blank
        if source is not None:
            assert np.abs(array - source).mean() > 3  # styled, not the source scaled
    if body["mode"] == "variations":
        for index, array in enumerate(arrays[1:], start=1):
            assert np.abs(array - arrays[0]).mean() > 3, f"variation {index + 1} repeats the first"


def test_the_download_link_is_signed_and_short_lived(base: str, funded: SeededAccount, settings: Settings) -> None:
    job = wait_job(base, funded.headers, generate(base, funded.headers, mode="style").json()["jobId"])
    url = httpx.URL(job["downloadUrl"])
    expires = int(url.params["expires"])
    assert 0 < expires - time.time() <= settings.signed_url_ttl_seconds + 1
    bare = url.copy_remove_param("sig").copy_remove_param("expires")
    assert httpx.get(bare).status_code == 401  # the path itself is no public link
    forged = url.copy_set_param("sig", "0" * 64)
    assert httpx.get(forged).status_code == 404


def test_sources_by_image_key_and_by_an_earlier_job(base: str, api: httpx.Client, funded: SeededAccount) -> None:
    ok, encoded = cv2.imencode(".png", product_shot(200))
    assert ok
    uploaded = api.post("/v1/files", headers=funded.headers, files={"file": ("shot.png", encoded.tobytes())})
    assert uploaded.status_code == 201, uploaded.text
    first = httpx.post(
        f"{base}/api/v1/generate",
        headers=funded.headers,
        json={"mode": "enhance", "imageKey": uploaded.json()["id"], "outputAspect": "16:9"},
    )
    assert first.status_code == 202, first.text
    done = wait_job(base, funded.headers, first.json()["jobId"])
    assert picture(done["downloadUrl"]).size == (1024, 576)
    second = httpx.post(
        f"{base}/api/v1/generate",
        headers=funded.headers,
        json={"mode": "avatar", "sourceGenerationId": first.json()["jobId"], "outputAspect": "source"},
    )
    assert second.status_code == 202, second.text
    chained = wait_job(base, funded.headers, second.json()["jobId"])
    assert chained["status"] == "succeeded"
    assert picture(chained["downloadUrl"]).size == (1024, 576)  # the earlier job's 16:9 kept


def test_export_sizes_follow_the_plan(base: str, funded: SeededAccount, settings: Settings) -> None:
    pro = generate(base, funded.headers, mode="style", exportSize="2k")
    assert pro.status_code == 202, pro.text
    assert picture(wait_job(base, funded.headers, pro.json()["jobId"])["downloadUrl"]).size == (2048, 1536)
    refused = generate(base, funded.headers, mode="style", exportSize="4k")
    assert refused.status_code == 403
    body = refused.json()
    assert list(body) == ["error", "requestId"]
    assert body["error"]["code"] == "PLAN_FORBIDS"
    assert body["error"]["field"] == "exportSize"
    assert body["error"]["message"] == "exportSize 4k is not included in the pro plan; it allows base, 2k"
    assert body["requestId"] == refused.headers["x-request-id"]
    assert count(settings.resolved_database_url, Run, funded.workspace_id) == 1
    business = seed_account(settings.resolved_database_url, plan="business")
    grant(settings.resolved_database_url, business.workspace_id, 100)
    big = generate(base, business.headers, mode="enhance", exportSize="4k")
    assert big.status_code == 202, big.text
    assert picture(wait_job(base, business.headers, big.json()["jobId"])["downloadUrl"]).size == (4096, 3072)


@pytest.mark.parametrize("plan", ["free", "starter"])
def test_plans_without_api_access_are_refused(base: str, settings: Settings, plan: str) -> None:
    # Keys made before a downgrade (or by an operator) still meet the plan's rule here.
    locked = seed_account(settings.resolved_database_url, plan=plan)
    grant(settings.resolved_database_url, locked.workspace_id, 100)
    for answer in (
        generate(base, locked.headers, mode="style"),
        httpx.get(f"{base}/api/v1/jobs/{uuid.uuid4()}", headers=locked.headers),
    ):
        assert answer.status_code == 403
        assert answer.json()["error"]["code"] == "PLAN_FORBIDS"
        assert f"The {plan} plan does not include API access" in answer.json()["error"]["message"]
    assert count(settings.resolved_database_url, Run, locked.workspace_id) == 0


def test_quota_is_reserved_at_queue_time_and_charged_on_success(
    base: str, api: httpx.Client, funded: SeededAccount
) -> None:
    created = generate(base, funded.headers, mode="variations").json()
    assert (created["quota"]["remaining"], created["quota"]["remainingAfterQueue"]) == (100, 85)  # 5 x (2 + 1)
    second = generate(base, funded.headers, mode="style").json()
    assert (second["quota"]["remaining"], second["quota"]["remainingAfterQueue"]) in [(100, 82), (85, 82)]
    jobs = [wait_job(base, funded.headers, c["jobId"]) for c in (created, second)]
    assert [(j["status"], j["credits"]) for j in jobs] == [("succeeded", 15), ("succeeded", 3)]
    wallet = api.get("/v1/credits/wallet", headers=funded.headers).json()
    assert (wallet["balance"], wallet["reserved"]) == (82, 0)
    run_id = run_id_of(created["jobId"], api, funded.headers)
    assert ledger(api, funded.headers, run_id) == [("capture", 15), ("hold", 15)]
    # Polling spends rate limit only.
    for _ in range(5):
        httpx.get(f"{base}/api/v1/jobs/{created['jobId']}", headers=funded.headers)
    assert api.get("/v1/credits/wallet", headers=funded.headers).json()["balance"] == 82


def test_a_failed_job_gives_every_reserved_credit_back(settings: Settings) -> None:
    # 4096 x 4096 passes no pixel limit of 2 million: the resize fails after the style step ran.
    server = start_server(settings.model_copy(update={"max_image_pixels": 2_000_000}))
    try:
        business = seed_account(settings.resolved_database_url, plan="business")
        grant(settings.resolved_database_url, business.workspace_id, 100)
        created = generate(server.url, business.headers, mode="style", exportSize="4k")
        assert created.status_code == 202, created.text
        assert created.json()["quota"]["remainingAfterQueue"] == 97
        job = wait_job(server.url, business.headers, created.json()["jobId"])
        with httpx.Client(base_url=server.url, headers=business.headers) as api:
            run_id = run_id_of(job["jobId"], api, {})
            run = api.get(f"/v1/runs/{run_id}").json()
            wallet = api.get("/v1/credits/wallet").json()
            entries = ledger(api, {}, run_id)
    finally:
        server.stop()
    assert job["status"] == "failed"
    assert job["error"]["code"] == "IMAGE_TOO_LARGE", job
    assert (job["downloadUrl"], job["downloadUrls"], job["credits"]) == (None, [], 0)
    # The style step ran and cost 2, which the canonical rule would keep; imagerift's charges nothing.
    assert (run["nodes"][0]["node_id"], run["nodes"][0]["status"], run["nodes"][0]["credits"]) == (
        "image",
        "completed",
        2,
    )
    assert (run["status"], run["credits_used"]) == ("failed", 0)
    assert entries == [("release", 3), ("hold", 3)]
    assert (wallet["balance"], wallet["reserved"]) == (100, 0)


def test_a_team_workspace_key_draws_on_the_team_quota(base: str, settings: Settings, funded: SeededAccount) -> None:
    async def make_team(db: Database) -> tuple[str, str]:
        async with db.session() as session:
            team = await WorkspaceService(session).create_team(funded.user_id, "Studio", plan="business")
            key = await ApiKeyService(session).create(team.id, name="ci", mode="live", created_by=funded.user_id)
        return team.id, key.secret

    team_id, secret = with_db(settings.resolved_database_url, make_team)
    grant(settings.resolved_database_url, team_id, 40)
    answer = generate(base, {"Authorization": f"Bearer {secret}"}, mode="style")
    assert answer.status_code == 202, answer.text
    assert answer.json()["quota"] == {
        "source": "plan",
        "scope": "team",
        "remaining": 40,
        "charged": False,
        "remainingAfterQueue": 37,
        "chargedOnSuccess": True,
    }
    assert generate(base, funded.headers, mode="style").json()["quota"]["scope"] == "user"


@pytest.fixture
def parked(settings: Settings) -> Iterator[str]:
    """A server whose jobs stay queued: it hands them to a broker nobody listens on."""
    server = start_server(settings.model_copy(update={"dispatch": "celery", "broker_url": CLOSED_PORT_BROKER}))
    yield server.url
    server.stop()


def test_cancel_a_queued_job_releases_its_credits(parked: str, funded: SeededAccount) -> None:
    created = generate(parked, funded.headers, mode="variations").json()
    queued = httpx.get(f"{parked}/api/v1/jobs/{created['jobId']}", headers=funded.headers).json()
    assert (queued["status"], queued["progress"], queued["credits"], queued["downloadUrl"]) == ("queued", 0, 15, None)
    cancelled = httpx.post(f"{parked}/api/v1/jobs/{created['jobId']}/cancel", headers=funded.headers)
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["status"], cancelled.json()["credits"]) == ("canceled", 0)
    assert httpx.get(f"{parked}/api/v1/jobs/{created['jobId']}", headers=funded.headers).json()["status"] == "canceled"
    wallet = httpx.get(f"{parked}/v1/credits/wallet", headers=funded.headers).json()
    assert (wallet["balance"], wallet["reserved"]) == (100, 0)
    again = httpx.post(f"{parked}/api/v1/jobs/{created['jobId']}/cancel", headers=funded.headers)
    assert again.status_code == 409
    assert again.json()["error"] == {
        "code": "RUN_NOT_CANCELLABLE",
        "message": f"Job {created['jobId']} has already canceled",
        "status": "canceled",
    }
    # A queued job is no source yet.
    waiting = generate(parked, funded.headers, mode="style").json()
    chained = httpx.post(
        f"{parked}/api/v1/generate",
        headers=funded.headers,
        json={"mode": "style", "sourceGenerationId": waiting["jobId"]},
    )
    assert chained.status_code == 409
    assert chained.json()["error"]["field"] == "sourceGenerationId"
    assert "queued" in chained.json()["error"]["message"]


def test_another_workspaces_job_is_not_found(
    base: str, api: httpx.Client, funded: SeededAccount, settings: Settings
) -> None:
    other = seed_account(settings.resolved_database_url)
    grant(settings.resolved_database_url, other.workspace_id, 100)
    theirs = generate(base, other.headers, mode="style").json()["jobId"]
    canonical = api.post(
        "/v1/generations", headers=funded.headers, json={"generation_type": "voice", "prompt": "Not a job."}
    )
    assert canonical.status_code == 201, canonical.text
    not_a_job = str(as_uuid(canonical.json()["id"]))  # a generation of mine, not made through imagerift
    for job_id in (theirs, not_a_job, str(uuid.uuid4()), "not-a-uuid"):
        for method, path in (("GET", f"/api/v1/jobs/{job_id}"), ("POST", f"/api/v1/jobs/{job_id}/cancel")):
            answer = httpx.request(method, f"{base}{path}", headers=funded.headers)
            assert answer.status_code == 404, (job_id, path, answer.text)
            assert answer.json()["error"] == {"code": "NOT_FOUND", "message": "Job not found"}
            assert answer.json()["requestId"].startswith("req_")
    chained = httpx.post(
        f"{base}/api/v1/generate", headers=funded.headers, json={"mode": "style", "sourceGenerationId": theirs}
    )
    assert chained.status_code == 404
    assert chained.json()["error"]["field"] == "sourceGenerationId"
    assert wait_job(base, other.headers, theirs)["status"] == "succeeded"  # still its owner's


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"mode": "style"}, 422, "VALIDATION_ERROR", "imageBase64"),
        ({"mode": "style", "imageBase64": "not base64 at all!"}, 422, "INVALID_IMAGE", "imageBase64"),
        (
            {"mode": "style", "imageBase64": base64.b64encode(b"just some text").decode()},
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            "imageBase64",
        ),
        ({"mode": "cubism", "imageBase64": PHOTO}, 422, "VALIDATION_ERROR", "mode"),
        ({"imageBase64": PHOTO}, 422, "VALIDATION_ERROR", "mode"),
        ({"mode": "style", "imageBase64": PHOTO, "imageKey": "file_x"}, 422, "VALIDATION_ERROR", "imageKey"),
        ({"mode": "style", "imageKey": "file_01NOSUCHFILE0000000000000"}, 404, "NOT_FOUND", "imageKey"),
        ({"mode": "avatar", "imageBase64": PHOTO, "style": "noir"}, 422, "VALIDATION_ERROR", "style"),
        ({"mode": "style", "imageBase64": PHOTO, "outputAspect": "7:3"}, 422, "VALIDATION_ERROR", "outputAspect"),
        ({"mode": "style", "imageBase64": PHOTO, "exportSize": "8k"}, 422, "VALIDATION_ERROR", "exportSize"),
    ],
    ids=[
        "no-source",
        "bad-base64",
        "not-an-image",
        "unknown-mode",
        "no-mode",
        "two-sources",
        "unknown-key",
        "avatar-style",
        "aspect",
        "export-size",
    ],
)
def test_bad_input_is_a_clear_error_and_leaves_nothing_behind(
    base: str, funded: SeededAccount, settings: Settings, body: dict[str, Any], status: int, code: str, field: str
) -> None:
    answer = httpx.post(f"{base}/api/v1/generate", headers=funded.headers, json=body)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert (error["code"], error["field"]) == (code, field), error
    assert "image_base64" not in error["message"]
    assert "file_id" not in error["message"]
    url = settings.resolved_database_url
    assert [count(url, model, funded.workspace_id) for model in (Run, File, LedgerEntry)] == [0, 0, 1]  # the grant


def test_insufficient_credits_is_402_and_queues_nothing(base: str, account: SeededAccount, settings: Settings) -> None:
    answer = generate(base, account.headers, mode="style")
    assert answer.status_code == 402
    assert answer.json()["error"]["code"] == "INSUFFICIENT_CREDITS"
    assert (answer.json()["error"]["required"], answer.json()["error"]["available"]) == (3, 0)
    assert count(settings.resolved_database_url, Run, account.workspace_id) == 0
    assert count(settings.resolved_database_url, File, account.workspace_id) == 0


def test_a_missing_or_invalid_key_is_401_in_imagerifts_shape(base: str) -> None:
    for headers in ({}, {"Authorization": "Bearer pm_live_nothing"}):
        answer = httpx.post(f"{base}/api/v1/generate", headers=headers, json={"mode": "style"})
        assert answer.status_code == 401
        assert list(answer.json()) == ["error", "requestId"]
        assert answer.json()["error"]["code"] == "UNAUTHENTICATED"


def test_a_job_is_a_canonical_generation_on_the_same_ledger(
    base: str, api: httpx.Client, funded: SeededAccount
) -> None:
    created = generate(base, funded.headers, mode="avatar", prompt="smiling", outputAspect="1:1").json()
    job = wait_job(base, funded.headers, created["jobId"])
    run_id = run_id_of(created["jobId"], api, funded.headers)
    run = api.get(f"/v1/runs/{run_id}", headers=funded.headers).json()
    assert (run["kind"], run["status"], run["credits_used"]) == ("generation", "completed", 4)
    assert run["metadata"]["dialect"] == {"name": "imagerift"}
    assert (run["metadata"]["mode"], run["metadata"]["model_name"]) == ("avatar", "local/cv")
    assert [n["type"] for n in run["nodes"]] == ["image.style", "image.reframe", "image.resize"]
    generation = api.get(f"/v1/generations/{run_id}", headers=funded.headers).json()
    assert (generation["status"], generation["prompt"], generation["credit_cost"]) == ("completed", "smiling", 4)
    assert api.get(generation["outputs"][0]).content == httpx.get(job["downloadUrl"]).content
    assert ledger(api, funded.headers, run_id) == [("capture", 4), ("hold", 4)]
    wallet = api.get("/v1/credits/wallet", headers=funded.headers).json()
    assert (wallet["balance"], wallet["reserved"]) == (96, 0)


def test_rate_limit_is_the_plans_and_polling_counts(settings: Settings, funded: SeededAccount) -> None:
    server = start_server(settings.model_copy(update={"plans": default_plans()}))  # pro: 30 requests a minute
    try:
        created = generate(server.url, funded.headers, mode="style")
        polls = [httpx.get(f"{server.url}{created.json()['statusUrl']}", headers=funded.headers) for _ in range(30)]
    finally:
        server.stop()
    assert created.json()["rateLimit"] == {"remainingThisMinute": 29}
    assert [p.status_code for p in polls[:29]] == [200] * 29
    limited = polls[29]
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "RATE_LIMITED"
    assert "30 requests per minute" in limited.json()["error"]["message"]
    assert 0 < int(limited.headers["Retry-After"]) <= 60


def test_what_the_input_edge_refuses_answers_in_imagerifts_shape(base: str, funded: SeededAccount) -> None:
    headers = {**funded.headers, "Content-Type": "application/json"}
    content = b'{"mode": "style", "imageBase64": "a\\u0000b"}'  # NUL: refused before any route runs
    answer = httpx.post(f"{base}/api/v1/generate", headers=headers, content=content)
    assert answer.status_code == 422, answer.text
    assert list(answer.json()) == ["error", "requestId"]
    assert answer.json()["requestId"] == answer.headers["x-request-id"]
    # ImagineLab's neighbouring path keeps ImagineLab's shape.
    imaginelab = httpx.post(f"{base}/api/v1/generations", headers=headers, content=content)
    assert (imaginelab.status_code, list(imaginelab.json())) == (400, ["detail"])
