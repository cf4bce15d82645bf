"""Tenant isolation, generated from the app's route table.

Every route whose path names a resource is called by a second workspace with the first one's ids,
with each of the route's methods, and must answer exactly what it answers for an id that does not
exist: the same 404 and the same body apart from the id, with no byte of the first workspace's data
(its other ids, prompts, metadata, file bytes, secrets) anywhere in the response. Signed links
carrying a tampered or another workspace's signature answer like a missing output or file.

The path parameters are an explicit registry: a route added with a parameter the registry does not
know fails ``test_every_path_parameter_is_registered`` until someone says how to make its resource,
so a route added later (a dialect, the console's API) cannot skip the probe.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from starlette.routing import BaseRoute, Mount

from pixelmill.api.app import create_app
from pixelmill.config import Settings
from pixelmill.ids import new_id
from pixelmill.storage.codecs import encode_image
from tests.support.accounts import SeededAccount, seed_account
from tests.support.images import photo_like
from tests.support.plans import unthrottled_plans
from tests.support.runs import edge, grant, node
from tests.support.server import LiveServer

PROMPT = "tenant-probe prompt 7c1d"
METADATA = "tenant-probe metadata 3f9a"
HOOK_PATH = "/tenant-probe-hook-51be"
WAIT = {"Prefer": "wait=30"}
_PARAM = re.compile(r"{(\w+)(?::\w+)?}")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class Tenant:
    """One workspace and its resources, each made through the public API on first use."""

    def __init__(self, api: httpx.Client, account: SeededAccount, database_url: str) -> None:
        self.api = api
        self.account = account
        grant(database_url, account.workspace_id, 1_000)

    def _ok(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        headers = {**self.account.headers, **kwargs.pop("headers", {})}
        response = self.api.request(method, path, headers=headers, timeout=60, **kwargs)
        assert response.is_success, (method, path, response.text)
        body: dict[str, Any] = response.json()
        return body

    @cached_property
    def webhook(self) -> dict[str, Any]:
        return self._ok("POST", "/v1/webhooks", json={"url": f"http://127.0.0.1:9{HOOK_PATH}"})

    @cached_property
    def run(self) -> dict[str, Any]:
        """A finished run with an image output and metadata; its end writes a webhook delivery."""
        self.webhook  # noqa: B018 - the endpoint must exist before the run ends
        graph = {
            "nodes": [node("gen", "image.generate", prompt=PROMPT, size="64x64"), node("big", "image.upscale")],
            "edges": [edge("gen", "big", "image", source_field="image")],
        }
        body = {"graph": graph, "metadata": {"probe": METADATA}}
        run = self._ok("POST", "/v1/runs", json=body, headers=WAIT)
        assert run["status"] == "completed", run
        return run

    @cached_property
    def deleted_run(self) -> dict[str, Any]:
        run = self._ok("POST", "/v1/runs", json={"graph": {"nodes": [node("a", "math.add", a=1, b=2)]}}, headers=WAIT)
        assert run["status"] == "completed", run
        self._ok("DELETE", f"/v1/runs/{run['run_id']}")
        return run

    @cached_property
    def output_url(self) -> str:
        url: str = self.run["outputs"]["big"]["value"]
        return url

    @cached_property
    def generation(self) -> dict[str, Any]:
        return self._ok("POST", "/v1/generations", json={"generation_type": "image", "prompt": PROMPT}, headers=WAIT)

    @cached_property
    def project(self) -> dict[str, Any]:
        return self._ok("POST", "/v1/projects", json={"name": f"probe {METADATA}"})

    @cached_property
    def imaginelab_project(self) -> dict[str, Any]:
        return self._ok("POST", "/api/v1/projects", json={"name": f"probe {METADATA}"})

    @cached_property
    def imaginelab_generation(self) -> dict[str, Any]:
        """An ImagineLab generation (integer id), filed under an ImagineLab project."""
        body = {"generation_type": "image", "prompt": PROMPT, "project_id": self.imaginelab_project["id"]}
        return self._ok("POST", "/api/v1/generations", json=body)

    @cached_property
    def imagerift_job(self) -> dict[str, Any]:
        """An imagerift job (a UUID jobId) restyling the workspace's file."""
        return self._ok("POST", "/api/v1/generate", json={"mode": "style", "imageKey": self.file["id"]})

    @cached_property
    def ima2_session(self) -> dict[str, Any]:
        """An ima2 node-mode session (its graph kept under versions)."""
        session: dict[str, Any] = self._ok("POST", "/api/sessions", json={"title": f"probe {METADATA}"})["session"]
        return session

    @cached_property
    def ima2_image(self) -> dict[str, Any]:
        """An ima2 classic generation: its file name is ima2's id for the output."""
        return self._ok("POST", "/api/generate", json={"prompt": PROMPT, "size": "64x64"})

    @cached_property
    def ima2_node(self) -> dict[str, Any]:
        return self._ok("POST", "/api/node/generate", json={"prompt": PROMPT, "size": "64x64"})

    @cached_property
    def workflow(self) -> dict[str, Any]:
        graph = {"nodes": [node("sum", "math.add", a=1, b=2)], "edges": []}
        workflow = self._ok("POST", "/v1/workflows", json={"name": f"probe {METADATA}", "graph": graph})
        self._ok("POST", f"/v1/workflows/{workflow['id']}/publish")
        return workflow

    @cached_property
    def invokeai_item(self) -> dict[str, Any]:
        """An InvokeAI queue item (integer id) whose graph holds the probe's prompt."""
        graph = {"nodes": {"text": {"id": "text", "type": "string", "value": PROMPT}}, "edges": []}
        batch = {"graph": graph, "origin": METADATA, "batch_id": f"batch-{METADATA}"}
        enqueued = self._ok("POST", "/api/v1/queue/default/enqueue_batch", json={"batch": batch})
        return {"item_id": enqueued["item_ids"][0], "batch_id": batch["batch_id"]}

    @cached_property
    def invitation(self) -> dict[str, Any]:
        """A pending invitation of a team workspace this tenant's user owns (personal ones take none)."""
        team = self._ok("POST", "/v1/workspaces", json={"name": f"probe {METADATA}"})
        token = self._ok("POST", "/v1/auth/token", json={"workspace_id": team["id"]})["access_token"]
        return self._ok(
            "POST",
            f"/v1/workspaces/{team['id']}/invitations",
            json={"email": f"probe-{team['id'].lower()}@example.com"},
            headers={"Authorization": f"Bearer {token}"},
        )

    @cached_property
    def png(self) -> bytes:
        return encode_image(photo_like(48, 32), "png")

    @cached_property
    def file(self) -> dict[str, Any]:
        return self._ok("POST", "/v1/files", files={"file": ("probe.png", self.png, "image/png")})

    @cached_property
    def delivery_id(self) -> str:
        self.run  # noqa: B018 - its end writes the delivery
        path = f"/v1/webhooks/{self.webhook['id']}/deliveries"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            deliveries = self._ok("GET", path)["data"]
            if deliveries:
                found: str = deliveries[0]["id"]
                return found
            time.sleep(0.1)
        raise AssertionError("the run's end wrote no webhook delivery")

    @cached_property
    def key(self) -> dict[str, Any]:
        return self._ok("POST", "/v1/keys", json={"name": "probe"})

    def secrets(self) -> list[str]:
        """Everything of this workspace that another one must never read back."""
        made = self.__dict__
        found = [PROMPT, METADATA, HOOK_PATH, self.account.email, self.account.key, self.account.workspace_id]
        found.append(self.account.user_id)
        for name in ("webhook", "run", "deleted_run", "generation", "workflow", "file", "key", "project"):
            resource = made.get(name)
            if isinstance(resource, dict):
                found += [str(resource[k]) for k in ("id", "run_id", "key", "secret", "sha256") if resource.get(k)]
        if "delivery_id" in made:
            found.append(made["delivery_id"])
        return found

    @cached_property
    def output_bytes(self) -> bytes:
        response = self.api.get(self.output_url)
        assert response.status_code == 200, response.text
        return response.content

    def blobs(self) -> list[bytes]:
        """The bytes of its uploaded file and of its run's output."""
        return [self.png, self.output_bytes]


