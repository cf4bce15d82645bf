"""The synchronous client. ``AsyncClient`` in ``_async.py`` mirrors it method for method."""

from __future__ import annotations

import base64
import builtins
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import httpx

from pixelmill.client import _shared
from pixelmill.client.config import resolve
from pixelmill.client.errors import ConnectionFailed, RunFailed, error_from_response
from pixelmill.client.models import (
    AccessToken,
    CreditPackage,
    File,
    Generation,
    GenerationModels,
    GenerationStatus,
    Key,
    KeyCreated,
    KeyRotated,
    LedgerEntry,
    Me,
    Model,
    NodeType,
    Page,
    Provider,
    Run,
    RunCreated,
    RunEvent,
    Wallet,
    Workflow,
    WorkflowSummary,
    WorkflowVersion,
)
from pixelmill.client.retry import IDEMPOTENCY_HEADER, RetryPolicy, new_idempotency_key
from pixelmill.client.sse import SSEDecoder

MAX_PREFER_WAIT = 60


class Client:
    """A pixelmill API client. Arguments win over ``PIXELMILL_API_KEY`` / ``PIXELMILL_BASE_URL``, which
    win over the saved local credentials and a local server's discovery file."""

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float = 60.0,
        max_retries: int = 3,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        config = resolve(api_key, base_url)
        self.config = config
        self.base_url = config.base_url
        self.api_key = config.api_key
        self.retry = retry or RetryPolicy(max_retries=max_retries)
        self._http = httpx.Client(
            base_url=config.base_url,
            headers=_shared.default_headers(config.api_key),
            timeout=timeout,
            transport=transport,
        )
        self.auth = AuthResource(self)
        self.runs = RunsResource(self)
        self.generations = GenerationsResource(self)
        self.workflows = WorkflowsResource(self)
        self.files = FilesResource(self)
        self.credits = CreditsResource(self)
        self.keys = KeysResource(self)
        self.nodes = NodesResource(self)
        self.models = ModelsResource(self)
        self.providers = ProvidersResource(self)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def build(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | None = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> httpx.Request:
        """The request, built once so that every retry sends the very same bytes and key."""
        extra = dict(headers or {})
        if method == "POST" and self.api_key and IDEMPOTENCY_HEADER not in extra:
            extra[IDEMPOTENCY_HEADER] = idempotency_key or new_idempotency_key()
        return self._http.build_request(
            method, url, params=_shared.clean(dict(params or {})), json=json, content=content, data=data, headers=extra
        )

    def send(self, request: httpx.Request, *, stream: bool = False) -> httpx.Response:
        """Send with retries; a success is returned, an error response raised as its typed exception."""
        attempt = 0
        while True:
            try:
                response = self._http.send(request, stream=stream)
            except httpx.TransportError as exc:
                if not self.retry.retry_failure(exc, request, attempt):
                    raise ConnectionFailed(f"cannot reach {self.base_url}: {exc!r}") from exc
                delay = self.retry.delay(attempt, None)
            else:
                if response.is_success:
                    return response
                response.read()
                response.close()
                if not self.retry.retry_response(response, attempt):
                    raise error_from_response(response)
                delay = self.retry.delay(attempt, response)
            time.sleep(delay)
            attempt += 1

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self.send(self.build(method, url, **kwargs))

    def download(self, url: str, target: Path, *, stem: str | None = None) -> Path:
        """Save ``url`` (an output or file URL) to ``target``, or into ``target`` when it is a directory
        (named ``stem`` plus the extension of its content type). Written atomically."""
        request = self._http.build_request("GET", url)
        if url.startswith(("http://", "https://")) and not _shared.same_origin(url, self.base_url):
            request.headers.pop("Authorization", None)  # a storage URL elsewhere never sees the key
        response = self.send(request, stream=True)
        try:
            if target.is_dir():
                name = stem or Path(response.url.path).stem or "download"
                target = target / f"{name}{_shared.extension_for(response.headers.get('content-type'), url)}"
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = _shared.temporary_path(target)
            with partial.open("wb") as handle:
                for chunk in response.iter_bytes():
                    handle.write(chunk)
            partial.replace(target)
        finally:
            response.close()
        return target


class _Resource:
    def __init__(self, client: Client) -> None:
        self._client = client


class AuthResource(_Resource):
    def login(self, email: str, password: str, *, workspace_id: str | None = None) -> AccessToken:
        """Exchange email and password for a bearer access token (OAuth2 password form)."""
        form = _shared.clean({"username": email, "password": password, "workspace_id": workspace_id})
        return _shared.parse(AccessToken, self._client.request("POST", "/v1/auth/login", data=form))

    def me(self) -> Me:
        return _shared.parse(Me, self._client.request("GET", "/v1/auth/me"))


class RunsResource(_Resource):
    def create(
        self,
        graph: Mapping[str, Any],
        *,
        priority: int | None = None,
        webhook: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> RunCreated:
        """Queue a run of an ad-hoc graph (``{"nodes": [...], "edges": [...]}``)."""
        body = _shared.clean({"graph": dict(graph), "priority": priority, "webhook": webhook, "metadata": metadata})
        response = self._client.request("POST", "/v1/runs", json=body, idempotency_key=idempotency_key)
        return _shared.parse(RunCreated, response)

    def create_and_wait(
        self,
        graph: Mapping[str, Any],
        *,
        timeout: float | None = None,
        priority: int | None = None,
        metadata: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        raise_on_failure: bool = False,
    ) -> Run:
        """Create with ``Prefer: wait`` (the server holds the answer up to 60 s), then poll to the end."""
        body = _shared.clean({"graph": dict(graph), "priority": priority, "metadata": metadata})
        response = self._client.request(
            "POST", "/v1/runs", json=body, headers=_prefer(timeout), idempotency_key=idempotency_key
        )
        return self._settle(response, timeout, raise_on_failure)

    def _settle(self, response: httpx.Response, timeout: float | None, raise_on_failure: bool) -> Run:
        payload = response.json()
        if "kind" in payload:
            run = Run.model_validate(payload)
            if run.finished:
                return _checked(run, raise_on_failure)
        return self.wait(str(payload["run_id"]), timeout=timeout, raise_on_failure=raise_on_failure)

    def get(self, run_id: str) -> Run:
        return _shared.parse(Run, self._client.request("GET", f"/v1/runs/{run_id}"))

    def list(
        self,
        *,
        status: Sequence[str] | None = None,
        workflow_id: str | None = None,
        kind: Literal["graph", "workflow", "generation"] | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> Page[Run]:
        params: dict[str, Any] = {"status": list(status) if status else None, "workflow_id": workflow_id, "kind": kind}
        params |= {"limit": limit, "cursor": cursor}
        return _shared.parse(Page[Run], self._client.request("GET", "/v1/runs", params=params))

    def cancel(self, run_id: str) -> None:
        self._client.request("POST", f"/v1/runs/{run_id}/cancel")

    def delete(self, run_id: str) -> None:
        self._client.request("DELETE", f"/v1/runs/{run_id}")

    def wait(
        self, run_id: str, *, timeout: float | None = None, poll_interval: float = 0.25, raise_on_failure: bool = False
    ) -> Run:
        """Poll until the run finished; ``TimeoutError`` after ``timeout`` seconds. Polling interval grows
        to at most 2 s, so long runs cost few requests (polling counts toward rate limits)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        interval = poll_interval
        while True:
            run = self.get(run_id)
            if run.finished:
                return _checked(run, raise_on_failure)
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"run {run_id} still {run.status} after {timeout} s")
            time.sleep(interval)
            interval = min(2.0, interval * 1.5)

    def events(self, run_id: str, *, last_event_id: str | None = None) -> Iterator[RunEvent]:
        """The run's server-sent events until its terminal event; a dropped stream is resumed with
        ``Last-Event-ID`` (within the retry budget)."""
        reconnects = 0
        while True:
            headers = {"Accept": "text/event-stream"}
            if last_event_id is not None:
                headers["Last-Event-ID"] = last_event_id
            request = self._client.build("GET", f"/v1/runs/{run_id}/events", headers=headers)
            response = self._client.send(request, stream=True)
            decoder = SSEDecoder()
            try:
                for line in response.iter_lines():
                    event = decoder.feed(line)
                    if event is None:
                        continue
                    if event.id is not None:
                        last_event_id = event.id
                    yield event
                    if event.terminal:
                        return
            except httpx.TransportError as exc:
                reconnects += 1
                if reconnects > self._client.retry.max_retries:
                    raise ConnectionFailed(f"event stream of {run_id} dropped: {exc!r}") from exc
                continue
            finally:
                response.close()
            return  # the server closed the stream without a terminal event (the run had finished)

    def download_outputs(self, run: Run, directory: Path) -> builtins.list[Path]:
        """Every output of a finished run into ``directory``: media as files, text and JSON values too."""
        directory.mkdir(parents=True, exist_ok=True)
        paths = [self._client.download(url, directory, stem=stem) for stem, url in _shared.output_targets(run)]
        return paths + _shared.write_value_outputs(run, directory)


class GenerationsResource(_Resource):
    def create(
        self,
        generation_type: str,
        prompt: str = "",
        *,
        model: str | None = None,
        settings: Mapping[str, Any] | None = None,
        mode: str | None = None,
        file_id: str | None = None,
        image: bytes | None = None,
        source_generation_id: str | None = None,
        wait: float | None = None,
        idempotency_key: str | None = None,
    ) -> Generation:
        """Queue an image, video, voice, music, infographic or text generation; with ``wait`` the server
        answers once it finished (or after at most 60 s)."""
        body = _shared.clean(
            {
                "generation_type": generation_type,
                "prompt": prompt,
                "model_name": model,
                "settings": dict(settings or {}),
                "mode": mode,
                "file_id": file_id,
                "image_base64": base64.b64encode(image).decode() if image is not None else None,
                "source_generation_id": source_generation_id,
            }
        )
        headers = _prefer(wait) if wait is not None else None
        response = self._client.request(
            "POST", "/v1/generations", json=body, headers=headers, idempotency_key=idempotency_key
        )
        return _shared.parse(Generation, response)

    def get(self, generation_id: str) -> Generation:
        return _shared.parse(Generation, self._client.request("GET", f"/v1/generations/{generation_id}"))

    def status(self, generation_id: str) -> GenerationStatus:
        return _shared.parse(GenerationStatus, self._client.request("GET", f"/v1/generations/{generation_id}/status"))

    def list(self, *, limit: int = 20, cursor: str | None = None) -> Page[Generation]:
        params = {"limit": limit, "cursor": cursor}
        return _shared.parse(Page[Generation], self._client.request("GET", "/v1/generations", params=params))

    def cancel(self, generation_id: str) -> Generation:
        return _shared.parse(Generation, self._client.request("POST", f"/v1/generations/{generation_id}/cancel"))

    def delete(self, generation_id: str) -> None:
        self._client.request("DELETE", f"/v1/generations/{generation_id}")

    def models(self) -> GenerationModels:
        return _shared.parse(GenerationModels, self._client.request("GET", "/v1/generations/models"))

    def wait(self, generation_id: str, *, timeout: float | None = None, poll_interval: float = 0.25) -> Generation:
        """Poll the light status route until the generation finished, then read it whole."""
        deadline = None if timeout is None else time.monotonic() + timeout
        interval = poll_interval
        while True:
            state = self.status(generation_id)
            if state.status in ("completed", "failed", "cancelled"):
                return self.get(generation_id)
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"generation {generation_id} still {state.status} after {timeout} s")
            time.sleep(interval)
            interval = min(2.0, interval * 1.5)


class WorkflowsResource(_Resource):
    def create(self, name: str, graph: Mapping[str, Any], *, description: str = "") -> Workflow:
        body = {"name": name, "description": description, "graph": dict(graph)}
        return _shared.parse(Workflow, self._client.request("POST", "/v1/workflows", json=body))

    def get(self, workflow_id: str) -> Workflow:
        return _shared.parse(Workflow, self._client.request("GET", f"/v1/workflows/{workflow_id}"))

    def list(self, *, limit: int = 20, cursor: str | None = None) -> Page[WorkflowSummary]:
        params = {"limit": limit, "cursor": cursor}
        return _shared.parse(Page[WorkflowSummary], self._client.request("GET", "/v1/workflows", params=params))

    def update(
        self,
        workflow_id: str,
        *,
        version: int,
        name: str | None = None,
        description: str | None = None,
        graph: Mapping[str, Any] | None = None,
    ) -> Workflow:
        """Change the draft; ``version`` is the one you last read (sent as ``If-Match``), so a concurrent
        edit is a ``Conflict`` instead of a lost update."""
        body = _shared.clean({"name": name, "description": description, "graph": dict(graph) if graph else None})
        headers = {"If-Match": f'"{version}"'}
        response = self._client.request("PATCH", f"/v1/workflows/{workflow_id}", json=body, headers=headers)
        return _shared.parse(Workflow, response)

    def delete(self, workflow_id: str, *, version: int) -> None:
        self._client.request("DELETE", f"/v1/workflows/{workflow_id}", headers={"If-Match": f'"{version}"'})

    def publish(self, workflow_id: str) -> WorkflowVersion:
        return _shared.parse(WorkflowVersion, self._client.request("POST", f"/v1/workflows/{workflow_id}/publish"))

    def versions(self, workflow_id: str) -> builtins.list[WorkflowVersion]:
        response = self._client.request("GET", f"/v1/workflows/{workflow_id}/versions")
        return [WorkflowVersion.model_validate(item) for item in response.json()["data"]]

    def run(
        self,
        workflow_id: str,
        *,
        inputs: Mapping[str, Mapping[str, Any]] | None = None,
        priority: int | None = None,
        metadata: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> RunCreated:
        """Queue a run of the latest published version; ``inputs`` maps node id -> inputs to override."""
        response = self._client.request(
            "POST",
            f"/v1/workflows/{workflow_id}/runs",
            json=_workflow_run_body(inputs, priority, metadata),
            idempotency_key=idempotency_key,
        )
        return _shared.parse(RunCreated, response)

    def run_and_wait(
        self,
        workflow_id: str,
        *,
        inputs: Mapping[str, Mapping[str, Any]] | None = None,
        timeout: float | None = None,
        priority: int | None = None,
        metadata: Mapping[str, Any] | None = None,
        raise_on_failure: bool = False,
    ) -> Run:
        response = self._client.request(
            "POST",
            f"/v1/workflows/{workflow_id}/runs",
            json=_workflow_run_body(inputs, priority, metadata),
            headers=_prefer(timeout),
        )
        return self._client.runs._settle(response, timeout, raise_on_failure)


class FilesResource(_Resource):
    def upload(self, source: Path | bytes, *, filename: str | None = None) -> File:
        """Store an image, video or audio file (type sniffed by the server from the bytes)."""
        if isinstance(source, Path):
            content, filename = source.read_bytes(), filename or source.name
        else:
            content = source
        headers = {"Content-Type": "application/octet-stream"}
        response = self._client.request(
            "POST", "/v1/files", params={"filename": filename}, content=content, headers=headers
        )
        return _shared.parse(File, response)

    def list(
        self,
        *,
        source: Literal["upload", "output"] | None = None,
        media: Literal["image", "video", "audio"] | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> Page[File]:
        """The workspace's files, newest first: uploads, runs' outputs, or both."""
        params = {"source": source, "media": media, "limit": limit, "cursor": cursor}
        return _shared.parse(Page[File], self._client.request("GET", "/v1/files", params=params))

    def get(self, file_id: str) -> File:
        return _shared.parse(File, self._client.request("GET", f"/v1/files/{file_id}"))

    def download(self, source: str, target: Path) -> Path:
        """Save a file (by id) or any output URL to ``target`` (a path, or a directory to save into)."""
        url = source if source.startswith(("http://", "https://", "/")) else f"/v1/files/{source}/content"
        stem = None if url is source else source
        return self._client.download(url, target, stem=stem)


class CreditsResource(_Resource):
    def wallet(self) -> Wallet:
        return _shared.parse(Wallet, self._client.request("GET", "/v1/credits/wallet"))

    def ledger(self, *, limit: int = 50, cursor: str | None = None) -> Page[LedgerEntry]:
        params = {"limit": limit, "cursor": cursor}
        return _shared.parse(Page[LedgerEntry], self._client.request("GET", "/v1/credits/ledger", params=params))

    def packages(self) -> list[CreditPackage]:
        response = self._client.request("GET", "/v1/credits/packages")
        body = response.json()
        items = body["data"] if isinstance(body, dict) else body
        return [CreditPackage.model_validate(item) for item in items]


class KeysResource(_Resource):
    def list(self) -> list[Key]:
        response = self._client.request("GET", "/v1/keys")
        return [Key.model_validate(item) for item in response.json()["data"]]

    def create(
        self, name: str, *, mode: Literal["live", "test"] = "live", scopes: Sequence[str] | None = None
    ) -> KeyCreated:
        body = _shared.clean({"name": name, "mode": mode, "scopes": list(scopes) if scopes is not None else None})
        return _shared.parse(KeyCreated, self._client.request("POST", "/v1/keys", json=body))

    def get(self, key_id: str) -> Key:
        """One key, whatever its status (a rotated one has ``expires_at`` and ``replaced_by``)."""
        return _shared.parse(Key, self._client.request("GET", f"/v1/keys/{key_id}"))

    def revoke(self, key_id: str) -> Key:
        """End a key at once, in its rotation grace period too."""
        return _shared.parse(Key, self._client.request("DELETE", f"/v1/keys/{key_id}"))

    def rotate(self, key_id: str) -> KeyRotated:
        """A replacement key; the old one (``previous``) keeps working until its ``expires_at``."""
        return _shared.parse(KeyRotated, self._client.request("POST", f"/v1/keys/{key_id}/rotate"))


class NodesResource(_Resource):
    def list(self, *, category: str | None = None) -> list[NodeType]:
        response = self._client.request("GET", "/v1/nodes", params={"category": category})
        return [NodeType.model_validate(item) for item in response.json()["data"]]

    def get(self, node_type: str) -> NodeType:
        return _shared.parse(NodeType, self._client.request("GET", f"/v1/nodes/{node_type}"))


class ModelsResource(_Resource):
    def list(self, *, generation_type: str | None = None, sandbox: bool | None = None) -> list[Model]:
        params = {"generation_type": generation_type, "sandbox": sandbox}
        response = self._client.request("GET", "/v1/models", params=params)
        return [Model.model_validate(item) for item in response.json()["data"]]

    def get(self, model_id: str) -> Model:
        return _shared.parse(Model, self._client.request("GET", f"/v1/models/{model_id}"))


class ProvidersResource(_Resource):
    """Upstream providers and their keys (``PUT``/``DELETE /v1/providers/{id}/key``)."""

    def list(self) -> builtins.list[Provider]:
        response = self._client.request("GET", "/v1/providers")
        return [Provider.model_validate(item) for item in response.json()["data"]]

    def set_key(self, provider_id: str, key: str, *, scope: str | None = None) -> Provider:
        body = _shared.clean({"key": key, "scope": scope})
        return _shared.parse(Provider, self._client.request("PUT", f"/v1/providers/{provider_id}/key", json=body))

    def remove_key(self, provider_id: str, *, scope: str | None = None) -> None:
        self._client.request("DELETE", f"/v1/providers/{provider_id}/key", params=_shared.clean({"scope": scope}))


def _prefer(timeout: float | None) -> dict[str, str]:
    seconds = MAX_PREFER_WAIT if timeout is None else max(1, min(MAX_PREFER_WAIT, int(timeout)))
    return {"Prefer": f"wait={seconds}"}


def _checked(run: Run, raise_on_failure: bool) -> Run:
    if raise_on_failure and run.status != "completed":
        raise RunFailed(run)
    return run


def _workflow_run_body(
    inputs: Mapping[str, Mapping[str, Any]] | None, priority: int | None, metadata: Mapping[str, Any] | None
) -> dict[str, Any]:
    nodes = [{"id": node_id, "inputs": dict(values)} for node_id, values in (inputs or {}).items()]
    return _shared.clean({"nodes": nodes, "priority": priority, "metadata": dict(metadata) if metadata else None})
