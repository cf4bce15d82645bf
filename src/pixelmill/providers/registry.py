"""The provider registry and the model catalogue it publishes."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from pixelmill import errors
from pixelmill.errors import PixelmillError
from pixelmill.providers.base import (
    ImageToImageProvider,
    InpaintingProvider,
    ModelInfo,
    OpenCatalogue,
    Provider,
    SpeechProvider,
    TextProvider,
    TextToImageProvider,
    UpstreamProvider,
    VideoProvider,
)


class ProviderRegistry:
    """Configured providers, and each model id mapped to the provider that serves it."""

    def __init__(
        self,
        providers: list[Provider] | None = None,
        *,
        prices: Mapping[str, int] | None = None,
        aliases: Mapping[str, str] | None = None,
    ) -> None:
        self._providers: dict[str, Provider] = {}
        self._models: dict[str, tuple[ModelInfo, Provider]] = {}
        # The operator's prices (setting model_credit_costs) replace the catalogue's, as the nodes charge them.
        self._prices = dict(prices or {})
        # The operator's names for models (setting model_aliases): alias -> provider/model id.
        self.aliases: dict[str, str] = dict(aliases or {})
        # Every provider given, in order, and every upstream adapter configured or not: a key saved
        # through the API (a workspace's, or the operator's) can enable an upstream with no env key.
        self._given: list[Provider] = []
        self._upstreams: dict[str, UpstreamProvider] = {}
        # False for a registry derived with with_upstreams: what it serves belongs to others.
        self._owns_providers = True
        for provider in providers or []:
            self.add(provider)

    def add(self, provider: Provider) -> None:
        self._given.append(provider)
        if isinstance(provider, UpstreamProvider):
            self._upstreams[provider.id] = provider
        if not provider.is_configured():
            return
        self._providers[provider.id] = provider
        for info in provider.models():
            self._models[info.id] = (self._entry(info, provider), provider)

    def _entry(self, info: ModelInfo, provider: Provider) -> ModelInfo:
        """``info`` at the operator's price, marked ``remote`` when an upstream API serves it."""
        price = self._prices.get(info.id)
        remote = info.remote or isinstance(provider, UpstreamProvider)
        if price is None and remote == info.remote:
            return info
        return dataclasses.replace(info, cost=info.cost if price is None else price, remote=remote)

    def models(self) -> list[ModelInfo]:
        return sorted((info for info, _ in self._models.values()), key=lambda m: (m.generation_type, m.id))

    def model(self, model_id: str) -> ModelInfo:
        found = self._models.get(model_id) or self._resolved(model_id)
        if found is None:
            configured = sorted(self._models)
            raise PixelmillError(
                errors.INVALID_INPUT,
                f"Unknown or unconfigured model {model_id!r}; configured models: {', '.join(configured)}",
                field="model",
                model=model_id,
                configured=configured,
            )
        return found[0]

    def canonical(self, model_id: str) -> str:
        """The id ``model_id`` stands for: an alias's target, any other id as it is. An alias whose
        target this server does not serve is INVALID_INPUT naming both, so that a run never stores
        (nor a node sends upstream) a name no provider knows."""
        target = self.aliases.get(model_id)
        if target is None or model_id in self._models:
            return model_id
        if target not in self._models and self._resolved(target) is None:
            configured = sorted(self._models)
            raise PixelmillError(
                errors.INVALID_INPUT,
                f"Model alias {model_id!r} names {target!r}, which is not configured; "
                f"configured models: {', '.join(configured)}",
                field="model",
                model=model_id,
                alias=model_id,
                target=target,
                configured=configured,
            )
        return target

    def aliases_of(self, model_id: str) -> list[str]:
        """The operator's aliases that name ``model_id``."""
        return sorted(alias for alias, target in self.aliases.items() if target == model_id)

    def _resolved(self, model_id: str) -> tuple[ModelInfo, Provider] | None:
        """An id outside the listed catalogue that an open-catalogue provider runs by name."""
        for provider in self._providers.values():
            if isinstance(provider, OpenCatalogue):
                info = provider.resolve_model(model_id)
                if info is not None:
                    return (self._entry(info, provider), provider)
        return None

    def upstreams(self) -> dict[str, UpstreamProvider]:
        """Every upstream adapter by provider id, configured or not."""
        return dict(self._upstreams)

    def is_configured(self, provider_id: str) -> bool:
        """Whether ``provider_id`` serves models here (for an upstream: it has a key)."""
        return provider_id in self._providers

    def with_upstreams(self, replacements: Mapping[str, Provider]) -> ProviderRegistry:
        """The same providers and prices, each upstream named in ``replacements`` swapped for the
        given copy (one calling with a workspace's key). The copies stay the caller's to close:
        closing the derived registry closes nothing."""
        derived = ProviderRegistry(prices=self._prices, aliases=self.aliases)
        derived._owns_providers = False
        for provider in self._given:
            derived.add(replacements.get(provider.id, provider))
        return derived

    async def aclose(self) -> None:
        """Close what providers hold open (an upstream's pooled HTTP client) at shutdown."""
        if not self._owns_providers:
            return
        for provider in self._providers.values():
            close = getattr(provider, "aclose", None)
            if close is not None:
                await close()

    def text_to_image(self, model_id: str) -> TextToImageProvider:
        provider = self._provider_for(model_id)
        if not isinstance(provider, TextToImageProvider):
            raise PixelmillError(
                errors.INVALID_INPUT, f"Model {model_id!r} cannot make images from text", field="model"
            )
        return provider

    def image_to_image(self, model_id: str) -> ImageToImageProvider:
        provider = self._provider_for(model_id)
        if not isinstance(provider, ImageToImageProvider):
            raise PixelmillError(errors.INVALID_INPUT, f"Model {model_id!r} cannot edit images", field="model")
        return provider

    def inpainting(self, model_id: str) -> InpaintingProvider:
        provider = self._provider_for(model_id)
        if not isinstance(provider, InpaintingProvider):
            raise PixelmillError(errors.INVALID_INPUT, f"Model {model_id!r} cannot inpaint images", field="model")
        return provider

    def text(self, model_id: str) -> TextProvider:
        provider = self._provider_for(model_id)
        if not isinstance(provider, TextProvider):
            raise PixelmillError(errors.INVALID_INPUT, f"Model {model_id!r} cannot generate text", field="model")
        return provider

    def video(self, model_id: str) -> VideoProvider:
        provider = self._provider_for(model_id)
        if not isinstance(provider, VideoProvider):
            raise PixelmillError(errors.INVALID_INPUT, f"Model {model_id!r} cannot make videos", field="model")
        return provider

    def speech(self, model_id: str) -> SpeechProvider:
        provider = self._provider_for(model_id)
        if not isinstance(provider, SpeechProvider):
            raise PixelmillError(errors.INVALID_INPUT, f"Model {model_id!r} cannot speak", field="model")
        return provider

    def _provider_for(self, model_id: str) -> Provider:
        self.model(model_id)
        found = self._models.get(model_id) or self._resolved(model_id)
        assert found is not None  # model() raised otherwise
        return found[1]
