"""Retry hints: retry-after-ms first, then Retry-After in seconds or as an HTTP date."""

from __future__ import annotations

import email.utils

from pixelmill.providers.upstream.retry_after import retry_after_seconds


def test_retry_after_ms_wins_over_retry_after() -> None:
    assert retry_after_seconds({"retry-after-ms": "250", "retry-after": "30"}) == 0.25


def test_retry_after_in_seconds_and_as_a_date() -> None:
    assert retry_after_seconds({"retry-after": "1.5"}) == 1.5
    now = 1_800_000_000.0
    assert retry_after_seconds({"retry-after": email.utils.formatdate(now + 20, usegmt=True)}, now=now) == 20


def test_nonsense_and_the_past_are_no_hint_or_zero() -> None:
    assert retry_after_seconds({}) is None
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({"retry-after-ms": "nan", "retry-after": "2"}) == 2
    assert retry_after_seconds({"retry-after": "-5"}) == 0
