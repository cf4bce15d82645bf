"""Which key an upstream uses for a workspace (its own, then the environment's, then the operator's
saved one), and that keyed copies and registries are made once per key."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pixelmill.config import Settings
from pixelmill.db.models.providers import OPERATOR_OWNER, ProviderKey
from pixelmill.providers.builtin import build_provider_registry
from pixelmill.providers.key_vault import KeyVault, mask_key
from pixelmill.services.workspace_providers import WorkspaceProviders

SECRET = "unit-secret-key-that-is-long-enough-for-hs256"
OWN = "sk-own-0123456789abcdefOWN1"
OPERATOR = "sk-operator-0123456789abcdefOPS2"


def resolver(tmp_path: Path, **settings: str) -> WorkspaceProviders:
    values = Settings(data_dir=tmp_path, secret_key=SECRET, **settings)  # type: ignore[arg-type]
    return WorkspaceProviders(build_provider_registry(values), values)


def row(owner: str, provider: str, key: str) -> ProviderKey:
    sealed = KeyVault(SECRET.encode()).seal(key)
    return ProviderKey(owner=owner, provider=provider, ciphertext=sealed, masked=mask_key(key), valid=True)


def test_the_workspace_key_wins_then_the_environment_then_the_operators(tmp_path: Path) -> None:
    plain = resolver(tmp_path)
    rows = [row("ws_a", "openai", OWN), row(OPERATOR_OWNER, "openai", OPERATOR), row(OPERATOR_OWNER, "xai", OPERATOR)]
    chosen = plain.in_effect(rows, "ws_a")
    assert (chosen["openai"].source, chosen["openai"].key) == ("workspace", OWN)
    assert (chosen["xai"].source, chosen["xai"].key) == ("config", OPERATOR)
    other = plain.in_effect(rows, "ws_b")
    assert (other["openai"].source, other["openai"].key) == ("config", OPERATOR)

    with_env = resolver(tmp_path, openai_api_key="sk-env-0123456789abcdef")
    assert with_env.in_effect(rows, "ws_a")["openai"].source == "workspace"
    from_env = with_env.in_effect(rows, "ws_b")["openai"]
    assert (from_env.source, from_env.row, from_env.key) == ("env", None, None)
    assert "openai" not in plain.in_effect([], "ws_b")


def test_a_key_sealed_under_another_secret_is_skipped(tmp_path: Path) -> None:
    foreign = ProviderKey(owner="ws_a", provider="openai", ciphertext=KeyVault(b"another secret").seal(OWN), masked="x")
    assert plain_effect(resolver(tmp_path), [foreign]) == {}


def plain_effect(workspaces: WorkspaceProviders, rows: list[ProviderKey]) -> dict[str, str]:
    return {pid: found.source for pid, found in workspaces.in_effect(rows, "ws_a").items()}


def test_keyed_copies_and_registries_are_made_once_per_key(tmp_path: Path) -> None:
    workspaces = resolver(tmp_path)
    assert workspaces.keyed_registry({}) is workspaces.base
    first = workspaces.keyed_registry({"openai": OWN})
    assert first is workspaces.keyed_registry({"openai": OWN})
    assert first is not workspaces.keyed_registry({"openai": OPERATOR})
    assert "openai/gpt-image-1" in {m.id for m in first.models()}
    assert "openai/gpt-image-1" not in {m.id for m in workspaces.base.models()}
    upstream = workspaces.base.upstreams()["openai"]
    assert workspaces.keyed(upstream, OWN) is workspaces.keyed(upstream, OWN)
    assert workspaces.keyed_registry({"nope": OWN}) is workspaces.base  # not an upstream here
    asyncio.run(workspaces.aclose())
