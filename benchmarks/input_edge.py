"""What the input edge (pixelmill.api.clean_input) costs per request, against the JSON parse every
body gets anyway, in the same run.

    .venv/bin/python benchmarks/input_edge.py [--number 20000]

Bodies: the README's two-node run create with a little metadata (the common case, cleared by byte
scans alone); a 40-node graph (more brackets than the depth limit, so the string-stripped skeleton
is measured); the same run create with an emoji written as surrogate escapes (as Python's json
writes it, so the body is parsed and walked); and a 256 KiB data: URL in a graph input. Printed
per body: µs for ``check_json_body``, µs for ``json.loads`` of the same bytes (the baseline: FastAPI
parses every JSON body once), their ratio, and µs for the whole middleware around an empty ASGI app.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import timeit
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from pixelmill.api.clean_input import CleanInputMiddleware
from pixelmill.json_bounds import JsonLimits, check_json_body

README_RUN: dict[str, Any] = {
    "graph": {
        "nodes": [
            {
                "id": "scene",
                "type": "image.generate",
                "inputs": {"prompt": "harbour town at dusk", "seed": 7},
                "is_intermediate": True,
            },
            {"id": "paint", "type": "image.style", "inputs": {"style": "oil_paint"}},
        ],
        "edges": [
            {"source": {"node_id": "scene", "field": "image"}, "destination": {"node_id": "paint", "field": "image"}}
        ],
    },
    "metadata": {"customer": "c_1234", "campaign": "autumn", "tags": ["harbour", "dusk"]},
}


def bodies() -> dict[str, bytes]:
    big_graph = {
        "graph": {
            "nodes": [
                {"id": f"n{i}", "type": "image.style", "inputs": {"style": "oil_paint", "strength": 0.5}}
                for i in range(40)
            ],
            "edges": [],
        }
    }
    emoji = {**README_RUN, "metadata": {"mood": "\U0001f305 harbour"}}
    data_url = "data:image/png;base64," + base64.b64encode(bytes(range(256)) * 768).decode()
    with_image = {"graph": {"nodes": [{"id": "load", "type": "image.load", "inputs": {"data": data_url}}], "edges": []}}
    return {
        "readme run create": json.dumps(README_RUN).encode(),
        "40-node graph": json.dumps(big_graph).encode(),
        "emoji as escapes": json.dumps(emoji).encode(),
        "256 KiB data: URL": json.dumps(with_image).encode(),
    }


def middleware_seconds(body: bytes, number: int) -> float:
    """Seconds per request through CleanInputMiddleware around an app that only reads the body."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()

    async def noop_send(message: Message) -> None:
        return None

    edge = CleanInputMiddleware(app, JsonLimits())
    scope: Scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/runs",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json")],
    }

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    async def loop() -> float:
        started = asyncio.get_running_loop().time()
        for _ in range(number):
            await edge(scope, receive, noop_send)
        return (asyncio.get_running_loop().time() - started) / number

    async def bare() -> float:
        started = asyncio.get_running_loop().time()
        for _ in range(number):
            await app(scope, receive, noop_send)
        return (asyncio.get_running_loop().time() - started) / number

    return asyncio.run(loop()) - asyncio.run(bare())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=20000, help="calls per measurement")
    args = parser.parse_args()
    print(f"{'body':<22}{'bytes':>9}{'check µs':>11}{'json.loads µs':>15}{'ratio':>8}{'middleware µs':>15}")
    for name, body in bodies().items():
        number = max(20, args.number * 1000 // max(len(body), 1000))
        check = min(timeit.repeat(lambda b=body: check_json_body(b, 64), number=number, repeat=5)) / number
        parse = min(timeit.repeat(lambda b=body: json.loads(b), number=number, repeat=5)) / number
        whole = middleware_seconds(body, number)
        figures = f"{check * 1e6:>11.2f}{parse * 1e6:>15.2f}{check / parse:>8.2f}{whole * 1e6:>15.2f}"
        print(f"{name:<22}{len(body):>9}{figures}")


if __name__ == "__main__":
    main()
