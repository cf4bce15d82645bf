"""The catalogue entries of the local media models and their place in the provider registry."""

from __future__ import annotations

from pixelmill.config import Settings
from pixelmill.providers.builtin import build_provider_registry
from pixelmill.providers.local_media import MODEL_NODE_TYPES, LocalMediaProvider
from pixelmill.providers.registry import ProviderRegistry


def test_models_carry_the_imaginelab_costs_and_types() -> None:
    found = {(m.id, m.generation_type, m.capabilities, m.cost) for m in LocalMediaProvider().models()}
    assert found == {
        ("local/ken-burns", "video", ("video",), 15),
        ("local/espeak", "voice", ("speech",), 3),
        ("local/algorithmic-music", "music", ("music",), 8),
        ("local/charts", "infographic", ("infographic",), 10),
    }


def test_models_are_local_sandbox_models_with_limits() -> None:
    for info in LocalMediaProvider().models():
        assert info.provider == "local"
        assert info.sandbox
        assert info.limits
        assert info.id in MODEL_NODE_TYPES


def test_music_is_described_honestly_as_algorithmic() -> None:
    (music,) = [m for m in LocalMediaProvider().models() if m.generation_type == "music"]
    assert "not a neural model" in music.description


def test_registry_lists_them() -> None:
    registry = ProviderRegistry([LocalMediaProvider()])
    assert registry.model("local/espeak").cost == 3


def test_the_built_in_registry_includes_them() -> None:
    registry = build_provider_registry(Settings(secret_key="x" * 40))  # type: ignore[arg-type]
    assert {"local/ken-burns", "local/espeak", "local/algorithmic-music", "local/charts"} <= {
        m.id for m in registry.models()
    }
