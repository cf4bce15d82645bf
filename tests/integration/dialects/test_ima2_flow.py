"""ima2's CLI flows end to end over HTTP, sent as ima2's CLI sends them (its headers, its
``req_cli_<cmd>_…`` request ids, ``Accept: text/event-stream`` for streams): ``ping``, ``session``
create and ``graph save/load``, ``gen``, ``edit``, ``multimode``, ``ls``, ``ps`` and ``cancel``, plus
an async generation followed on ``/api/events`` whose ``done`` names the file ``/generated`` serves.

Both ways ima2's clients reach a server: no credentials on loopback (single-user mode) and
``X-Ima2-Token`` carrying a pixelmill key. SQLite and PostgreSQL both.
"""

from __future__ import annotations

import base64
import io
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import func, select

from pixelmill.config import Settings
from pixelmill.db.models import File, Run
from tests.integration.runs.conftest import run_settings
from tests.support.accounts import SeededAccount, seed_account
from tests.support.ima2_jobs import create_job, job, sleep_graph
from tests.support.run_nodes import GATES, use_run_nodes
from tests.support.runs import grant, with_db
from tests.support.server import LiveServer, start_server
from tests.support.sse import parse_frames

CLI_HEADERS = {"Content-Type": "application/json", "X-ima2-client": "cli/2.0.20"}


def cli_request_id(command: str) -> str:
    """An id as ima2's CLI makes one: ``req_cli_<cmd>_<base36 time>_<random>``."""
    stamp, digits = int(time.time() * 1000), "0123456789abcdefghijklmnopqrstuvwxyz"
    b36 = ""
    while stamp:
        stamp, rest = divmod(stamp, 36)
        b36 = digits[rest] + b36
    return f"req_cli_{command}_{b36}_{secrets.token_hex(3)}"


def decoded_png(data_url: str) -> Image.Image:
    head, _, payload = data_url.partition(",")
    assert head == "data:image/png;base64"
    picture = Image.open(io.BytesIO(base64.b64decode(payload)))
    picture.load()
    assert picture.format == "PNG"
    return picture


