"""ima2's ``provider`` (and ``model``) as the pixelmill model a request runs on, or ima2's code for
why it cannot run here. Pure: the caller passes what the workspace has configured.

======================  ==========================================  ===============================
ima2 provider           runs on                                     when not configured
======================  ==========================================  ===============================
``auto``, ``oauth``,    the workspace's default image model (the    ``OAUTH_UNAVAILABLE`` (no image
unknown                 built-in CPU renderer when nothing is set)  model installed at all)
``api``                 OpenAI (``openai/gpt-image-1``)             401 ``API_KEY_REQUIRED``
``grok-api``            xAI Grok Imagine                            401 ``API_KEY_REQUIRED``
``grok``                xAI (ima2's local proxy stands in for it)   503 ``OAUTH_UNAVAILABLE``
``gemini-api``          Gemini, else Vertex (nano banana)           401 ``GEMINI_API_KEY_MISSING``
``agy``                 Gemini, else Vertex (nano-banana-2)         503 ``OAUTH_UNAVAILABLE``
======================  ==========================================  ===============================

Grok, Gemini and agy take at most three input images and no mask, as in ima2. Images are PNG whatever
the provider (ima2 answers JPEG for Grok and Gemini): pixelmill stores every generated image as PNG.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from pixelmill.api.dialects.ima2 import codes
from pixelmill.errors import ErrorSpec, PixelmillError
from pixelmill.providers.base import ModelInfo
from pixelmill.services.generation_graphs import default_model

# ima2's OAuth/API model names (Responses API models that call the image tool).
OPENAI_MODELS = frozenset({"gpt-5.5", "gpt-5.4", "gpt-5.4-mini", "gpt-5.6-sol", "gpt-5.6-terra", "gpt-5.6-luna"})
UNSUPPORTED_MODELS = frozenset({"gpt-5.3-codex-spark"})
OPENAI_IMAGE_MODEL = "openai/gpt-image-1"
GROK_MODELS: Mapping[str, str] = {
    "grok-imagine-image": "grok-imagine-image",
    "grok-imagine-image-quality": "grok-imagine-image-quality",
}
GEMINI_MODELS: Mapping[str, str] = {
    "nano-banana-2": "gemini-3.1-flash-image-preview",
    "nano-banana-pro": "gemini-3-pro-image-preview",
}
GROK_VIDEO_MODELS = frozenset({"grok-imagine-video"})
PROVIDERS = ("auto", "oauth", "api", "grok", "grok-api", "agy", "gemini-api")
MAX_UPSTREAM_INPUTS = 3


@dataclass(frozen=True, slots=True)
class Catalogue:
    """What the caller's workspace can run: its models, which providers have keys, its defaults."""

    models: Sequence[ModelInfo]
    configured: Callable[[str], bool]
    defaults: Mapping[str, str]
    test_mode: bool = False

    def has(self, model_id: str) -> bool:
        return any(m.id == model_id for m in self.models)

    def info(self, model_id: str) -> ModelInfo | None:
        return next((m for m in self.models if m.id == model_id), None)


@dataclass(frozen=True, slots=True)
class Route:
    """Where one request runs, and what its provider refuses before it runs."""

    provider: str  # ima2's name, normalised (auto -> oauth)
    model_id: str  # the pixelmill model
    model: str  # the model name the answer shows: the client's ima2 name, else the pixelmill id
    format: Literal["png"]  # ima2's ``format``: what pixelmill stores
    max_inputs: int | None = None
    too_many_inputs: ErrorSpec | None = None
    mask_unsupported: ErrorSpec | None = None


def normalise(provider: object) -> str:
    """ima2's rule: ``auto`` and anything it does not know mean ``oauth``."""
    return provider if isinstance(provider, str) and provider in PROVIDERS and provider != "auto" else "oauth"


