"""The providers every pixelmill has: they need no network, no GPU and no configuration."""

from __future__ import annotations

from pixelmill.config import Settings
from pixelmill.providers.cv import CvProvider
from pixelmill.providers.diffusers_provider import DiffusersProvider
from pixelmill.providers.fal import FalProvider
from pixelmill.providers.gemini import GeminiProvider
from pixelmill.providers.local_media import LocalMediaProvider
from pixelmill.providers.openai import OpenAIProvider
from pixelmill.providers.openai_compatible import OpenAICompatibleProvider
from pixelmill.providers.procedural import ProceduralProvider
from pixelmill.providers.registry import ProviderRegistry
from pixelmill.providers.replicate import ReplicateProvider
from pixelmill.providers.smollm2 import SmolLM2Provider
from pixelmill.providers.vertex import VertexProvider
from pixelmill.providers.xai import XAIProvider


def build_provider_registry(settings: Settings) -> ProviderRegistry:
    """The registry for this process: the built-in local providers, and each upstream provider that
    has a key (an upstream without one is left out, so its models are not listed)."""
    return ProviderRegistry(
        [
            ProceduralProvider(),
            CvProvider(),
            LocalMediaProvider(),
            SmolLM2Provider(),
            # Listed only when settings name local weights (diffusers_models).
            DiffusersProvider.from_settings(settings),
            OpenAIProvider.from_settings(settings),
            XAIProvider.from_settings(settings),
            ReplicateProvider.from_settings(settings),
            FalProvider.from_settings(settings),
            GeminiProvider.from_settings(settings),
            VertexProvider.from_settings(settings),
            OpenAICompatibleProvider.from_settings(settings),
        ],
        prices=settings.model_credit_costs,
        aliases=settings.model_aliases,
    )
