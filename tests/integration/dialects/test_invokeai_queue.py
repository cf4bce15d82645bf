"""InvokeAI's session queue against pixelmill served on loopback (SQLite and PostgreSQL).

The document's Python example runs as written (with a bearer key, and with no header in single-user
mode); then batch expansion, the node translation with a real image decoded, every queue route, the
failure fields, cross-workspace isolation, the saved-workflow route and a restart with items pending.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from pixelmill.config import Settings
from tests.support.accounts import SeededAccount, seed_account
from tests.support.plans import unthrottled_plans
from tests.support.runs import executions, grant, run_row
from tests.support.server import LiveServer, start_server

CLOSED_PORT_BROKER = "redis://127.0.0.1:1/3"  # nothing listens on port 1: runs stay pending
TIMESTAMP = r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$"

# The document's example, character for character, but for BASE_URL (given by the test) and, in
# multi-user mode, the Authorization header it tells clients to add.
DOCUMENTED_EXAMPLE = """
import requests
import time

graph = {
    "id": "hello-graph",
    "nodes": {
        "add-node": {
            "id": "add-node",
            "type": "add",
            "a": 2,
            "b": 3,
            "is_intermediate": False,
            "use_cache": True,
        }
    },
    "edges": [],
}

payload = {
    "batch": {
        "graph": graph,
        "runs": 1,
        "origin": "external-client",
    }
}

enqueue_response = requests.post(
    f"{BASE_URL}/api/v1/queue/default/enqueue_batch",
    json=payload,
)
enqueue_response.raise_for_status()

item_id = enqueue_response.json()["item_ids"][0]

while True:
    item_response = requests.get(f"{BASE_URL}/api/v1/queue/default/i/{item_id}")
    item_response.raise_for_status()
    item = item_response.json()

    status = item["status"]
    if status == "completed":
        print(item["session"]["results"])
        break
    if status == "failed":
        raise RuntimeError(item["error_message"])
    if status == "canceled":
        raise RuntimeError("Queue item was canceled")

    time.sleep(0.5)
