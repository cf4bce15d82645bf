"""Create, read, list and delete runs over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from urllib.parse import urlsplit

import httpx
from PIL import Image

from pixelmill.config import Settings
from tests.support.accounts import SeededAccount
from tests.support.run_nodes import GATES
from tests.support.runs import TERMINAL, books, edge, grant, node, wait_for, wait_node
from tests.support.sse import parse_frames


def test_prefer_wait_answers_with_the_finished_run(api: httpx.Client, account: SeededAccount) -> None:
    graph = {
        "nodes": [node("a", "math.add", a=2, b=3), node("b", "math.multiply", b=4)],
        "edges": [edge("a", "b", "a")],
    }
    response = api.post("/v1/runs", json={"graph": graph}, headers={**account.headers, "Prefer": "wait=10"})
    assert response.status_code == 201, response.text
    assert response.headers["Preference-Applied"] == "wait=10"
    body = response.json()
    assert body["run_id"].startswith("run_")
    assert response.headers["Location"] == f"/v1/runs/{body['run_id']}"
    assert (body["status"], body["kind"], body["mode"], body["error"], body["queue_position"]) == (
        "completed",
        "graph",
        "live",
        None,
        None,
    )
    assert body["outputs"] == {"a": {"type": "json", "value": 5.0}, "b": {"type": "json", "value": 20.0}}
    assert [(n["node_id"], n["type"], n["status"], n["cached"]) for n in body["nodes"]] == [
        ("a", "math.add", "completed", False),
        ("b", "math.multiply", "completed", False),
    ]
    assert body["created_at"] <= body["started_at"] <= body["completed_at"]
    assert api.get(f"/v1/runs/{body['run_id']}", headers=account.headers).json()["outputs"] == body["outputs"]


def test_create_answers_queued_at_once_and_the_run_settles_its_hold(
    api: httpx.Client, account: SeededAccount, settings: Settings
) -> None:
    grant(settings.resolved_database_url, account.workspace_id, 100)
    graph = {"nodes": [node("s", "test.sleep", seconds=0.05, price=7, value=1.5)], "edges": []}
    response = api.post("/v1/runs", json={"graph": graph}, headers=account.headers)
    assert response.status_code == 201, response.text
    assert set(response.json()) == {"run_id", "status"}
    assert response.json()["status"] == "queued"
    assert "Preference-Applied" not in response.headers
    run = wait_for(api, account.headers, response.json()["run_id"], until=TERMINAL)
    assert (run["status"], run["credits_reserved"], run["credits_used"]) == ("completed", 7, 7)
    assert run["nodes"][0]["credits"] == 7
    assert run["outputs"] == {"s": {"type": "json", "value": 1.5}}
    ledger = books(settings.resolved_database_url, account.workspace_id)
    assert (ledger.wallet.balance, ledger.wallet.reserved) == (93, 0)
    assert ledger.audit == ledger.wallet
    assert ledger.sums == {"grant": 100, "hold": 7, "capture": 7}


def _image(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_media_outputs_are_signed_urls_on_this_server(
    api: httpx.Client, account: SeededAccount, other: SeededAccount, settings: Settings
) -> None:
    grant(settings.resolved_database_url, account.workspace_id, 100)
    graph = {
        "nodes": [
            node("gen", "image.generate", prompt="a red kite", size="96x64", n=2),
            node("big", "image.upscale", factor=2),
        ],
        "edges": [edge("gen", "big", "image", source_field="image")],
    }
    run = api.post("/v1/runs", json={"graph": graph}, headers={**account.headers, "Prefer": "wait=30"}).json()
    assert run["status"] == "completed", run["error"]
    images, big = run["outputs"]["gen"], run["outputs"]["big"]
    assert images["type"] == "images"
    assert big["type"] == "image"
    assert len(images["value"]) == 2
    for index, url in enumerate(images["value"]):
        assert url.startswith(f"{api.base_url}/v1/outputs/runs/{run['run_id']}/gen.{index}.png?expires=")
        fetched = httpx.get(url)  # no credential: the signature is the permission
        assert fetched.status_code == 200
        assert fetched.headers["content-type"] == "image/png"
        assert _image(fetched.content).size == (96, 64)
    assert _image(httpx.get(big["value"]).content).size == (192, 128)

    path = urlsplit(big["value"]).path
    assert path == f"/v1/outputs/runs/{run['run_id']}/big.png"
    # A forged link and another workspace's credential both answer like an output that is not there.
    missing = api.get(path.replace(run["run_id"], "run_01UNKNOWN"), headers=other.headers)
    assert missing.status_code == 404
    tampered = api.get(big["value"].replace("big.png", "gen.0.png"))
    foreign = api.get(path, headers=other.headers)
    assert (tampered.status_code, foreign.status_code) == (404, 404)
    assert foreign.text.replace(run["run_id"], "<id>") == missing.text.replace("run_01UNKNOWN", "<id>")
    no_such_output = api.get(path.replace("big.png", "gen.9.png"), headers=account.headers)
    assert tampered.text.replace("gen.0.png", "<name>") == no_such_output.text.replace("gen.9.png", "<name>")
    assert api.get(path).status_code == 401
    assert api.get(path, headers=account.headers).status_code == 200
    assert api.get(path.replace(".png", ".jpg"), headers=account.headers).status_code == 404
    assert api.get(f"/v1/outputs/runs/{run['run_id']}/gen.png", headers=account.headers).status_code == 404


def test_a_run_of_another_workspace_answers_like_an_unknown_one(
    api: httpx.Client, account: SeededAccount, other: SeededAccount
) -> None:
    graph = {"nodes": [node("a", "math.add", a=1, b=1)], "edges": []}
    run_id = api.post("/v1/runs", json={"graph": graph}, headers={**account.headers, "Prefer": "wait=10"}).json()[
        "run_id"
    ]
    for method, path in (("GET", ""), ("POST", "/cancel"), ("DELETE", ""), ("POST", "/restore")):
        response = api.request(method, f"/v1/runs/{run_id}{path}", headers=other.headers)
        unknown = api.request(method, f"/v1/runs/run_01UNKNOWN{path}", headers=account.headers)
        assert (response.status_code, unknown.status_code) == (404, 404), (method, path)
        assert unknown.json()["error"]["code"] == "NOT_FOUND"
        assert response.text.replace(run_id, "<id>") == unknown.text.replace("run_01UNKNOWN", "<id>")
    assert api.get(f"/v1/runs/{run_id}").status_code == 401


def test_a_bad_graph_is_422_naming_the_node_and_leaves_nothing(
    api: httpx.Client, account: SeededAccount, settings: Settings
) -> None:
    grant(settings.resolved_database_url, account.workspace_id, 50)
    graph = {"nodes": [node("ok", "test.sleep", price=5), node("bad", "no.such.type")], "edges": []}
    response = api.post("/v1/runs", json={"graph": graph}, headers=account.headers)
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["code"], error["node_id"], error["field"]) == ("UNKNOWN_NODE_TYPE", "bad", "type")
    cycle = {
        "nodes": [node("x", "math.add"), node("y", "math.add")],
        "edges": [edge("x", "y", "a"), edge("y", "x", "a")],
    }
    assert api.post("/v1/runs", json={"graph": cycle}, headers=account.headers).json()["error"]["code"] == "GRAPH_CYCLE"
    shape = api.post(
        "/v1/runs", json={"graph": {"nodes": [{"id": "a.b", "type": "math.add"}]}}, headers=account.headers
    )
    assert shape.status_code == 422
    assert api.get("/v1/runs", headers=account.headers).json() == {"data": [], "next_cursor": None}
    ledger = books(settings.resolved_database_url, account.workspace_id)
    assert (ledger.wallet.balance, ledger.wallet.reserved, ledger.sums) == (50, 0, {"grant": 50})


def test_list_is_newest_first_with_a_cursor_and_a_status_filter(api: httpx.Client, account: SeededAccount) -> None:
    created = []
    for value in range(5):
        graph = {"nodes": [node("a", "math.add", a=value, b=0.5)], "edges": []}
        created.append(
            api.post("/v1/runs", json={"graph": graph}, headers={**account.headers, "Prefer": "wait=10"}).json()
        )
    queued = api.post(
        "/v1/runs", json={"graph": {"nodes": [node("g", "test.gate", name="list-filter")]}}, headers=account.headers
    ).json()
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = api.get("/v1/runs", params=params, headers=account.headers).json()
        seen += [item["run_id"] for item in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [queued["run_id"], *[run["run_id"] for run in reversed(created)]]
    finished = api.get("/v1/runs", params={"status": "completed", "limit": 100}, headers=account.headers).json()
    assert [item["run_id"] for item in finished["data"]] == [run["run_id"] for run in reversed(created)]
    assert finished["data"][0]["outputs"] == {"a": {"type": "json", "value": 4.5}}
    active = api.get("/v1/runs", params=[("status", "queued"), ("status", "running")], headers=account.headers).json()
    assert [item["run_id"] for item in active["data"]] == [queued["run_id"]]
    GATES.open("list-filter")
    wait_for(api, account.headers, queued["run_id"], until={"completed"})


def test_delete_hides_a_finished_run_and_refuses_an_active_one(api: httpx.Client, account: SeededAccount) -> None:
    blocked = api.post(
        "/v1/runs", json={"graph": {"nodes": [node("g", "test.gate", name="delete-active")]}}, headers=account.headers
    ).json()["run_id"]
    wait_node(api, account.headers, blocked, "g", "running")
    refused = api.delete(f"/v1/runs/{blocked}", headers=account.headers)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "RUN_NOT_FINISHED"
    GATES.open("delete-active")
    wait_for(api, account.headers, blocked, until={"completed"})
    assert api.delete(f"/v1/runs/{blocked}", headers=account.headers).json() == {"ok": True}
    assert api.get(f"/v1/runs/{blocked}", headers=account.headers).status_code == 404
    assert api.get("/v1/runs", headers=account.headers).json()["data"] == []
    assert api.delete(f"/v1/runs/{blocked}", headers=account.headers).status_code == 404
    # The deletion is an event of the workspace's stream (InvokeAI's queue_cleared is said from it).
    replay = {**account.headers, "Last-Event-ID": "0"}
    with api.stream("GET", "/v1/events", headers=replay, timeout=10) as stream:
        deleted = next(frame for frame in parse_frames(stream.iter_lines()) if frame.event == "run_deleted")
    assert deleted.data == {"event": "run_deleted", "run_id": blocked, "status": "completed"}