@dataclass(frozen=True)
class ResourceParam:
    """A path parameter naming a workspace's resource: the values a tenant has for it."""

    values: Callable[[Tenant], list[str]]


@dataclass(frozen=True)
class PartParam:
    """A path parameter naming a part of the resource another parameter names (kept as is)."""

    value: Callable[[Tenant], str]


# The registry. A route whose path has a parameter missing here fails the coverage test below.
RESOURCES: dict[str, ResourceParam] = {
    "run_id": ResourceParam(lambda t: [t.run["run_id"], t.deleted_run["run_id"]]),
    "generation_id": ResourceParam(lambda t: [t.generation["id"]]),
    "generation_number": ResourceParam(lambda t: [str(t.imaginelab_generation["id"])]),
    "project_id": ResourceParam(lambda t: [t.project["id"]]),
    "imaginelab_project_id": ResourceParam(lambda t: [str(t.imaginelab_project["id"])]),
    "job_id": ResourceParam(lambda t: [t.imagerift_job["jobId"]]),
    "session_id": ResourceParam(lambda t: [t.ima2_session["id"]]),
    "workflow_id": ResourceParam(lambda t: [t.workflow["id"]]),
    "file_id": ResourceParam(lambda t: [t.file["id"]]),
    "image_name": ResourceParam(lambda t: [f"{t.file['id']}.png"]),  # InvokeAI's name of a file
    "webhook_id": ResourceParam(lambda t: [t.webhook["id"]]),
    "delivery_id": ResourceParam(lambda t: [t.delivery_id]),
    "key_id": ResourceParam(lambda t: [t.key["id"]]),
    "workspace_id": ResourceParam(lambda t: [t.account.workspace_id]),
    "user_id": ResourceParam(lambda t: [t.account.user_id]),
    "invitation_id": ResourceParam(lambda t: [t.invitation["id"]]),
    "filename": ResourceParam(lambda t: [t.ima2_image["filename"], t.ima2_node["filename"]]),
    "node_id": ResourceParam(lambda t: [t.ima2_node["nodeId"]]),
    "item_id": ResourceParam(lambda t: [str(t.invokeai_item["item_id"])]),
}
PARTS: dict[str, PartParam] = {
    "name": PartParam(lambda t: urlsplit(t.output_url).path.rsplit("/", 1)[1]),
}
# Parameters naming a namespace inside the caller's own workspace, kept as is: a route naming only
# these answers the caller's own resources, so there is nothing of another tenant to put there.
NAMESPACES: dict[str, PartParam] = {
    "queue_id": PartParam(lambda t: "default"),  # InvokeAI's queue: "default" in every workspace
}
# Parameters naming something every workspace shares, with the reason it is not a tenant's.
SHARED: dict[str, str] = {
    "model_id": "the model catalogue is the server's, the same for every workspace",
    "node_type": "node types are the server's, the same for every workspace",
    "provider_id": "upstream ids are the server's; a saved key is found by the caller's workspace, never by an id",
    "provider": "ima2's provider names are the server's; a saved key is found by the caller's workspace",
    # InvokeAI's batch ids and destinations are tags the client chooses; a route that names one counts
    # or deletes only the caller's own items, so another workspace's tag reads as an empty one
    # (200, zero), as InvokeAI answers for an unknown tag (tests/integration/dialects/test_invokeai_queue.py).
    "batch_id": "an InvokeAI batch id is a client's tag, counted within the caller's workspace only",
    "destination": "an InvokeAI destination is a client's tag, deleted within the caller's workspace only",
    # ima2 answers a cancel of a requestId it has no active job for with {"active": false}, so another
    # workspace's requestId reads as one that is not running (tests/integration/dialects/test_ima2_inflight.py).
    "request_id": "an ima2 requestId is a client's tag, cancelled within the caller's workspace only",
}

