"""json_bounds: the body check finds exactly what a full walk of the decoded value finds (its byte
scans only ever skip the walk for bodies that are clean), and free-form fields are bounded."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from pixelmill import json_bounds
from pixelmill.json_bounds import FreeJsonObject, JsonLimits, check_json_body, find_problem, limits_in_use

# Strings drawn from every code point, lone surrogates and NUL included.
texts = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=()), max_size=8)
# Text made of what JSON escapes and brackets, to tell structure from string content.
tricky = st.text(alphabet='[]{}"\\\n\t a\x00\udc80', max_size=6)
numbers = st.floats(allow_nan=True, allow_infinity=True) | st.integers(min_value=-(10**20), max_value=10**20)
scalars = st.none() | st.booleans() | numbers | texts | tricky
values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(texts | tricky, children, max_size=4),
    max_leaves=40,
)


def encodings(value: Any) -> list[bytes]:
    """The ways a client may write ``value``: escaped ASCII, raw UTF-8 (surrogates as their bytes), UTF-16."""
    escaped = json.dumps(value).encode()
    raw = json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return [escaped, raw, json.dumps(value, ensure_ascii=False).encode("utf-16", "surrogatepass")]


@settings(max_examples=300, deadline=None)
@given(values, st.integers(min_value=1, max_value=6))
def test_the_body_check_agrees_with_a_full_walk(value: Any, max_depth: int) -> None:
    expected = find_problem(value, max_depth)
    for body in encodings(value):
        found = check_json_body(body, max_depth)
        assert (found is None) == (expected is None), (body, expected, found)
        if expected is not None and found is not None:
            assert found.kind == expected.kind


def test_a_clean_body_is_cleared_by_the_byte_scans_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_parse(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("a clean body should not be parsed")

    monkeypatch.setattr(json, "loads", no_parse)
    monkeypatch.setattr(json_bounds, "from_json", no_parse)
    nodes = [{"id": f"n{i}", "inputs": {"p": 'é한{["', "n": 1.5e3}} for i in range(10)]
    body = json.dumps({"graph": {"nodes": nodes}}, ensure_ascii=False).encode()
    assert check_json_body(body, 64) is None


@pytest.mark.parametrize(
    ("body", "kind", "field"),
    [
        (b'{"a": {"b": ["x", "\\udc80"]}}', "text", "a.b.1"),
        (b'{"a": "\\ud800\\u0041"}', "text", "a"),
        (b'{"a": "nul \\u0000"}', "text", "a"),
        (b'{"\\udc80": 1}', "text", "\\udc80"),
        (b'{"a": NaN}', "number", "a"),
        (b'{"a": [1, -Infinity]}', "number", "a.1"),
        (b'{"a": 1e999}', "number", "a"),
        (b'{"a": ' + b"[" * 5 + b"]" * 5 + b"}", "depth", "a.0.0.0"),
    ],
)
def test_each_problem_is_found_with_its_path(body: bytes, kind: str, field: str) -> None:
    problem = check_json_body(body, 4)
    assert problem is not None
    assert (problem.kind, problem.field) == (kind, field)
    json.dumps(problem.message, ensure_ascii=False).encode()  # the message itself can be sent


@pytest.mark.parametrize(
    "body",
    [b'{"a": "\\ud83d\\ude00"}', b'{"a": "\\\\udc80"}', b'{"a": "NaN Infinity 1e999 [[[[[[["}', b"not json \\udc80"],
)
def test_what_only_looks_suspect_passes(body: bytes) -> None:
    assert check_json_body(body, 4) is None


def test_nesting_past_the_parser_is_refused_not_crashed() -> None:
    problem = check_json_body(b"[" * 200_000 + b"]" * 200_000, 64)
    assert problem is not None
    assert problem.kind == "depth"


def test_a_large_body_is_parsed_and_walked_not_scanned() -> None:
    data_url = "data:image/png;base64," + "QUJDZTEyMzQ1" * 40_000  # "e123" would look like an exponent
    assert check_json_body(json.dumps({"graph": {"inputs": {"data": data_url}}}).encode(), 64) is None
    problem = check_json_body(json.dumps({"data": data_url, "x": [1e308 * 10]}).encode(), 64)
    assert problem is not None
    assert problem.field == "x.0"


class Holder(BaseModel):
    data: FreeJsonObject


def test_free_form_fields_are_bounded_by_the_limits_in_use() -> None:
    assert Holder(data={"a": "x" * 1000}).data["a"] == "x" * 1000
    with limits_in_use(JsonLimits(free_max_bytes=512, free_max_depth=2)):
        with pytest.raises(ValidationError) as too_large:
            Holder(data={"a": "x" * 1000})
        with pytest.raises(ValidationError) as too_deep:
            Holder(data={"a": {"b": {"c": 1}}})
        assert Holder(data={"a": {"b": 1}}).data == {"a": {"b": 1}}
    assert too_large.value.errors()[0]["type"] == "JSON_TOO_LARGE"
    assert too_deep.value.errors()[0]["type"] == "JSON_TOO_DEEP"
    with pytest.raises(ValidationError) as bad_text:
        Holder(data={"a": "\udc80"})
    assert bad_text.value.errors()[0]["type"] == "invalid_text"


def test_scrub_leaves_clean_values_alone_and_makes_the_rest_sendable() -> None:
    clean = {"a": ["x", 1.5, {"b": None}]}
    assert json_bounds.scrub_json(clean) is clean
    dirty = {"a\udc80": ["x\ud800y", float("nan")], "deep": json.loads("[" * 70 + "]" * 70)}
    scrubbed = json_bounds.scrub_json(dirty)
    json.dumps(scrubbed, allow_nan=False, ensure_ascii=False).encode()
    assert scrubbed["a\ufffd"] == ["x\ufffdy", None]
    assert json.dumps(scrubbed["deep"]).count("[") == 63