"""


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"plans": unthrottled_plans(), "dispatch_poll_seconds": 0.2})


def run_example(base_url: str, headers: dict[str, str] | None) -> dict[str, Any]:
    source = DOCUMENTED_EXAMPLE
    if headers is not None:
        source = source.replace("json=payload,", "json=payload, headers=HEADERS,").replace(
            '/i/{item_id}")', '/i/{item_id}", headers=HEADERS)'
        )
        assert source.count("headers=HEADERS") == 2
    scope: dict[str, Any] = {"BASE_URL": base_url, "HEADERS": headers}
    exec(compile(source, "invokeai-example", "exec"), scope)  # noqa: S102 (the document's own client)
    return scope


def add_result(scope: dict[str, Any]) -> dict[str, Any]:
    item = scope["item"]
    prepared = item["session"]["source_prepared_mapping"]["add-node"][0]
    return dict(item["session"]["results"][prepared])


def test_the_documented_example_with_a_bearer_key(live_server: LiveServer, account: SeededAccount) -> None:
    scope = run_example(live_server.url, account.headers)
    assert scope["enqueue_response"].status_code == 200  # not the 201 InvokeAI's OpenAPI lists
    assert add_result(scope) == {"value": 5, "type": "integer_output"}
    item = scope["item"]
    assert item["origin"] == "external-client"
    # GET /i/{id} leaves null keys out, as InvokeAI's response_model_exclude_none does.
    assert "error_type" not in item
    assert "destination" not in item
    assert "workflow" not in item
    assert set(item["session"]["prepared_source_mapping"].values()) == {"add-node"}


def test_the_documented_example_without_a_header_in_single_user_mode(settings: Settings) -> None:
    seed_account(settings.resolved_database_url, plan="operator", operator=True)
    server = start_server(settings.model_copy(update={"anonymous_loopback": True}))
    try:
        scope = run_example(server.url, None)
        assert add_result(scope) == {"value": 5, "type": "integer_output"}
    finally:
        server.stop()


def test_without_single_user_mode_a_request_without_credentials_is_401(live_server: LiveServer) -> None:
    answer = httpx.post(f"{live_server.url}/api/v1/queue/default/enqueue_batch", json={"batch": {}})
    assert answer.status_code == 401
    assert isinstance(answer.json()["detail"], str)


# Helpers ---------------------------------------------------------------------------------------


def enqueue(client: httpx.Client, graph: dict[str, Any], *, queue: str = "default", **batch: Any) -> dict[str, Any]:
    prepend = batch.pop("prepend", False)
    answer = client.post(
        f"/api/v1/queue/{queue}/enqueue_batch", json={"batch": {"graph": graph, **batch}, "prepend": prepend}
    )
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def wait_item(client: httpx.Client, item_id: int, queue: str = "default") -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        item: dict[str, Any] = client.get(f"/api/v1/queue/{queue}/i/{item_id}").json()
        if item["status"] in ("completed", "failed", "canceled"):
            return item
        time.sleep(0.1)
    raise AssertionError(f"item {item_id} did not finish")


def result(item: dict[str, Any], source_id: str) -> dict[str, Any]:
    session = item["session"]
    value: dict[str, Any] = session["results"][session["source_prepared_mapping"][source_id][0]]
    return value


def add_graph(a: int = 2, b: int = 3) -> dict[str, Any]:
    return {"id": "g", "nodes": {"sum": {"id": "sum", "type": "add", "a": a, "b": b}}, "edges": []}


@pytest.fixture
def client(live_server: LiveServer, account: SeededAccount, settings: Settings) -> Iterator[httpx.Client]:
    grant(settings.resolved_database_url, account.workspace_id, 1000)  # image nodes cost credits
    with httpx.Client(base_url=live_server.url, headers=account.headers, timeout=30) as client:
        yield client


# Batches ---------------------------------------------------------------------------------------


def test_batch_data_zips_inside_a_list_multiplies_across_lists_and_repeats_runs(client: httpx.Client) -> None:
    data = [
        [
            {"node_path": "sum", "field_name": "a", "items": [1, 2]},
            {"node_path": "sum", "field_name": "b", "items": [10, 20]},
        ],
        [{"node_path": "mul", "field_name": "b", "items": [3, 5, 7]}],
    ]
    graph = {
        "id": "g",
        "nodes": {"sum": {"id": "sum", "type": "add"}, "mul": {"id": "mul", "type": "mul", "a": 1}},
        "edges": [{"source": {"node_id": "sum", "field": "value"}, "destination": {"node_id": "mul", "field": "a"}}],
    }
    answer = enqueue(client, graph, data=data, runs=2, batch_id="batch-1")
    assert (answer["requested"], answer["enqueued"], answer["queue_id"]) == (12, 12, "default")
    assert answer["item_ids"] == sorted(answer["item_ids"], reverse=True)  # newest first, as InvokeAI lists them
    assert answer["batch"]["batch_id"] == "batch-1"
    items = [wait_item(client, item_id) for item_id in sorted(answer["item_ids"])]
    products = [result(item, "mul")["value"] for item in items]
    # (a, b) zipped: (1, 10), (2, 20); times mul.b in 3, 5, 7 (the first list varies slowest); twice.
    assert products == [11 * 3, 11 * 5, 11 * 7, 22 * 3, 22 * 5, 22 * 7] * 2
    assert items[1]["field_values"] == [
        {"node_path": "sum", "field_name": "a", "value": 1},
        {"node_path": "sum", "field_name": "b", "value": 10},
        {"node_path": "mul", "field_name": "b", "value": 5},
    ]
    assert items[1]["session"]["graph"]["nodes"]["mul"]["b"] == 5
    assert {item["batch_id"] for item in items} == {"batch-1"}
    assert len({item["session_id"] for item in items}) == 12
    status = client.get("/api/v1/queue/default/b/batch-1/status").json()
    assert status == {
        "queue_id": "default",
        "batch_id": "batch-1",
        "origin": None,
        "destination": None,
        "pending": 0,
        "in_progress": 0,
        "completed": 12,
        "failed": 0,
        "canceled": 0,
        "total": 12,
    }


@pytest.mark.parametrize(
    ("batch", "problem"),
    [
        (
            {
                "data": [
                    [
                        {"node_path": "sum", "field_name": "a", "items": [1, 2]},
                        {"node_path": "sum", "field_name": "b", "items": [1]},
                    ]
                ]
            },
            "same length",
        ),
        ({"data": [[{"node_path": "sum", "field_name": "a", "items": [1, "x"]}]]}, "same type"),
        ({"data": [[{"node_path": "nope", "field_name": "a", "items": [1]}]]}, "Node nope not found"),
        ({"data": [[{"node_path": "sum", "field_name": "zz", "items": [1]}]]}, "Field zz not found"),
        (
            {
                "data": [
                    [{"node_path": "sum", "field_name": "a", "items": [1]}],
                    [{"node_path": "sum", "field_name": "a", "items": [2]}],
                ]
            },
            "unique",
        ),
        ({"runs": 0}, "greater than or equal to 1"),
    ],
)
def test_invalid_batches_are_422_with_a_detail_list(client: httpx.Client, batch: dict[str, Any], problem: str) -> None:
    answer = client.post("/api/v1/queue/default/enqueue_batch", json={"batch": {"graph": add_graph(), **batch}})
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    assert isinstance(detail, list)
    assert problem in detail[0]["msg"]
    assert detail[0]["loc"][0] == "batch"
    assert client.get("/api/v1/queue/default/item_ids").json() == {"item_ids": [], "total_count": 0}


@pytest.mark.parametrize(
    ("node", "words"),
    [
        ({"id": "n", "type": "no_such_type"}, ["unknown type", "no_such_type"]),
        ({"id": "n", "type": "img_pad_crop", "image": {"image_name": "x.png"}}, ["img_pad_crop", "no node", "pad"]),
        ({"id": "n", "type": "iterate"}, ["'n'", "collection must hold"]),
        ({"id": "n", "type": "infill_lama"}, ["infill_lama", "no node", "infill_cv2"]),
        ({"id": "n", "type": "denoise_latents"}, ["denoise_latents", "pipeline"]),
        ({"id": "n", "type": "integer_math", "operation": "EXP"}, ["EXP"]),
        ({"id": "n", "type": "div", "a": 1, "b": 0}, ["n", "zero"]),
    ],
)
def test_graphs_that_cannot_run_are_422_naming_the_node(
    client: httpx.Client, node: dict[str, Any], words: list[str]
) -> None:
    answer = client.post(
        "/api/v1/queue/default/enqueue_batch", json={"batch": {"graph": {"nodes": {"n": node}, "edges": []}}}
    )
    assert answer.status_code == 422, answer.text
    problem = answer.json()["detail"][0]
    assert problem["loc"][:5] == ["body", "batch", "graph", "nodes", "n"]
    for word in words:
        assert word in problem["msg"]


# Nodes -----------------------------------------------------------------------------------------


def upload_png(client: httpx.Client, pixels: np.ndarray[Any, Any]) -> str:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    answer = client.post("/v1/files", files={"file": ("picture.png", buffer.getvalue(), "image/png")})
    assert answer.status_code == 201, answer.text
    file_id: str = answer.json()["id"]
    return file_id


def test_an_image_graph_makes_a_real_image_named_in_session_results(client: httpx.Client) -> None:
    picture = np.zeros((40, 60, 3), np.uint8)
    picture[:, :30] = (200, 30, 40)  # left half red, right half black
    name = f"{upload_png(client, picture)}.png"
    graph = {
        "id": "pictures",
        "nodes": {
            "source": {"id": "source", "type": "image", "image": {"image_name": name}, "is_intermediate": True},
            "small": {"id": "small", "type": "img_resize", "width": 30, "height": 20, "resample_mode": "nearest"},
            "half": {"id": "half", "type": "img_crop", "x": 0, "y": 0, "width": 15, "height": 20},
        },
        "edges": [
            {"source": {"node_id": "source", "field": "image"}, "destination": {"node_id": "small", "field": "image"}},
            {"source": {"node_id": "small", "field": "image"}, "destination": {"node_id": "half", "field": "image"}},
        ],
    }
    item = wait_item(client, enqueue(client, graph)["item_ids"][0])
    assert item["status"] == "completed", item
    resized, cropped = result(item, "small"), result(item, "half")
    assert (resized["type"], resized["width"], resized["height"]) == ("image_output", 30, 20)
    assert (cropped["width"], cropped["height"]) == (15, 20)
    assert result(item, "source")["image"] == {"image_name": name}
    for output, size, colour in ((resized, (30, 20), None), (cropped, (15, 20), (200, 30, 40))):
        image_name = output["image"]["image_name"]
        assert image_name.endswith(".png")
        content = client.get(f"/v1/files/{image_name.removesuffix('.png')}/content")
        assert content.status_code == 200
        decoded = Image.open(io.BytesIO(content.content))
        assert decoded.format == "PNG"
        assert decoded.size == size
        if colour is not None:  # the crop kept only the red half
            assert np.asarray(decoded.convert("RGB"))[5, 5].tolist() == list(colour)
            assert np.all(np.asarray(decoded.convert("RGB")) == colour)
    executed = item["session"]["executed_history"]
    assert executed == ["source", "small", "half"]


def test_a_blank_canvas_resized_and_pasted_on_decodes_to_its_colours(client: httpx.Client) -> None:
    graph = {
        "id": "canvas",
        "nodes": {
            "blank": {
                "id": "blank",
                "type": "blank_image",
                "width": 64,
                "height": 48,
                "color": {"r": 10, "g": 200, "b": 30, "a": 255},
            },
            "patch": {
                "id": "patch",
                "type": "blank_image",
                "width": 8,
                "height": 8,
                "mode": "RGBA",
                "color": {"r": 250, "g": 0, "b": 0, "a": 255},
            },
            "small": {"id": "small", "type": "img_resize", "width": 32, "height": 24},
            "pasted": {"id": "pasted", "type": "img_paste", "x": 4, "y": 2},
        },
        "edges": [
            {"source": {"node_id": "blank", "field": "image"}, "destination": {"node_id": "small", "field": "image"}},
            {
                "source": {"node_id": "small", "field": "image"},
                "destination": {"node_id": "pasted", "field": "base_image"},
            },
            {"source": {"node_id": "patch", "field": "image"}, "destination": {"node_id": "pasted", "field": "image"}},
        ],
    }
    item = wait_item(client, enqueue(client, graph)["item_ids"][0])
    assert item["status"] == "completed", item
    assert (result(item, "blank")["width"], result(item, "blank")["height"]) == (64, 48)
    name = result(item, "pasted")["image"]["image_name"]
    content = client.get(f"/v1/files/{name.removesuffix('.png')}/content")
    picture = np.asarray(Image.open(io.BytesIO(content.content)).convert("RGB"))
    assert picture.shape == (24, 32, 3)
    assert picture[0, 0].tolist() == [10, 200, 30]  # the canvas, resized
    assert picture[2, 4].tolist() == [250, 0, 0]  # the patch's top-left corner at (x, y)
    assert picture[9, 11].tolist() == [250, 0, 0]
    assert picture[10, 12].tolist() == [10, 200, 30]


def test_primitive_math_and_string_nodes_show_invokeai_outputs(client: httpx.Client) -> None:
    graph = {
        "id": "g",
        "nodes": {
            "seven": {"id": "seven", "type": "integer", "value": 7},
            "two": {"id": "two", "type": "integer", "value": 2},
            "quotient": {"id": "quotient", "type": "div"},
            "f": {"id": "f", "type": "float_math", "operation": "MUL", "a": 1.5, "b": 3},
            "word": {"id": "word", "type": "string", "value": "pixel"},
            "joined": {"id": "joined", "type": "string_join", "string_right": "mill"},
            "yes": {"id": "yes", "type": "boolean", "value": True},
        },
        "edges": [
            {"source": {"node_id": "seven", "field": "value"}, "destination": {"node_id": "quotient", "field": "a"}},
            {"source": {"node_id": "two", "field": "value"}, "destination": {"node_id": "quotient", "field": "b"}},
            {
                "source": {"node_id": "word", "field": "value"},
                "destination": {"node_id": "joined", "field": "string_left"},
            },
        ],
    }
    item = wait_item(client, enqueue(client, graph)["item_ids"][0])
    assert item["status"] == "completed", item
    assert result(item, "quotient") == {"value": 3, "type": "integer_output"}  # int(7 / 2)
    assert result(item, "f") == {"value": 4.5, "type": "float_output"}
    assert result(item, "joined") == {"value": "pixelmill", "type": "string_output"}
    assert result(item, "yes") == {"value": True, "type": "boolean_output"}


def test_an_iteration_runs_one_prepared_copy_per_item(client: httpx.Client) -> None:
    graph = {
        "id": "g",
        "nodes": {
            "seeds": {"id": "seeds", "type": "range", "start": 3, "stop": 9, "step": 2},
            "each": {"id": "each", "type": "iterate"},
            "sum": {"id": "sum", "type": "add", "b": 100},
            "all": {"id": "all", "type": "collect"},
        },
        "edges": [
            {
                "source": {"node_id": "seeds", "field": "collection"},
                "destination": {"node_id": "each", "field": "collection"},
            },
            {"source": {"node_id": "each", "field": "item"}, "destination": {"node_id": "sum", "field": "a"}},
            {"source": {"node_id": "sum", "field": "value"}, "destination": {"node_id": "all", "field": "item"}},
        ],
    }
    item = wait_item(client, enqueue(client, graph)["item_ids"][0])
    assert item["status"] == "completed", item
    session = item["session"]
    copies = session["source_prepared_mapping"]["sum"]
    assert [session["results"][p]["value"] for p in copies] == [103, 105, 107]
    assert all(session["prepared_source_mapping"][p] == "sum" for p in copies)
    assert session["executed_history"] == ["sum"]
    assert set(session["executed"]) == {*copies, "sum"}
    assert session["graph"]["nodes"]["each"]["type"] == "iterate"  # the graph as the client sent it


def test_a_node_that_fails_fills_the_error_fields(client: httpx.Client) -> None:
    name = f"{upload_png(client, np.full((10, 10, 3), 90, np.uint8))}.png"
    graph = {
        "id": "g",
        "nodes": {
            "crop": {"id": "crop", "type": "img_crop", "image": {"image_name": name}, "x": 5, "width": 50, "height": 50}
        },
        "edges": [],
    }
    item = wait_item(client, enqueue(client, graph)["item_ids"][0])
    assert item["status"] == "failed"
    assert item["error_type"] == "INVALID_INPUT"
    assert "50" in item["error_message"]  # what pixelmill says about the rectangle
    assert "error_traceback" not in item  # no server traceback is sent (null keys are left out)
    prepared = item["session"]["source_prepared_mapping"]["crop"][0]
    assert item["session"]["errors"][prepared].startswith(f"{item['error_type']}: ")
    assert item["session"]["results"] == {}


# Queue routes ----------------------------------------------------------------------------------


@pytest.fixture
def parked(settings: Settings, account: SeededAccount) -> Iterator[httpx.Client]:
    """A server whose runs stay pending: it hands them to a broker nobody listens on."""
    server = start_server(settings.model_copy(update={"dispatch": "celery", "broker_url": CLOSED_PORT_BROKER}))
    with httpx.Client(base_url=server.url, headers=account.headers, timeout=30) as client:
        yield client
    server.stop()


def test_pending_items_status_next_list_and_prepend(parked: httpx.Client) -> None:
    first = enqueue(parked, add_graph(), batch_id="first", destination="canvas", runs=2)
    jumped = enqueue(parked, add_graph(), batch_id="jumped", prepend=True)
    assert (first["priority"], jumped["priority"]) == (0, 1)
    status = parked.get("/api/v1/queue/default/status").json()
    assert status["queue"]["pending"] == 3
    assert status["queue"]["total"] == 3
    assert status["queue"]["item_id"] is None
    assert status["processor"] == {"is_started": True, "is_processing": False}
    nxt = parked.get("/api/v1/queue/default/next").json()
    assert (nxt["item_id"], nxt["status"], nxt["priority"]) == (jumped["item_ids"][0], "pending", 1)
    assert nxt["error_type"] is None  # the routes besides GET /i/{id} keep null keys
    assert parked.get("/api/v1/queue/default/current").json() is None
    listed = parked.get("/api/v1/queue/default/list_all").json()
    assert [item["item_id"] for item in listed] == [jumped["item_ids"][0], *sorted(first["item_ids"])]
    canvas = parked.get("/api/v1/queue/default/list_all", params={"destination": "canvas"}).json()
    assert sorted(item["item_id"] for item in canvas) == sorted(first["item_ids"])
    ids = parked.get("/api/v1/queue/default/item_ids", params={"order_dir": "ASC"}).json()
    assert ids == {"item_ids": sorted([*first["item_ids"], *jumped["item_ids"]]), "total_count": 3}
    wanted = [jumped["item_ids"][0], 999_999, first["item_ids"][0]]
    by_ids = parked.post("/api/v1/queue/default/items_by_ids", json={"item_ids": wanted}).json()
    assert [item["item_id"] for item in by_ids] == [wanted[0], wanted[2]]
    summaries = parked.post("/api/v1/queue/default/item_summaries_by_ids", json={"item_ids": wanted}).json()
    assert [summary["item_id"] for summary in summaries] == [wanted[0], wanted[2]]
    assert "session" not in summaries[0]
    assert summaries[0]["status"] == "pending"
    item = parked.get(f"/api/v1/queue/default/i/{first['item_ids'][0]}").json()
    assert item["status"] == "pending"
    assert item["status_sequence"] == 0
    assert "started_at" not in item
    assert item["created_at"] == item["updated_at"]
    assert item["queue_id"] == "default"
    assert item["user_id"]
    counts = parked.get("/api/v1/queue/default/counts_by_destination", params={"destination": "canvas"}).json()
    assert (counts["destination"], counts["pending"], counts["total"]) == ("canvas", 2, 2)
    # Another queue of the same workspace is another queue.
    assert parked.get("/api/v1/queue/other/item_ids").json() == {"item_ids": [], "total_count": 0}
    missing = parked.get(f"/api/v1/queue/other/i/{first['item_ids'][0]}")
    assert missing.status_code == 404
    assert missing.json() == {"detail": f"Queue item with id {first['item_ids'][0]} not found in queue other"}


def test_cancel_retry_prune_delete_and_clear(parked: httpx.Client) -> None:
    one = enqueue(parked, add_graph(), batch_id="one")["item_ids"][0]
    two = enqueue(parked, add_graph(), batch_id="two", runs=2)["item_ids"]
    three = enqueue(parked, add_graph(), batch_id="three", destination="d3")["item_ids"][0]
    cancelled = parked.put(f"/api/v1/queue/default/i/{one}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "canceled"
    assert cancelled.json()["completed_at"]
    # Cancelling one item leaves the others alone.
    assert parked.get(f"/api/v1/queue/default/i/{two[0]}").json()["status"] == "pending"
    assert parked.put("/api/v1/queue/default/cancel_by_batch_ids", json={"batch_ids": ["two"]}).json() == {
        "canceled": 2
    }
    assert parked.get("/api/v1/queue/default/b/two/status").json()["canceled"] == 2
    retried = parked.put("/api/v1/queue/default/retry_items_by_id", json=[one, three, 424242]).json()
    assert retried == {"queue_id": "default", "retried_item_ids": [one]}  # three is pending: not retried
    fresh = [item for item in parked.get("/api/v1/queue/default/list_all").json() if item["retried_from_item_id"]]
    assert len(fresh) == 1
    assert fresh[0]["status"] == "pending"
    assert fresh[0]["batch_id"] == "one"
    assert parked.put("/api/v1/queue/default/cancel_by_destination", params={"destination": "d3"}).json() == {
        "canceled": 1
    }
    assert parked.put("/api/v1/queue/default/prune").json() == {"deleted": 4}  # one, both of two, three
    assert parked.get(f"/api/v1/queue/default/i/{one}").status_code == 404
    assert parked.delete(f"/api/v1/queue/default/i/{fresh[0]['item_id']}").json() is None
    assert parked.get("/api/v1/queue/default/item_ids").json()["total_count"] == 0
    enqueue(parked, add_graph(), runs=3)
    assert parked.put("/api/v1/queue/default/cancel_all_except_current").json() == {"canceled": 3}
    enqueue(parked, add_graph(), runs=2, destination="gone")
    assert parked.delete("/api/v1/queue/default/d/gone").json() == {"deleted": 2}
    enqueue(parked, add_graph(), runs=2)
    assert parked.put("/api/v1/queue/default/delete_all_except_current").json() == {"deleted": 2}
    enqueue(parked, add_graph(), runs=2)
    assert parked.put("/api/v1/queue/default/clear").json() == {"deleted": 5}
    assert parked.get("/api/v1/queue/default/status").json()["queue"]["total"] == 0


def test_sessions_over_the_plans_queue_room_are_dropped_as_invokeai_drops_them(
    settings: Settings, account: SeededAccount
) -> None:
    plans = unthrottled_plans()
    plans["pro"] = plans["pro"].model_copy(update={"max_queued_runs": 3})
    parked = settings.model_copy(update={"plans": plans, "dispatch": "celery", "broker_url": CLOSED_PORT_BROKER})
    server = start_server(parked)
    try:
        with httpx.Client(base_url=server.url, headers=account.headers, timeout=30) as client:
            first = enqueue(client, add_graph(), runs=5)
            assert (first["requested"], first["enqueued"], len(first["item_ids"])) == (5, 3, 3)
            full = enqueue(client, add_graph(), runs=2)
            assert (full["requested"], full["enqueued"], full["item_ids"]) == (2, 0, [])
    finally:
        server.stop()


def test_another_workspaces_items_are_not_found(parked: httpx.Client, settings: Settings) -> None:
    item_id = enqueue(parked, add_graph(), batch_id="mine")["item_ids"][0]
    other = seed_account(settings.resolved_database_url)
    headers = other.headers
    base = str(parked.base_url)
    expected = {"detail": f"Queue item with id {item_id} not found in queue default"}
    for method, path in (
        ("GET", f"/api/v1/queue/default/i/{item_id}"),
        ("PUT", f"/api/v1/queue/default/i/{item_id}/cancel"),
        ("DELETE", f"/api/v1/queue/default/i/{item_id}"),
    ):
        answer = httpx.request(method, f"{base}{path}", headers=headers)
        assert (answer.status_code, answer.json()) == (404, expected)
    with httpx.Client(base_url=base, headers=headers) as theirs:
        check_empty_for_them(theirs, item_id)
    assert parked.get(f"/api/v1/queue/default/i/{item_id}").json()["status"] == "pending"


def check_empty_for_them(theirs: httpx.Client, item_id: int) -> None:
    assert theirs.get("/api/v1/queue/default/status").json()["queue"]["total"] == 0
    assert theirs.get("/api/v1/queue/default/list_all").json() == []
    assert theirs.post("/api/v1/queue/default/items_by_ids", json={"item_ids": [item_id]}).json() == []
    assert theirs.put("/api/v1/queue/default/cancel_by_batch_ids", json={"batch_ids": ["mine"]}).json() == {
        "canceled": 0
    }
    assert theirs.put("/api/v1/queue/default/clear").json() == {"deleted": 0}
    assert theirs.get("/api/v1/queue/default/b/mine/status").json()["total"] == 0


def test_items_left_pending_and_in_progress_finish_after_a_restart(settings: Settings, account: SeededAccount) -> None:
    parked_server = start_server(settings.model_copy(update={"dispatch": "celery", "broker_url": CLOSED_PORT_BROKER}))
    with httpx.Client(base_url=parked_server.url, headers=account.headers, timeout=30) as before:
        item_ids = enqueue(before, add_graph(4, 5), runs=3)["item_ids"]
    parked_server.stop()
    # The same database served by an embedded dispatcher: nothing was cancelled on the way (InvokeAI
    # cancels what was in progress at start-up), everything finishes.
    server = start_server(settings)
    try:
        with httpx.Client(base_url=server.url, headers=account.headers, timeout=30) as after:
            for item_id in item_ids:
                item = wait_item(after, item_id)
                assert item["status"] == "completed"
                assert result(item, "sum") == {"value": 9, "type": "integer_output"}
    finally:
        server.stop()


STEPS = 40


def start_slow_chain(client: httpx.Client) -> int:
    """Enqueue an image chain that takes seconds and wait until it is in progress; its item id."""
    # Noise keeps every PNG encode honest work: the chain takes seconds, not milliseconds.
    noise = np.random.default_rng(7).integers(0, 256, (1200, 1200, 3), dtype=np.uint8)
    name = f"{upload_png(client, noise)}.png"
    nodes: dict[str, Any] = {"s0": {"id": "s0", "type": "image", "image": {"image_name": name}}}
    edges = []
    for step in range(1, STEPS + 1):
        side = 1200 - step % 2 * 20
        nodes[f"s{step}"] = {"id": f"s{step}", "type": "img_resize", "width": side, "height": side}
        edges.append(
            {
                "source": {"node_id": f"s{step - 1}", "field": "image"},
                "destination": {"node_id": f"s{step}", "field": "image"},
            }
        )
    item_id: int = enqueue(client, {"id": "chain", "nodes": nodes, "edges": edges})["item_ids"][0]
    deadline = time.monotonic() + 30
    while client.get(f"/api/v1/queue/default/i/{item_id}").json()["status"] != "in_progress":
        assert time.monotonic() < deadline, "the item never started"
        time.sleep(0.01)
    return item_id


def test_cancelling_the_item_in_progress_stops_it_and_leaves_the_next_alone(client: httpx.Client) -> None:
    running = start_slow_chain(client)
    current = client.get("/api/v1/queue/default/current").json()
    assert (current["item_id"], current["status"]) == (running, "in_progress")
    assert current["started_at"] is not None
    status = client.get("/api/v1/queue/default/status").json()
    assert (status["queue"]["item_id"], status["queue"]["in_progress"]) == (running, 1)
    assert status["processor"]["is_processing"] is True
    waiting = enqueue(client, add_graph())["item_ids"][0]
    cancelled = client.put(f"/api/v1/queue/default/i/{running}/cancel").json()
    assert cancelled["status"] == "canceled"
    assert len(cancelled["session"]["results"]) < STEPS + 1  # stopped before its last node
    assert wait_item(client, waiting)["status"] == "completed"
    assert client.get("/api/v1/queue/default/current").json() is None


def test_an_item_in_progress_when_the_server_stops_finishes_after_a_restart(
    settings: Settings, account: SeededAccount
) -> None:
    grant(settings.resolved_database_url, account.workspace_id, 1000)
    first = start_server(settings)
    with httpx.Client(base_url=first.url, headers=account.headers, timeout=30) as before:
        item_id = start_slow_chain(before)
        run_id = before.get("/v1/runs").json()["data"][0]["run_id"]
    first.stop()  # graceful: the node running finishes, the run goes back to the queue
    stopped = run_row(settings.resolved_database_url, run_id)
    done_before = len(executions(settings.resolved_database_url, run_id))
    assert stopped.status == "queued"
    assert 0 < done_before < STEPS + 1  # it really was stopped half-way
    second = start_server(settings)
    try:
        with httpx.Client(base_url=second.url, headers=account.headers, timeout=30) as after:
            item = wait_item(after, item_id)
    finally:
        second.stop()
    assert item["status"] == "completed"  # InvokeAI would have marked it canceled at start-up
    assert item["session"]["executed_history"][-1] == f"s{STEPS}"
    assert result(item, f"s{STEPS}")["width"] == 1200
    assert len(item["session"]["results"]) == STEPS + 1


# Saved workflows -------------------------------------------------------------------------------


def test_a_saved_workflow_runs_by_id_with_field_values(client: httpx.Client, settings: Settings) -> None:
    graph = {
        "nodes": [
            {"id": "base", "type": "value.integer", "inputs": {"value": 1}},
            {"id": "total", "type": "math.add", "inputs": {"b": 100}},
        ],
        "edges": [{"source": {"node_id": "base", "field": "value"}, "destination": {"node_id": "total", "field": "a"}}],
    }
    created = client.post("/v1/workflows", json={"name": "adder", "graph": graph})
    assert created.status_code == 201, created.text
    workflow_id = created.json()["id"]
    assert client.post(f"/v1/workflows/{workflow_id}/publish").status_code == 201
    answer = client.post(
        f"/api/v1/workflows/i/{workflow_id}/enqueue",
        json={
            "field_values": [{"node_path": "total", "field_name": "b", "value": 1000}],
            "data": [[{"node_path": "base", "field_name": "value", "items": [5, 6]}]],
            "origin": "java-client",
        },
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["requested"], body["enqueued"]) == (2, 2)
    items = [wait_item(client, item_id) for item_id in sorted(body["item_ids"])]
    assert [result(item, "total")["value"] for item in items] == [1005, 1006]
    assert items[0]["origin"] == "java-client"
    assert items[0]["field_values"][0] == {"node_path": "total", "field_name": "b", "value": 1000}
    unknown = client.post(
        f"/api/v1/workflows/i/{workflow_id}/enqueue",
        json={"field_values": [{"node_path": "nope", "field_name": "x", "value": 1}]},
    )
    assert unknown.status_code == 422
    assert "nope" in unknown.json()["detail"][0]["msg"]
    other = seed_account(settings.resolved_database_url)
    theirs = httpx.post(f"{client.base_url}/api/v1/workflows/i/{workflow_id}/enqueue", headers=other.headers, json={})
    assert theirs.status_code == 404
    assert isinstance(theirs.json()["detail"], str)
