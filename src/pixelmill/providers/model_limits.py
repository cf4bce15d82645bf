"""Inputs a model's catalogue entry says it cannot take, refused before anything is sent.

The limits live in ``ModelInfo.limits`` (``max_images``, ``max_reference_images``, ``mask``,
``max_prompt_chars``); a key a model does not publish is no limit. Node types call
:func:`check_model_inputs` from their ``check_model`` (see ``engine/model_checks.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pixelmill import errors
from pixelmill.errors import PixelmillError
from pixelmill.providers.base import Capability, ModelInfo


def check_model_inputs(inputs: Mapping[str, Any], info: ModelInfo, *, capability: Capability) -> None:
    """INVALID_INPUT naming the field for the first input ``info`` cannot take."""
    limits = info.limits
    if capability not in info.capabilities:
        raise PixelmillError(
            errors.INVALID_INPUT, f"Model {info.id} cannot do {capability}", field="model", model=info.id
        )
    count = inputs.get("n", 1)
    if isinstance(count, int) and count > limits.get("max_images", count):
        raise PixelmillError(
            errors.INVALID_INPUT, f"{info.id} makes at most {limits['max_images']} images", field="n", model=info.id
        )
    references = inputs.get("reference_images") or []
    if isinstance(references, list) and len(references) > limits.get("max_reference_images", len(references)):
        raise PixelmillError(
            errors.INVALID_INPUT,
            f"{info.id} takes at most {limits['max_reference_images']} reference images",
            field="reference_images",
            model=info.id,
        )
    if inputs.get("mask") is not None and limits.get("mask") is False:
        raise PixelmillError(errors.INVALID_INPUT, f"{info.id} takes no mask", field="mask", model=info.id)
    prompt = inputs.get("prompt")
    if isinstance(prompt, str) and len(prompt) > limits.get("max_prompt_chars", len(prompt)):
        raise PixelmillError(
            errors.INVALID_INPUT,
            f"{info.id} takes prompts of at most {limits['max_prompt_chars']} characters",
            field="prompt",
            model=info.id,
        )