# Bodies and headers a method needs to get past validation to the lookup (else it would answer 422).
REQUESTS: dict[tuple[str, str], dict[str, Any]] = {
    ("PUT", "/api/sessions/{session_id}/graph"): {"json": {"nodes": [], "edges": []}, "headers": {"If-Match": '"1"'}},
    ("PATCH", "/api/sessions/{session_id}"): {"json": {"title": "renamed"}},
    ("PATCH", "/v1/workflows/{workflow_id}"): {"json": {"name": "renamed"}, "headers": {"If-Match": '"1"'}},
    ("POST", "/v1/workflows/{workflow_id}/runs"): {"json": {}},
    ("PATCH", "/v1/webhooks/{webhook_id}"): {"json": {"enabled": False}},
    ("PATCH", "/v1/workspaces/{workspace_id}/members/{user_id}"): {"json": {"role": "member"}},
    ("POST", "/v1/workspaces/{workspace_id}/invitations"): {"json": {"email": "probe@example.com", "role": "member"}},
    ("PUT", "/v1/operator/workspaces/{workspace_id}/plan"): {"json": {"plan": "business"}},
    ("POST", "/v1/operator/workspaces/{workspace_id}/credits"): {"json": {"amount": 5}},
}


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str

    @property
    def params(self) -> list[str]:
        return [match.group(1) for match in _PARAM.finditer(self.path)]

    def url(self, values: dict[str, str]) -> str:
        return _PARAM.sub(lambda m: values[m.group(1)], self.path)


