"""ima2's history and file server over HTTP: listing with cursors and filters, tombstone and restore,
``/generated`` files and ``.thumb.jpg`` thumbnails, private sidecars, and another workspace's names
answering 404 exactly like unknown ones."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator

import httpx
import pytest
from PIL import Image

from pixelmill.config import Settings
from tests.support.accounts import SeededAccount, seed_account
from tests.support.plans import unthrottled_plans
from tests.support.runs import grant
from tests.support.server import LiveServer


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"plans": unthrottled_plans(), "dispatch_poll_seconds": 0.2})


@pytest.fixture
def client(live_server: LiveServer, account: SeededAccount, settings: Settings) -> Iterator[httpx.Client]:
    grant(settings.resolved_database_url, account.workspace_id, 5000)
    with httpx.Client(base_url=live_server.url, headers=account.headers, timeout=120) as http:
        yield http


def generate(client: httpx.Client, prompt: str, **extra: object) -> list[str]:
    response = client.post("/api/generate", json={"prompt": prompt, "size": "400x200", **extra})
    assert response.status_code == 200, response.text
    body = response.json()
    return [item["filename"] for item in body["images"]] if "images" in body else [body["filename"]]


def test_listing_cursor_filters_and_groups(client: httpx.Client) -> None:
    first = generate(client, "a red fox", requestId="req_a", sessionId="s_one")
    second = generate(client, "two boats", n=2, requestId="req_b")
    page = client.get("/api/history", params={"limit": 2}).json()
    assert page["total"] == 3
    assert [item["filename"] for item in page["items"]] == sorted(second, reverse=True)
    assert page["nextCursor"] == {"before": page["items"][-1]["createdAt"], "beforeFilename": second[0]}
    rest = client.get("/api/history", params={"limit": 2, **page["nextCursor"]}).json()
    assert [item["filename"] for item in rest["items"]] == first
    assert rest["nextCursor"] is None
    row = rest["items"][0]
    assert (row["prompt"], row["requestId"], row["sessionId"], row["kind"], row["mediaType"]) == (
        "a red fox",
        "req_a",
        "s_one",
        "classic",
        "image",
    )
    assert (row["url"], row["thumb"]) == (f"/generated/{first[0]}", f"/generated/{first[0]}.thumb.jpg")
    assert (row["size"], row["quality"], row["provider"], row["isFavorite"]) == ("400x200", "medium", "oauth", False)
    only_b = client.get("/api/history", params={"requestId": "req_b"}).json()
    assert sorted(item["filename"] for item in only_b["items"]) == sorted(second)
    by_session = client.get("/api/history", params={"sessionId": "s_one"}).json()
    assert [item["filename"] for item in by_session["items"]] == first
    grouped = client.get("/api/history", params={"groupBy": "session"}).json()
    assert [(g["sessionId"], [i["filename"] for i in g["items"]]) for g in grouped["sessions"]] == [("s_one", first)]
    assert sorted(item["filename"] for item in grouped["loose"]) == sorted(second)
    assert client.get("/api/history", params={"favoritesOnly": "1"}).json()["items"] == []
    marked = client.post("/api/history/favorite", json={"filename": first[0]})
    assert marked.json() == {"ok": True, "filename": first[0], "isFavorite": True}
    (favourite,) = client.get("/api/history", params={"favoritesOnly": "1"}).json()["items"]
    assert (favourite["filename"], favourite["isFavorite"]) == (first[0], True)
    client.post("/api/history/favorite", json={"filename": first[0], "favorite": False})
    assert client.get("/api/history", params={"favoritesOnly": "1"}).json()["items"] == []


def test_files_thumbnails_and_private_sidecars(client: httpx.Client) -> None:
    (name,) = generate(client, "a castle")
    served = client.get(f"/generated/{name}")
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(served.content)).size == (400, 200)
    thumb = client.get(f"/generated/{name}.thumb.jpg")
    assert thumb.status_code == 200
    assert thumb.headers["content-type"] == "image/jpeg"
    preview = Image.open(io.BytesIO(thumb.content))
    assert preview.format == "JPEG"
    assert preview.width <= 400
    assert preview.width / preview.height == pytest.approx(2, 0.05)
    sidecar = client.get(f"/generated/{name}.json")
    assert (sidecar.status_code, sidecar.text) == (404, "Generated metadata is not public")


def test_tombstone_and_restore(client: httpx.Client) -> None:
    (name,) = generate(client, "a lantern")
    deleted = client.delete(f"/api/history/{name}")
    assert deleted.json() == {"ok": True, "filename": name}
    assert client.get("/api/history").json()["items"] == []
    assert client.get(f"/generated/{name}").status_code == 404
    assert client.delete(f"/api/history/{name}").status_code == 404
    restored = client.post(f"/api/history/{name}/restore")
    assert restored.json() == {"ok": True, "filename": name}
    assert [item["filename"] for item in client.get("/api/history").json()["items"]] == [name]
    assert client.get(f"/generated/{name}").status_code == 200
    assert client.post(f"/api/history/{name}/restore").status_code == 404


def test_another_workspaces_names_are_unknown(
    client: httpx.Client, live_server: LiveServer, settings: Settings
) -> None:
    (name,) = generate(client, "a secret map")
    other = seed_account(settings.resolved_database_url)
    with httpx.Client(base_url=live_server.url, headers=other.headers, timeout=60) as stranger:
        assert stranger.get("/api/history").json()["items"] == []
        for response, unknown in (
            (stranger.get(f"/generated/{name}"), client.get("/generated/1_deadbeef_0.png")),
            (stranger.get(f"/generated/{name}.thumb.jpg"), client.get("/generated/1_deadbeef_0.png.thumb.jpg")),
            (stranger.delete(f"/api/history/{name}"), client.delete("/api/history/1_deadbeef_0.png")),
            (stranger.post(f"/api/history/{name}/restore"), client.post("/api/history/1_deadbeef_0.png/restore")),
        ):
            assert response.status_code == unknown.status_code == 404
            assert response.json()["error"]["code"] == unknown.json()["error"]["code"] == "NOT_FOUND"
    assert client.get(f"/generated/{name}").status_code == 200


def test_runs_from_other_apis_are_listed_too(client: httpx.Client) -> None:
    created = client.post("/v1/generations", json={"generation_type": "image", "prompt": "a canonical owl"})
    assert created.status_code in (200, 201, 202), created.text
    run_id = created.json()["id"]
    deadline = time.monotonic() + 60
    while client.get(f"/v1/runs/{run_id}").json()["status"] != "completed":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    (row,) = client.get("/api/history").json()["items"]
    assert (row["prompt"], row["kind"], row["provider"]) == ("a canonical owl", None, "oauth")
    assert client.get(row["url"]).status_code == 200


def test_a_deleted_runs_files_are_gone(client: httpx.Client) -> None:
    (name,) = generate(client, "a paper boat")
    (run,) = client.get("/v1/runs").json()["data"]
    assert client.delete(f"/v1/runs/{run['run_id']}").status_code in (200, 204)
    assert client.get("/api/history").json()["items"] == []
    assert client.get(f"/generated/{name}").status_code == 404
    assert client.post("/api/history/favorite", json={"filename": name}).status_code == 404
