"""The fake OpenAI API on loopback that several dialects' tests put behind an upstream model: one
fixture, so every such test serves the fake the same way and keys it with ``FAKE_OPENAI_KEY``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.fake_openai import FAKE_OPENAI_KEY, FakeOpenAI, serve_fake_openai


@pytest.fixture
def fake() -> Iterator[tuple[FakeOpenAI, str]]:
    with serve_fake_openai(FAKE_OPENAI_KEY) as served:
        yield served