def _routes(routes: Sequence[BaseRoute]) -> list[tuple[BaseRoute, str, set[str]]]:
    """(route, path, methods) of each route, with included routers expanded."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # a FastAPI that copies included routes into app.routes
        return [(r, getattr(r, "path", ""), getattr(r, "methods", None) or set()) for r in routes]
    return [(c.original_route, c.path or "", c.methods or set()) for c in iter_route_contexts(routes)]


def _walk(routes: Sequence[BaseRoute], prefix: str = "") -> Iterator[Endpoint]:
    """Every method of every route, through included routers and mounted sub-applications."""
    for route, route_path, methods in _routes(routes):
        path = prefix + route_path
        if isinstance(route, Mount):
            yield from _walk(route.routes, path)
        elif methods:
            for method in sorted(methods - {"HEAD", "OPTIONS"}):
                yield Endpoint(method, path)
        else:  # a websocket or another kind of route: probed by hand, so it must be named below
            yield Endpoint("ANY", path)


def endpoints_with_params(app: FastAPI) -> list[Endpoint]:
    found = [e for e in _walk(app.routes) if e.params]
    assert Endpoint("GET", "/v1/runs/{run_id}") in found, "the route table could not be read"
    return found


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"plans": unthrottled_plans()})


def unprobed(app: FastAPI) -> list[str]:
    """Routes the probe cannot cover: a path parameter the registry does not know, or a route
    that is not plain HTTP (a websocket), which must be probed by hand and then exempted here."""
    known = RESOURCES.keys() | PARTS.keys() | SHARED.keys() | NAMESPACES.keys()
    found = []
    for endpoint in endpoints_with_params(app):
        if endpoint.method == "ANY":
            found.append(f"{endpoint.path}: not an HTTP route")
        found += [f"{endpoint.method} {endpoint.path}: {{{p}}}" for p in endpoint.params if p not in known]
    return sorted(found)


def _app(tmp_path: Path) -> FastAPI:
    """The app as served, only to read its route table (nothing starts, no database is opened)."""
    return create_app(Settings(data_dir=tmp_path, secret_key="route-table-" * 4))  # type: ignore[arg-type]


def test_every_path_parameter_is_registered(tmp_path: Path) -> None:
    """A new route with an id in its path must say how to make its resource before it can ship."""
    missing = unprobed(_app(tmp_path))
    assert not missing, "add these to the tenant-isolation registry:\n" + "\n".join(missing)


def test_a_route_added_without_a_registry_entry_is_caught(tmp_path: Path) -> None:
    """The guard itself: an id route added later, in a router or a mounted sub-application, fails."""
    app = _app(tmp_path)
    dialect = APIRouter(prefix="/api/v1")

    @dialect.get("/jobs/{jobId}")
    async def job(jobId: str) -> dict[str, str]:
        return {}

    app.include_router(dialect)
    mounted = FastAPI()

    @mounted.delete("/boards/{board_id}")
    async def board(board_id: str) -> dict[str, str]:
        return {}

    app.mount("/legacy", mounted)
    assert unprobed(app) == ["DELETE /legacy/boards/{board_id}: {board_id}", "GET /api/v1/jobs/{jobId}: {jobId}"]


def _missing(value: str) -> str:
    """An id of the same kind that no workspace has."""
    if value.isdigit():  # a dialect's integer alias: one far past any made in a test
        return str(10**15 + int(value))
    if _UUID.match(value):  # a dialect's UUID (imagerift's jobId)
        return str(uuid.uuid4())
    prefix, _, _ = value.partition("_")
    return new_id(prefix)


def _normalised(response: httpx.Response, ids: dict[str, str]) -> Any:
    """The body with the given ids, and the request's own id (which a dialect may echo), masked."""
    text = response.text
    request_id = response.headers.get("x-request-id")
    if request_id:
        text = text.replace(request_id, "<request>")
    for value, placeholder in ids.items():
        text = text.replace(value, placeholder)
    try:
        return json.loads(text)
    except ValueError:
        return text


def _leaks(response: httpx.Response, secrets: list[str], sent: set[str], blobs: list[bytes]) -> list[str]:
    seen = response.content + json.dumps(dict(response.headers)).encode()
    found = [s for s in secrets if s not in sent and s.encode() in seen]
    found += [f"{len(b)} bytes of a file" for b in blobs if b[16:80] in response.content]
    return found


