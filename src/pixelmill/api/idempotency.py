"""``Idempotency-Key`` for every create, as pure ASGI middleware.

It only acts on POST requests that carry the header and an acceptable bearer credential: it
claims the key for the caller's workspace, runs the request, and stores the response (unless it
is a 5xx, so the client may retry); a retry gets the stored response with
``Idempotent-Replayed: true``. Requests without the header pass straight through.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pixelmill.api.errors import send_error
from pixelmill.errors import PixelmillError
from pixelmill.runtime import Runtime
from pixelmill.services.auth import Authenticator
from pixelmill.services.idempotency import IdempotencyStore, StoredResponse, fingerprint, validate_key

_REPLAYED_HEADERS = frozenset({"content-type", "location", "retry-after"})


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        raw_key = headers.get(b"idempotency-key")
        authorization = headers.get(b"authorization", b"").decode("latin-1")
        if raw_key is None or not authorization.lower().startswith("bearer "):
            await self.app(scope, receive, send)
            return
        runtime: Runtime = scope["app"].state.runtime
        try:
            key = raw_key.decode("latin-1")  # never fails, so a key that is not ASCII text is refused, not skipped
            validate_key(key)
            authenticator = Authenticator(runtime.db, runtime.settings.secret, runtime.auth_cache)
            principal = await authenticator.authenticate(authorization[7:].strip())
        except PixelmillError as exc:
            if exc.status == 401:  # let the route answer with its own authentication error
                await self.app(scope, receive, send)
            else:
                await send_error(send, exc, scope)
            return

        body = await _read_body(receive)
        store = IdempotencyStore(runtime.db)
        try:
            stored = await store.claim(principal.workspace_id, key, fingerprint("POST", scope["path"], body))
        except PixelmillError as exc:
            await send_error(send, exc, scope)
            return
        if stored is not None:
            await _replay(send, stored)
            return

        async def finish(response: StoredResponse) -> None:
            await store.complete(principal.workspace_id, key, response)

        captured = _Capture(send, finish)
        try:
            await self.app(scope, _replaying(body), captured.send)
        except BaseException:
            if not captured.stored:
                await store.release(principal.workspace_id, key)
            raise
        if not captured.stored:
            await store.release(principal.workspace_id, key)


class _Capture:
    """Forwards the response to the client while keeping a copy of it.

    A response below 500 is stored *before* its last body chunk goes out: a client that retries
    the moment it has the answer must find it stored, not "in progress".
    """

    def __init__(self, send: Send, finish: Callable[[StoredResponse], Awaitable[None]]) -> None:
        self._send = send
        self._finish = finish
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.body = bytearray()
        self.stored = False

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = {
                k.decode("latin-1"): v.decode("latin-1")
                for k, v in message.get("headers", [])
                if k.decode("latin-1").lower() in _REPLAYED_HEADERS
            }
        elif message["type"] == "http.response.body":
            self.body.extend(message.get("body", b""))
            if not message.get("more_body", False) and self.status is not None and self.status < 500:
                await self._finish(self.response())
                self.stored = True
        await self._send(message)

    def response(self) -> StoredResponse:
        assert self.status is not None
        return StoredResponse(self.status, self.headers, bytes(self.body))


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replaying(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


async def _replay(send: Send, stored: StoredResponse) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in stored.headers.items()]
    headers += [(b"idempotent-replayed", b"true"), (b"content-length", str(len(stored.body)).encode())]
    await send({"type": "http.response.start", "status": stored.status, "headers": headers})
    await send({"type": "http.response.body", "body": stored.body})
