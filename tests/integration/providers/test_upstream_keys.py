"""``check_key`` and ``with_key`` of the upstream adapters against their loopback fakes: the key a
check sends is the one asked about, a refused key is UPSTREAM_AUTH_FAILED without the key in it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from pixelmill import errors
from pixelmill.config import Settings
from pixelmill.errors import PixelmillError
from pixelmill.providers.base import UpstreamProvider
from pixelmill.providers.openai import OpenAIProvider
from pixelmill.providers.xai import XAIProvider
from tests.support.fake_openai import serve_fake_openai
from tests.support.fake_xai import serve_fake_xai

GOOD = "sk-good-key-0123456789abcdefGOODTAIL"
WRONG = "sk-wrong-key-0123456789abcdefWRONG9999"

Adapter = Callable[[Settings], UpstreamProvider]
CASES: list[tuple[str, Any, Adapter]] = [
    ("openai", serve_fake_openai, OpenAIProvider.from_settings),
    ("xai", serve_fake_xai, XAIProvider.from_settings),
]


@pytest.mark.parametrize(("name", "serve", "build"), CASES, ids=[case[0] for case in CASES])
def test_a_good_key_passes_and_a_copy_with_another_key_is_refused(name: str, serve: Any, build: Adapter) -> None:
    with serve(GOOD) as (fake, base_url):
        operator = build(Settings(**{f"{name}_api_key": GOOD, f"{name}_base_url": base_url}))
        assert isinstance(operator, UpstreamProvider)
        workspace = operator.with_key(WRONG)

        async def check() -> PixelmillError:
            try:
                await operator.check_key()
                with pytest.raises(PixelmillError) as refused:
                    await workspace.check_key()
                return refused.value
            finally:
                await operator.aclose()
                await workspace.aclose()

        error = asyncio.run(check())
    assert error.code == errors.UPSTREAM_AUTH_FAILED.code
    assert WRONG not in str(error)
    assert WRONG not in repr(error.extra)
    sent = [received.headers["authorization"] for received in fake.requests("/v1/models")]
    assert sent == [f"Bearer {GOOD}", f"Bearer {WRONG}"]
    assert (operator.key_hint(), workspace.key_hint()) == ("sk-\u2026TAIL", "sk-\u20269999")
    assert workspace.is_configured()
    assert workspace.id == operator.id == name