@dataclass
class Probe:
    api: httpx.Client
    owner: Tenant
    intruder: Tenant
    problems: list[str]
    calls: int = 0

    def compare(self, endpoint: Endpoint, foreign: dict[str, str], missing: dict[str, str], label: str) -> None:
        """The intruder calls ``endpoint`` with ``foreign`` values and then with ``missing`` ones."""
        extra = REQUESTS.get((endpoint.method, endpoint.path), {})
        headers = {**self.intruder.account.headers, **extra.get("headers", {})}
        kwargs = {k: v for k, v in extra.items() if k != "headers"}

        def send(values: dict[str, str]) -> httpx.Response:
            return self.api.request(endpoint.method, endpoint.url(values), headers=headers, timeout=30, **kwargs)

        self.judge(f"{endpoint.method} {endpoint.path} [{label}]", foreign, missing, send)

    def judge(
        self,
        where: str,
        foreign: dict[str, str],
        missing: dict[str, str],
        send: Callable[[dict[str, str]], httpx.Response],
    ) -> None:
        """``send`` with the owner's ids must answer as with ids of nothing: 404, one body, no leak."""
        got, expected = send(foreign), send(missing)
        self.calls += 2
        if got.status_code != 404 or expected.status_code != 404:
            self.problems.append(f"{where}: {got.status_code} for the owner's id, {expected.status_code} for none")
            self.problems.append(f"    owner's id -> {got.text[:300]}")
        placeholders = [f"<{name}>" for name in foreign]
        if _normalised(got, dict(zip(foreign.values(), placeholders, strict=True))) != _normalised(
            expected, dict(zip(missing.values(), placeholders, strict=True))
        ):
            self.problems.append(f"{where}: bodies differ: {got.text[:200]} vs {expected.text[:200]}")
        leaked = _leaks(got, self.owner.secrets(), set(foreign.values()), self.owner.blobs())
        if leaked:
            self.problems.append(f"{where}: leaks {leaked}")


def _probe_routes(probe: Probe, endpoints: list[Endpoint]) -> None:
    owner, intruder = probe.owner, probe.intruder
    for endpoint in endpoints:
        params = endpoint.params
        if any(p in SHARED for p in params):
            continue
        if all(p in NAMESPACES for p in params):
            continue
        ids = [p for p in params if p in RESOURCES]
        parts = {p: (PARTS | NAMESPACES)[p].value(owner) for p in params if p in PARTS or p in NAMESPACES}
        variants = max(len(RESOURCES[p].values(owner)) for p in ids)
        for index in range(variants):
            foreign = {p: RESOURCES[p].values(owner)[min(index, len(RESOURCES[p].values(owner)) - 1)] for p in ids}
            missing = {p: _missing(v) for p, v in foreign.items()}
            probe.compare(endpoint, {**foreign, **parts}, {**missing, **parts}, f"owner's ids #{index}")
        if len(ids) > 1:  # one foreign id among the intruder's own: e.g. its workspace, the owner's member
            for param in ids:
                own = {p: RESOURCES[p].values(intruder)[0] for p in ids if p != param}
                foreign_one = RESOURCES[param].values(owner)[0]
                probe.compare(
                    endpoint,
                    {**own, param: foreign_one, **parts},
                    {**own, param: _missing(foreign_one), **parts},
                    f"only {param} the owner's",
                )


# Ids a request body refers to, as (method, path, registry parameter, body for an id).
BODY_REFERENCES: list[tuple[str, str, str, Callable[[str], dict[str, Any]]]] = [
    ("POST", "/v1/generations", "file_id", lambda i: {"generation_type": "image", "prompt": "x", "file_id": i}),
    (
        "POST",
        "/v1/generations",
        "generation_id",
        lambda i: {"generation_type": "image", "prompt": "x", "source_generation_id": i},
    ),
    ("POST", "/v1/generations", "project_id", lambda i: {"generation_type": "image", "prompt": "x", "project_id": i}),
    (
        "POST",
        "/api/v1/generations",
        "imaginelab_project_id",
        lambda i: {"generation_type": "image", "prompt": "x", "project_id": int(i)},
    ),
    ("POST", "/api/v1/generate", "file_id", lambda i: {"mode": "style", "imageKey": i}),
    ("POST", "/api/v1/generate", "job_id", lambda i: {"mode": "style", "sourceGenerationId": i}),
]


