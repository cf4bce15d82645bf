from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from pixelmill.services.principal import Principal
from pixelmill.services.principal_cache import PrincipalCache


def _principal(workspace_id: str = "ws_a", key_id: str = "key_1") -> Principal:
    return Principal(workspace_id=workspace_id, plan="pro", key_id=key_id)


def test_remembers_a_principal_until_its_ttl_passes() -> None:
    cache = PrincipalCache(ttl_seconds=0.05)
    cache.put("key:abc", _principal())
    assert cache.get("key:abc") == _principal()
    time.sleep(0.06)
    assert cache.get("key:abc") is None
    assert len(cache) == 0


def test_forgetting_a_workspace_drops_only_its_entries() -> None:
    cache = PrincipalCache(ttl_seconds=60)
    cache.put("key:1", _principal("ws_a", "key_1"))
    cache.put("key:2", _principal("ws_a", "key_2"))
    cache.put("key:3", _principal("ws_b", "key_3"))
    cache.forget_workspace("ws_a")
    assert cache.get("key:1") is None
    assert cache.get("key:2") is None
    assert cache.get("key:3") == _principal("ws_b", "key_3")


def test_oldest_entries_are_evicted_beyond_the_size_bound() -> None:
    cache = PrincipalCache(ttl_seconds=60, max_entries=2)
    for n in range(3):
        cache.put(f"key:{n}", _principal(key_id=f"key_{n}"))
    assert cache.get("key:0") is None
    assert cache.get("key:2") is not None
    assert len(cache) == 2


def test_a_zero_ttl_turns_the_cache_off() -> None:
    cache = PrincipalCache(ttl_seconds=0)
    cache.put("key:abc", _principal())
    assert cache.get("key:abc") is None


def test_a_credential_that_expires_sooner_than_the_ttl_is_remembered_only_until_it_expires() -> None:
    cache = PrincipalCache(ttl_seconds=60)
    rotating = Principal(
        workspace_id="ws_a", plan="pro", key_id="key_1", expires_at=datetime.now(UTC) + timedelta(seconds=0.05)
    )
    cache.put("key:rotating", rotating)
    assert cache.get("key:rotating") == rotating
    time.sleep(0.06)
    assert cache.get("key:rotating") is None
    cache.put("key:expired", Principal(workspace_id="ws_a", plan="pro", expires_at=datetime.now(UTC)))
    assert cache.get("key:expired") is None