def route_image(provider: object, model: object, quality: str, catalogue: Catalogue) -> Route:
    """The route of an image request (generate, edit, node, multimode); raises ima2's code."""
    name = normalise(provider)
    requested = model if isinstance(model, str) and model else None
    if name in ("oauth", "api"):
        _check_openai_model(requested)
    if name == "oauth":
        model_id = _default_image_model(catalogue)
        return Route(name, model_id, requested or model_id, "png")
    if name == "api":
        if not (catalogue.configured("openai") and catalogue.has(OPENAI_IMAGE_MODEL)):
            raise PixelmillError(codes.API_KEY_REQUIRED, 'provider "api" needs an OpenAI API key; none is configured')
        return Route(name, OPENAI_IMAGE_MODEL, requested or OPENAI_IMAGE_MODEL, "png")
    if name in ("grok", "grok-api"):
        grok = requested or ("grok-imagine-image-quality" if quality == "high" else "grok-imagine-image")
        if grok not in GROK_MODELS:
            raise PixelmillError(codes.INVALID_GROK_IMAGE_MODEL, field="model", model=grok)
        if not catalogue.configured("xai"):
            raise _missing(name, "xAI")
        return Route(
            name,
            f"xai/{GROK_MODELS[grok]}",
            grok,
            "png",
            MAX_UPSTREAM_INPUTS,
            codes.GROK_REF_TOO_MANY,
            codes.GROK_MASK_UNSUPPORTED,
        )
    gemini = requested or "nano-banana-2"
    if gemini not in GEMINI_MODELS:
        raise PixelmillError(codes.INVALID_IMAGE_MODEL, f"Unknown Gemini image model {gemini!r}", field="model")
    upstream = next((p for p in ("gemini", "vertex") if catalogue.configured(p)), None)
    if upstream is None:
        raise _missing(name, "Gemini")
    agy = name == "agy"
    return Route(
        name,
        f"{upstream}/{GEMINI_MODELS[gemini]}",
        gemini,
        "png",
        MAX_UPSTREAM_INPUTS,
        codes.AGY_REF_TOO_MANY if agy else codes.GEMINI_REF_TOO_MANY,
        codes.AGY_MASK_UNSUPPORTED if agy else codes.GEMINI_MASK_UNSUPPORTED,
    )


def route_video(provider: object, model: object, catalogue: Catalogue) -> Route:
    """The route of a video request: ``grok`` or ``grok-api`` on xAI's video model, else ima2's codes."""
    name = provider if isinstance(provider, str) else ""
    if name == "agy":
        raise PixelmillError(codes.AGY_VIDEO_UNSUPPORTED)
    if name not in ("grok", "grok-api"):
        raise PixelmillError(codes.VIDEO_PROVIDER_UNSUPPORTED, field="provider")
    video = model if isinstance(model, str) and model else "grok-imagine-video"
    if video not in GROK_VIDEO_MODELS:
        raise PixelmillError(codes.INVALID_GROK_VIDEO_MODEL, field="model", model=video)
    if not catalogue.configured("xai"):
        raise _missing(name, "xAI")
    return Route(name, f"xai/{video}", video, "png", 7, codes.GROK_VIDEO_REF_TOO_MANY)


def _check_openai_model(model: str | None) -> None:
    if model is None or model in OPENAI_MODELS:
        return
    if model in UNSUPPORTED_MODELS:
        raise PixelmillError(codes.IMAGE_MODEL_UNSUPPORTED, f"{model} cannot generate images", field="model")
    raise PixelmillError(
        codes.INVALID_IMAGE_MODEL,
        f"Unknown image model {model!r}; one of: {', '.join(sorted(OPENAI_MODELS))}",
        field="model",
    )


def _default_image_model(catalogue: Catalogue) -> str:
    chosen = catalogue.defaults.get("image")
    info = catalogue.info(chosen) if chosen else None
    if info is not None and "text-to-image" in info.capabilities and not (catalogue.test_mode and not info.sandbox):
        return info.id
    fallback = default_model(catalogue.models, "image", "text-to-image", test_mode=catalogue.test_mode)
    if fallback is None:
        raise PixelmillError(codes.NO_IMAGE_MODEL)
    return fallback


def _missing(provider: str, upstream: str) -> PixelmillError:
    """ima2's code for a provider with no key here: the local proxies (grok, agy) are 'unavailable',
    the API providers need a key."""
    if provider in ("grok", "agy"):
        return PixelmillError(
            codes.OAUTH_UNAVAILABLE, f'provider "{provider}" runs on {upstream} here, and no {upstream} key is set'
        )
    if provider == "gemini-api":
        return PixelmillError(codes.GEMINI_API_KEY_MISSING)
    return PixelmillError(codes.API_KEY_REQUIRED, f'provider "{provider}" needs an {upstream} API key; none is set')