def sse(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return [
        (frame.event, frame.data)
        for frame in parse_frames(response.text.splitlines())
        if frame.event is not None and frame.data is not None
    ]


def counts(database_url: str, workspace_id: str) -> tuple[int, int]:
    """How many runs and files the workspace has: a refused request must add neither."""

    async def read(db: Any) -> tuple[int, int]:
        async with db.session() as session:
            runs = await session.scalar(select(func.count()).select_from(Run).where(Run.workspace_id == workspace_id))
            files = await session.scalar(
                select(func.count()).select_from(File).where(File.workspace_id == workspace_id)
            )
        return int(runs or 0), int(files or 0)

    result: tuple[int, int] = with_db(database_url, read)
    return result


@pytest.fixture
def settings(tmp_path: Any, database_url: str) -> Settings:
    return run_settings(tmp_path, database_url, anonymous_loopback=True, ima2_max_parallel=2)


@pytest.fixture
def operator(settings: Settings) -> SeededAccount:
    account = seed_account(settings.resolved_database_url, plan="operator", operator=True)
    grant(settings.resolved_database_url, account.workspace_id, 5000)
    return account


@pytest.fixture
def server(settings: Settings, operator: SeededAccount) -> Iterator[LiveServer]:
    live = start_server(settings)
    use_run_nodes(live.app.state.runtime)
    try:
        yield live
    finally:
        GATES.reset()
        live.stop()


@pytest.fixture(params=["anonymous", "x-ima2-token"])
def cli(request: pytest.FixtureRequest, server: LiveServer, operator: SeededAccount) -> Iterator[httpx.Client]:
    """ima2's CLI as it reaches pixelmill: nothing on loopback, or its LAN token header."""
    headers = dict(CLI_HEADERS)
    if request.param == "x-ima2-token":
        headers["X-Ima2-Token"] = operator.key
    with httpx.Client(base_url=server.url, headers=headers, timeout=120) as client:
        yield client


def test_ping_session_gen_edit_multimode_ls(cli: httpx.Client) -> None:
    health = cli.get("/api/health").json()  # `ima2 ping` (and the probe before every command)
    assert isinstance(health["version"], str)
    assert isinstance(health["uptimeSec"], int | float)
    assert health["activeJobs"] == 0

    # `ima2 session create`, then `session graph load` and `graph save` read `session.graph`.
    created = cli.post("/api/sessions", json={"title": "flow"})
    assert created.status_code == 201, created.text
    sid = created.json()["session"]["id"]
    graph = cli.get(f"/api/sessions/{sid}").json()["session"]["graph"]
    assert graph == {"nodes": [], "edges": [], "version": 0}
    saved = cli.put(
        f"/api/sessions/{sid}/graph",
        json={"nodes": [{"id": "a", "x": 1, "y": 2, "data": {}}], "edges": []},
        headers={"If-Match": f'"{graph["version"]}"'},
    )
    assert saved.json() == {"ok": True, "nodes": 1, "edges": 0, "graphVersion": 1}
    assert cli.get(f"/api/sessions/{sid}").json()["session"]["graph"]["version"] == 1

    # `ima2 gen -n 2`: images[].{image, filename}, decoded locally by the CLI.
    gen_id = cli_request_id("gen")
    body = {
        "prompt": "a paper boat",
        "quality": "low",
        "size": "64x64",
        "n": 2,
        "references": [],
        "mode": "auto",
        "moderation": "low",
        "sessionId": sid,
        "requestId": gen_id,
    }
    generated = cli.post("/api/generate", json=body, headers={"X-Request-Id": gen_id})
    assert generated.status_code == 200, generated.text
    answer = generated.json()
    assert answer["requestId"] == gen_id
    names = [item["filename"] for item in answer["images"]]
    assert [name.rsplit("_", 1)[1] for name in names] == ["0.png", "1.png"]
    assert all(decoded_png(item["image"]).size == (64, 64) for item in answer["images"])

    # `ima2 edit`: the raw base64 image; the answer's image is a PNG data URL.
    raw = base64.b64encode(base64.b64decode(answer["images"][0]["image"].partition(",")[2])).decode()
    edit_id = cli_request_id("edit")
    edited = cli.post(
        "/api/edit",
        json={"prompt": "make it blue", "image": raw, "quality": "low", "requestId": edit_id},
        headers={"X-Request-Id": edit_id},
    )
    assert edited.status_code == 200, edited.text
    assert decoded_png(edited.json()["image"]).size[0] > 0
    assert "requestId" not in edited.json()

    # `ima2 multimode`: SSE; the CLI collects the `image` events and reads done.returned/requested.
    multi_id = cli_request_id("multimode")
    streamed = cli.post(
        "/api/generate/multimode",
        json={"prompt": "three kites", "size": "64x64", "maxImages": 2, "requestId": multi_id},
        headers={"X-Request-Id": multi_id, "Accept": "text/event-stream"},
    )
    events = sse(streamed)
    assert [name for name, _ in events] == ["phase", "image", "image", "done"]
    images = [data for name, data in events if name == "image"]
    assert all(decode.endswith(".png") for decode in (image["filename"] for image in images))
    assert (events[-1][1]["requested"], events[-1][1]["returned"]) == (2, 2)

    # `ima2 ls` (and `ls --session`): the files just made, newest first.
    listed = cli.get("/api/history", params={"limit": 20}).json()["items"]
    assert {item["filename"] for item in listed} >= {*names, edited.json()["filename"]}
    assert {image["filename"] for image in images} <= {item["filename"] for item in listed}
    in_session = cli.get("/api/history", params={"limit": 20, "sessionId": sid}).json()["items"]
    assert sorted(item["filename"] for item in in_session) == sorted(names)
    assert all({"filename", "quality", "size", "createdAt", "prompt"} <= set(item) for item in in_session)


def test_ps_cancel_and_the_job_checks(
    cli: httpx.Client, settings: Settings, operator: SeededAccount, server: LiveServer
) -> None:
    # A long job of the workspace, as a client's earlier request left it running.
    busy_id = cli_request_id("gen")
    busy_run = create_job(settings, operator, job(busy_id), sleep_graph(30))
    deadline = time.monotonic() + 20
    while not cli.get("/api/inflight").json()["jobs"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    # `ima2 ps`
    (listed,) = cli.get("/api/inflight").json()["jobs"]
    assert (listed["requestId"], listed["kind"]) == (busy_id, "classic")

    database = settings.resolved_database_url
    before = counts(database, operator.workspace_id)
    reused = cli.post(
        "/api/generate",
        json={"prompt": "again", "size": "64x64", "requestId": busy_id, "references": [png_b64()]},
    )
    assert reused.status_code == 409, reused.text
    assert reused.json()["code"] == "REQUEST_ID_IN_USE"
    assert reused.json()["requestId"] == busy_id
    assert counts(database, operator.workspace_id) == before  # no run, no uploaded reference

    # One more active job fills the cap of 2; the next is refused with Retry-After, nothing written.
    second = create_job(settings, operator, job(cli_request_id("gen")), sleep_graph(30))
    over_id = cli_request_id("gen")
    before = counts(database, operator.workspace_id)
    refused = cli.post("/api/edit", json={"prompt": "x", "image": png_b64()})
    assert refused.status_code == 429, refused.text
    assert refused.headers["retry-after"] == "5"
    assert refused.json()["code"] == "TOO_MANY_JOBS"
    refused_gen = cli.post("/api/generate", json={"prompt": "x", "size": "64x64", "requestId": over_id})
    assert (refused_gen.status_code, refused_gen.json()["requestId"]) == (429, over_id)
    assert counts(database, operator.workspace_id) == before

    # `ima2 cancel <requestId>`
    cancelled = cli.delete(f"/api/inflight/{busy_id}")
    assert cancelled.json() == {"requestId": busy_id, "active": True, "aborted": True}
    server_client = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {operator.key}"})
    with server_client:
        server_client.post(f"/v1/runs/{second}/cancel")
        deadline = time.monotonic() + 20
        while {server_client.get(f"/v1/runs/{run}").json()["status"] for run in (busy_run, second)} != {"cancelled"}:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    terminal = terminal_jobs(cli)
    assert (terminal[busy_id]["status"], terminal[busy_id]["errorCode"]) == ("canceled", "GENERATION_CANCELED")
    assert "filenames" not in terminal[busy_id]["meta"]

    # The id is free again once its job ended; the finished job's files are in `ps --terminal`.
    again = cli.post("/api/generate", json={"prompt": "again", "size": "64x64", "requestId": busy_id})
    assert again.status_code == 200, again.text
    terminal = terminal_jobs(cli)
    assert terminal[busy_id]["status"] == "completed"
    assert terminal[busy_id]["meta"]["filenames"] == [again.json()["filename"]]
    assert terminal[busy_id]["meta"]["imageCount"] == 1
    by_request = cli.get("/api/history", params={"limit": 5, "requestId": busy_id}).json()["items"]
    assert [item["filename"] for item in by_request] == [again.json()["filename"]]


def terminal_jobs(cli: httpx.Client) -> dict[str, dict[str, Any]]:
    """``ima2 ps --terminal``: finished jobs by requestId (a reused id's latest job last, so it wins)."""
    answer = cli.get("/api/inflight", params={"includeTerminal": "1"}).json()
    return {item["requestId"]: item for item in answer["terminalJobs"]}


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (10, 120, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


def png_b64() -> str:
    return base64.b64encode(png_bytes()).decode()


def watched(cli: httpx.Client, request_id: str, post: Callable[[], httpx.Response]) -> list[tuple[str, dict[str, Any]]]:
    """The ``/api/events`` frames of job ``request_id`` up to its ``done`` or ``error``, as ima2's web
    client follows a job: the stream is open before ``post`` sends the async request."""
    frames: list[tuple[str, dict[str, Any]]] = []
    opened = threading.Event()

    def listen() -> None:
        with cli.stream("GET", "/api/events", timeout=60) as stream:
            assert stream.status_code == 200
            opened.set()
            for frame in parse_frames(stream.iter_lines()):
                data = frame.data
                if frame.event is not None and data is not None and data.get("jobId") == request_id:
                    frames.append((frame.event, data))
                    if frame.event in ("done", "error"):
                        return

    listener = threading.Thread(target=listen)
    listener.start()
    assert opened.wait(15)
    accepted = post()
    assert accepted.status_code == 202, accepted.text
    listener.join(60)
    assert not listener.is_alive()
    return frames


def test_async_generation_on_the_events_stream(cli: httpx.Client) -> None:
    """ima2's web client: ``async: true`` answers 202, the job reports on ``/api/events``, and its
    ``done`` names the file that ``/generated`` then serves."""
    request_id = cli_request_id("gen")
    body = {"prompt": "a kite", "size": "64x64", "async": True, "requestId": request_id}
    accepted: list[httpx.Response] = []

    def post() -> httpx.Response:
        accepted.append(cli.post("/api/generate", json=body))
        return accepted[-1]

    frames = watched(cli, request_id, post)
    assert accepted[0].json() == {"requestId": request_id, "async": True}
    assert [name for name, _ in frames][-1] == "done"
    assert "phase" in [name for name, _ in frames]
    done = frames[-1][1]
    assert (done["requestId"], done["jobId"]) == (request_id, request_id)
    filename = done["filename"]
    assert filename.endswith("_0.png")
    picture = decoded_png(done["image"])
    served = cli.get(f"/generated/{filename}")
    assert served.status_code == 200
    assert served.content == base64.b64decode(done["image"].partition(",")[2])
    assert Image.open(io.BytesIO(served.content)).size == picture.size == (64, 64)
    listed = cli.get("/api/history", params={"requestId": request_id}).json()["items"]
    assert [item["filename"] for item in listed] == [filename]


def test_async_multimode_sends_its_images_then_done_on_the_events_stream(cli: httpx.Client) -> None:
    request_id = cli_request_id("multimode")
    body = {"prompt": "two moons", "size": "64x64", "maxImages": 2, "async": True, "requestId": request_id}
    frames = watched(cli, request_id, lambda: cli.post("/api/generate/multimode", json=body))
    assert [name for name, _ in frames][-3:] == ["image", "image", "done"]
    images, done = [data for _, data in frames[-3:-1]], frames[-1][1]
    assert [image["sequenceIndex"] for image in images] == [1, 2]
    names = [image["filename"] for image in images]
    assert all("_multimode_" in name for name in names)
    assert [image["filename"] for image in done["images"]] == names
    assert (done["requested"], done["returned"], done["status"]) == (2, 2, "complete")
    for image in images:
        assert cli.get(f"/generated/{image['filename']}").content == base64.b64decode(image["image"].partition(",")[2])