def _probe_body_references(probe: Probe) -> None:
    for method, path, param, body in BODY_REFERENCES:
        foreign = RESOURCES[param].values(probe.owner)[0]

        def send(values: dict[str, str], method: str = method, path: str = path, body: Any = body) -> httpx.Response:
            (value,) = values.values()
            return probe.api.request(method, path, json=body(value), headers=probe.intruder.account.headers, timeout=30)

        probe.judge(f"{method} {path} [body {param}]", {param: foreign}, {param: _missing(foreign)}, send)


def _signed(url: str) -> tuple[str, str, str]:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    return parts.path, query["expires"][0], query["sig"][0]


def _probe_signed_links(probe: Probe) -> None:
    """A link whose signature is not for its path answers like a missing output or file."""
    owner, intruder, api = probe.owner, probe.intruder, probe.api
    own_path, expires, sig = _signed(intruder.output_url)
    owner_path = urlsplit(owner.output_url).path
    run_id = owner.run["run_id"]
    file_path, file_expires, file_sig = _signed(intruder.file["url"])
    cases = [
        (owner_path, expires, sig, run_id),  # the intruder's own signature on the owner's output
        (owner_path, expires, "0" * 64, run_id),  # a forged one
        (own_path.replace(intruder.run["run_id"], run_id), expires, sig, run_id),
        (file_path.replace(intruder.file["id"], owner.file["id"]), file_expires, file_sig, owner.file["id"]),
        (f"/v1/files/{owner.file['id']}/thumbnail", file_expires, file_sig, owner.file["id"]),
    ]
    for path, link_expires, link_sig, owned_id in cases:
        missing_id = _missing(owned_id)
        query = {"expires": link_expires, "sig": link_sig}
        got = api.get(path, params=query)
        unsigned_missing = api.get(path.replace(owned_id, missing_id), headers=intruder.account.headers)
        signed_missing = api.get(path.replace(owned_id, missing_id), params=query)
        probe.calls += 3
        where = f"signed link {path}?sig={link_sig[:8]}…"
        statuses = (got.status_code, signed_missing.status_code, unsigned_missing.status_code)
        if statuses != (404, 404, 404):
            probe.problems.append(f"{where}: {statuses} (forged, forged on a missing id, credential on a missing id)")
        bodies = [
            _normalised(r, {i: "<id>"})
            for r, i in ((got, owned_id), (signed_missing, missing_id), (unsigned_missing, missing_id))
        ]
        if not bodies[0] == bodies[1] == bodies[2]:
            probe.problems.append(f"{where}: bodies differ: {bodies}")
        leaked = _leaks(got, owner.secrets(), {owned_id}, owner.blobs())
        if leaked:
            probe.problems.append(f"{where}: leaks {leaked}")


def test_another_workspace_gets_the_same_404_as_for_nothing_on_every_route(
    live_server: LiveServer, api: httpx.Client, settings: Settings
) -> None:
    database_url = settings.resolved_database_url
    owner = Tenant(api, seed_account(database_url), database_url)
    intruder = Tenant(api, seed_account(database_url), database_url)
    endpoints = endpoints_with_params(live_server.app)
    probe = Probe(api, owner, intruder, [])
    started = time.monotonic()
    _probe_routes(probe, endpoints)
    _probe_body_references(probe)
    _probe_signed_links(probe)
    assert not probe.problems, f"{len(probe.problems)} problems:\n" + "\n".join(probe.problems)

    # Nothing the intruder tried changed the owner's resources.
    for path in (
        f"/v1/runs/{owner.run['run_id']}",
        f"/v1/generations/{owner.generation['id']}",
        f"/v1/workflows/{owner.workflow['id']}",
        f"/v1/files/{owner.file['id']}",
        f"/v1/webhooks/{owner.webhook['id']}",
    ):
        assert api.get(path, headers=owner.account.headers).status_code == 200, path
    assert api.get(f"/v1/workflows/{owner.workflow['id']}", headers=owner.account.headers).json()["name"] != "renamed"
    assert api.get("/v1/auth/me", headers={"Authorization": f"Bearer {owner.key['key']}"}).status_code == 200
    assert api.get(f"/v1/runs/{owner.deleted_run['run_id']}", headers=owner.account.headers).status_code == 404
    assert probe.calls >= 2 * len(endpoints), (probe.calls, len(endpoints))
    assert time.monotonic() - started < 60
