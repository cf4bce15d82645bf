"""ima2's graph sessions over HTTP (SQLite and PostgreSQL): CRUD, saves under If-Match versions with
ima2's 428/409/413 answers, the graph as ima2's CLI reads it, and workspaces kept apart."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from pixelmill.config import Settings
from tests.support.accounts import SeededAccount, seed_account
from tests.support.server import LiveServer


@pytest.fixture
def client(live_server: LiveServer, account: SeededAccount) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, headers=account.headers, timeout=30) as client:
        yield client


def _graph() -> dict[str, object]:
    return {
        "nodes": [
            {"id": "a", "x": 10, "y": 20, "data": {"serverNodeId": "n_0123456789", "prompt": "a cat"}},
            {"id": "b", "position": {"x": 300.5, "y": -4}, "data": {}},
        ],
        "edges": [
            {"id": "e1", "source": "a", "target": "b"},
            {"id": "e2", "source": "a", "target": "gone"},  # an end that is not a node: dropped
        ],
    }


def test_session_lifecycle_and_graph_versions(client: httpx.Client) -> None:
    created = client.post("/api/sessions", json={"title": "Moodboard"})
    assert created.status_code == 201, created.text
    session = created.json()["session"]
    assert session["id"].startswith("s_")
    assert len(session["id"]) == 28
    assert session["title"] == "Moodboard"
    assert session["graphVersion"] == 0
    assert isinstance(session["createdAt"], int)
    assert session["createdAt"] == session["updatedAt"]
    sid = session["id"]

    saved = client.put(f"/api/sessions/{sid}/graph", json=_graph(), headers={"If-Match": '"0"'})
    assert saved.status_code == 200, saved.text
    assert saved.json() == {"ok": True, "nodes": 2, "edges": 1, "graphVersion": 1}

    read = client.get(f"/api/sessions/{sid}").json()["session"]
    assert read["graphVersion"] == 1
    assert read["nodes"] == [
        {"id": "a", "x": 10, "y": 20, "data": {"serverNodeId": "n_0123456789", "prompt": "a cat"}},
        {"id": "b", "x": 300.5, "y": -4, "data": {"parentServerNodeId": "n_0123456789"}},
    ]
    assert read["edges"] == [{"id": "e1", "source": "a", "target": "b", "data": {}}]
    # What ima2's CLI `session graph save/load` reads.
    assert read["graph"] == {"nodes": read["nodes"], "edges": read["edges"], "version": 1}

    # A save from a stale version loses: 409 with the version now stored; nothing changes.
    stale = client.put(f"/api/sessions/{sid}/graph", json={"nodes": [], "edges": []}, headers={"If-Match": "0"})
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "GRAPH_VERSION_CONFLICT"
    assert stale.json()["currentVersion"] == 1
    assert client.get(f"/api/sessions/{sid}").json()["session"]["nodes"] == read["nodes"]

    # Unquoted versions are accepted as ima2 accepts them.
    again = client.put(f"/api/sessions/{sid}/graph", json={"nodes": [], "edges": []}, headers={"If-Match": "1"})
    assert again.json()["graphVersion"] == 2

    assert client.patch(f"/api/sessions/{sid}", json={"title": "Renamed"}).json() == {"ok": True}
    listed = client.get("/api/sessions").json()["sessions"]
    assert [(s["id"], s["title"], s["graphVersion"], s["nodeCount"]) for s in listed] == [(sid, "Renamed", 2, 0)]

    assert client.delete(f"/api/sessions/{sid}").json() == {"ok": True}
    gone = client.get(f"/api/sessions/{sid}")
    assert gone.status_code == 404
    assert gone.json() == {"error": {"code": "SESSION_NOT_FOUND", "message": f"Session {sid} not found"}}


def test_graph_save_errors(client: httpx.Client) -> None:
    sid = client.post("/api/sessions", json={"title": "x"}).json()["session"]["id"]
    path = f"/api/sessions/{sid}/graph"

    missing = client.put(path, json={"nodes": [], "edges": []})
    assert missing.status_code == 428
    assert missing.json()["error"]["code"] == "GRAPH_VERSION_REQUIRED"

    bad_version = client.put(path, json={"nodes": [], "edges": []}, headers={"If-Match": '"one"'})
    assert (bad_version.status_code, bad_version.json()["error"]["code"]) == (400, "INVALID_GRAPH_VERSION")

    for body in ({"nodes": "no"}, {"nodes": [{"id": ""}]}, {"nodes": [{"id": "a"}, {"id": "a"}]}, [1, 2]):
        invalid = client.put(path, json=body, headers={"If-Match": "0"})
        assert (invalid.status_code, invalid.json()["error"]["code"]) == (400, "INVALID_GRAPH"), body

    too_many = {"nodes": [{"id": f"n{i}"} for i in range(501)], "edges": []}
    large = client.put(path, json=too_many, headers={"If-Match": "0"})
    assert (large.status_code, large.json()["error"]["code"]) == (413, "GRAPH_TOO_LARGE")

    two_parents = {
        "nodes": [
            {"id": "a", "data": {"serverNodeId": "n_a"}},
            {"id": "b", "data": {"serverNodeId": "n_b"}},
            {"id": "c"},
        ],
        "edges": [{"source": "a", "target": "c"}, {"source": "b", "target": "c"}],
    }
    conflict = client.put(path, json=two_parents, headers={"If-Match": "0"})
    assert (conflict.status_code, conflict.json()["error"]["code"]) == (409, "GRAPH_PARENT_CONFLICT")

    # None of the refused saves moved the version.
    assert client.get(f"/api/sessions/{sid}").json()["session"]["graphVersion"] == 0
    unknown = client.put("/api/sessions/s_nope/graph", json={"nodes": []}, headers={"If-Match": "0"})
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "SESSION_NOT_FOUND")
    long_title = client.post("/api/sessions", json={"title": "t" * 201})
    assert (long_title.status_code, long_title.json()["error"]["code"]) == (400, "INVALID_REQUEST")


def test_a_graph_over_the_byte_limit_is_413(live_server: LiveServer, account: SeededAccount) -> None:
    settings = live_server.app.state.runtime.settings
    with httpx.Client(base_url=live_server.url, headers=account.headers, timeout=30) as client:
        sid = client.post("/api/sessions", json={}).json()["session"]["id"]
        bulky = {"nodes": [{"id": "a", "data": {"note": "x" * (settings.max_graph_payload_bytes + 1)}}]}
        answer = client.put(f"/api/sessions/{sid}/graph", json=bulky, headers={"If-Match": "0"})
        assert (answer.status_code, answer.json()["error"]["code"]) == (413, "GRAPH_TOO_LARGE")


def test_another_workspace_sees_no_session(client: httpx.Client, settings: Settings) -> None:
    sid = client.post("/api/sessions", json={"title": "mine"}).json()["session"]["id"]
    other = seed_account(settings.resolved_database_url)
    with httpx.Client(base_url=str(client.base_url), headers=other.headers, timeout=30) as theirs:
        assert theirs.get("/api/sessions").json() == {"sessions": []}
        for response in (
            theirs.get(f"/api/sessions/{sid}"),
            theirs.patch(f"/api/sessions/{sid}", json={"title": "x"}),
            theirs.delete(f"/api/sessions/{sid}"),
            theirs.put(f"/api/sessions/{sid}/graph", json={"nodes": []}, headers={"If-Match": "0"}),
        ):
            assert response.status_code == 404
            assert response.json()["error"]["code"] == "SESSION_NOT_FOUND"
    assert client.get(f"/api/sessions/{sid}").json()["session"]["title"] == "mine"
