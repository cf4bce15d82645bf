"""What may be an upstream key: one token of printable ASCII, or a JSON document (a service account)."""

from __future__ import annotations

import pytest

from pixelmill.services.provider_keys import key_text_problem


@pytest.mark.parametrize(
    "key",
    ["sk-proj-0123456789abcdef", "r8_AbC123", "id:secret", '{\n  "type": "service_account",\n\t"x": 1\r\n}'],
)
def test_tokens_and_json_documents_are_keys(key: str) -> None:
    assert key_text_problem(key) is None


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("", "The key is empty"),
        ("sk-caf\u00e9", "A key is ASCII text"),
        ("sk-two words", "A key has no spaces or control characters (a JSON document may span lines)"),
        ("sk-line\nbreak", "A key has no spaces or control characters (a JSON document may span lines)"),
        ('{"bell": "\x07"}', "A key has no spaces or control characters (a JSON document may span lines)"),
    ],
)
def test_anything_else_is_refused_before_it_reaches_a_header(key: str, problem: str) -> None:
    assert key_text_problem(key) == problem
